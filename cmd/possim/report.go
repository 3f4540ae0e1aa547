package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/possim/possim/internal/load"
)

func init() {
	register("report", "print a finished run from its results file (text, JSON or HTML); several files are merged", runReport)
}

const reportSynopsis = `report [--output text|json|html] [--out FILE] FILE|DIR...

Reads results files written by "possim simulate --results FILE" and prints
the run's report again. With several files (the segments of one run on
several machines, or runs to add up), they are merged: histograms merged,
counts added, the per-second series aligned on wall time. A directory
stands for the *.json files in it (the volume of a Kubernetes Job's
segments).

--output html writes one self-contained page (no script, nothing fetched):
latency over time and the percentile distribution as SVG plots, the
outcome, cause and response-code tables.

Exit status: 0 done, 1 a file could not be read or merged, 2 bad flags.

Examples:
  possim simulate --tps 500 --duration 1m --results run.json
  possim report run.json
  possim report --output html --out run.html run.json
  possim report --output json results/segment-*.json > merged.json`

func runReport(args []string, stdout, stderr io.Writer) int {
	const cmd = "report"
	fs := newFlags(cmd, reportSynopsis, stderr)
	output := fs.String("output", "text", "format: text, json (the merged report with its series) or html")
	out := fs.String("out", "", "write to FILE instead of stdout")
	save := fs.String("results", "", "also write the merged results to FILE (a results file again)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		return usageErr(stderr, cmd, "give at least one results file")
	}
	switch *output {
	case "text", "json", "html":
	default:
		return usageErr(stderr, cmd, "--output %q: want text, json or html", *output)
	}
	var rs []*load.Results
	paths, err := resultPaths(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "possim report: %v\n", err)
		return 1
	}
	for _, path := range paths {
		r, err := load.ReadResults(path)
		if err != nil {
			fmt.Fprintf(stderr, "possim report: %v\n", err)
			return 1
		}
		rs = append(rs, r)
	}
	merged, err := load.MergeResults(rs...)
	if err != nil {
		fmt.Fprintf(stderr, "possim report: %v\n", err)
		return 1
	}
	if *save != "" {
		if err := merged.WriteFile(*save); err != nil {
			fmt.Fprintf(stderr, "possim report: --results: %v\n", err)
			return 1
		}
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "possim report: --out: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	switch *output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(merged.Report.WithoutHDR())
	case "html":
		err = merged.WriteHTML(w)
	default:
		err = merged.Report.WithoutHDR().WriteText(w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "possim report: %v\n", err)
		return 1
	}
	return 0
}

// resultPaths expands directories into the *.json files they hold.
func resultPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: no *.json results files in the directory", a)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}
