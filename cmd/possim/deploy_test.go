package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// decodeStrict decodes one YAML document into v through JSON with unknown
// fields refused: what "kubectl apply --validate=strict" would reject.
func decodeStrict(t *testing.T, doc any, v any) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("deploy/kubernetes/simulate-job.yaml: %v", err)
	}
}

// The Indexed Job is a valid batch/v1 Job (decoded strictly into the
// Kubernetes API types, k8s.io/api v0.31.0), and every pod's arguments,
// with $(VAR) expanded as Kubernetes does for each index, are flags that
// possim simulate accepts, giving disjoint segments that cover the run.
func TestKubernetesSimulateJob(t *testing.T) {
	f, err := os.Open("../../deploy/kubernetes/simulate-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var job *batchv1.Job
	var pvc *corev1.PersistentVolumeClaim
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		switch doc["kind"] {
		case "Job":
			job = new(batchv1.Job)
			decodeStrict(t, doc, job)
		case "PersistentVolumeClaim":
			pvc = new(corev1.PersistentVolumeClaim)
			decodeStrict(t, doc, pvc)
		default:
			t.Fatalf("unexpected kind %v", doc["kind"])
		}
	}
	if job == nil || pvc == nil {
		t.Fatal("want a Job and a PersistentVolumeClaim")
	}
	s := job.Spec
	if job.APIVersion != "batch/v1" || s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("apiVersion %q completionMode %v: want an Indexed batch/v1 Job", job.APIVersion, s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("completions %v parallelism %v: every segment must run at once", s.Completions, s.Parallelism)
	}
	if s.BackoffLimit == nil || *s.BackoffLimit != 0 || s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("backoffLimit %v restartPolicy %q: a retried segment would count twice", s.BackoffLimit, s.Template.Spec.RestartPolicy)
	}
	n := int(*s.Completions)
	if len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(s.Template.Spec.Containers))
	}
	c := s.Template.Spec.Containers[0]
	mounted := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounted[m.Name] = m.MountPath
	}
	for _, v := range s.Template.Spec.Volumes {
		if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name || mounted[v.Name] == "" {
			t.Errorf("volume %s: want the results claim %s, mounted", v.Name, pvc.Name)
		}
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			if e.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
				t.Errorf("env %s from %s", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			continue
		}
		env[e.Name] = e.Value
	}
	ref := regexp.MustCompile(`\$\(([A-Z_]+)\)`)
	seen := map[string]bool{}
	var terminals int
	for idx := range n {
		vars := map[string]string{"JOB_COMPLETION_INDEX": fmt.Sprint(idx)}
		for k, v := range env {
			vars[k] = v
		}
		var args []string
		for _, a := range c.Args {
			args = append(args, ref.ReplaceAllStringFunc(a, func(m string) string {
				v, ok := vars[ref.FindStringSubmatch(m)[1]]
				if !ok {
					t.Errorf("arg %q: $(…) of an undefined variable: Kubernetes leaves it as it is", a)
				}
				return v
			}))
		}
		if len(args) == 0 || args[0] != "simulate" {
			t.Fatalf("args %q: want simulate ...", args)
		}
		var errb bytes.Buffer
		o, code, done := parseSimulate(args[1:], &errb)
		if done {
			t.Fatalf("index %d: possim simulate %s: exit %d: %s", idx, strings.Join(args[1:], " "), code, errb.String())
		}
		if o.segment.i != idx+1 || o.segment.n != n {
			t.Errorf("index %d: segment %s, want %d/%d", idx, o.segment, idx+1, n)
		}
		if !strings.HasPrefix(o.results, mounted["results"]+"/") || seen[o.results] {
			t.Errorf("index %d: results %q: want a file of its own on the results volume", idx, o.results)
		}
		seen[o.results] = true
		if o.run.Start.IsZero() {
			t.Errorf("index %d: no --start-at: the segments would not start together", idx)
		}
		if o.fleet.TIDOffset != terminals {
			t.Errorf("index %d: TIDs from %d, want %d (disjoint, contiguous)", idx, o.fleet.TIDOffset+1, terminals+1)
		}
		terminals += o.fleet.Terminals
	}
	if terminals != 4000 {
		t.Errorf("the segments hold %d terminals, the run 4000", terminals)
	}
}
