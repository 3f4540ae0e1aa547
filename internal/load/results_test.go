package load

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runResults(t *testing.T, start time.Time, rate float64) *Results {
	t.Helper()
	r, err := NewRunner(RunConfig{Pacer: ConstantPacer{Rate: rate, Duration: 600 * time.Millisecond}, Target: instantTarget{},
		StatusInterval: 200 * time.Millisecond, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewResults(r.Run(context.Background()), "", map[string]int{"x": 1})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Two runs that started together merge into one: counts added,
// histograms merged (exact percentiles), series points aligned on wall
// time; a results file round-trips.
func TestResultsWriteReadMerge(t *testing.T) {
	start := time.Now().Add(50 * time.Millisecond)
	a, b := runResults(t, start, 1000), runResults(t, start, 500)
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	if err := a.WriteFile(pa); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile(pb); err != nil {
		t.Fatal(err)
	}
	ra, err := ReadResults(pa)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Report.Requests != 600 || ra.Latency.TotalCount() != 600 || len(ra.Report.Series) != len(a.Report.Series) || ra.Report.Seed != a.Report.Seed {
		t.Fatalf("round trip: %d requests, %d latencies, %d points", ra.Report.Requests, ra.Latency.TotalCount(), len(ra.Report.Series))
	}
	rb, err := ReadResults(pb)
	if err != nil {
		t.Fatal(err)
	}
	m, err := MergeResults(ra, rb)
	if err != nil {
		t.Fatal(err)
	}
	rep := m.Report
	if rep.Requests != 900 || rep.Outcomes[Approved] != 900 || rep.Latency.Count != 900 || rep.Check() != nil {
		t.Fatalf("merged: %d requests, %v, %d latencies, %v", rep.Requests, rep.Outcomes, rep.Latency.Count, rep.Check())
	}
	if len(rep.Series) > max(len(a.Report.Series), len(b.Report.Series))+1 {
		t.Errorf("merged series has %d points, the runs %d and %d: not aligned", len(rep.Series), len(a.Report.Series), len(b.Report.Series))
	}
	var n, offered int64
	for _, p := range rep.Series {
		n += p.Outcomes.Total()
		offered += p.Offered
		if p.Outcomes.Total() > 0 && p.Latency.Count == 0 {
			t.Errorf("point at %v: %d outcomes and no latency", p.From, p.Outcomes.Total())
		}
	}
	if n != 900 || offered != 900 {
		t.Errorf("merged series: %d outcomes, %d offered; want 900", n, offered)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "merged from 2 results") {
		t.Errorf("notes %q", rep.Notes)
	}
}

func TestReadResultsErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"notjson.json":  "nope",
		"other.json":    `{"format":"something-else"}`,
		"noreport.json": `{"format":"possim-results/1"}`,
		"badhist.json":  `{"format":"possim-results/1","report":{},"hdr":{"latency":"!!!"}}`,
		"short.json":    `{"format":"possim-results/1","report":{},"hdr":{"service":"AAAA"}}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadResults(p); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}
