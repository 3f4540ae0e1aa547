package load

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestHDRLogRoundTrip(t *testing.T) {
	start := time.UnixMilli(1_700_000_000_250)
	rec := NewRecorder(start)
	coll := NewCollector(start, rec)

	path := filepath.Join(t.TempDir(), "latency.hlog")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	log, err := NewHDRLog(f, start)
	if err != nil {
		t.Fatal(err)
	}
	// Three seconds of results, one window per second; the middle second
	// is empty (a stall) and must still be logged.
	perSecond := []int{100, 0, 250}
	for s, n := range perSecond {
		for i := range n {
			at := time.Duration(s)*time.Second + time.Duration(i)*time.Millisecond
			rec.Record(Result{Intended: at, Sent: at, Done: at + time.Duration(1+s)*time.Millisecond + time.Duration(i)*time.Microsecond, Outcome: Approved, RC: MakeRC("00")})
		}
		if err := log.WriteWindow(coll.Collect(start.Add(time.Duration(s+1) * time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	total := Merge(rec)
	if err := log.WriteHistogram(0, 3*time.Second, "total", total.Latency); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"#[Histogram log format version 1.3]", "#[StartTime: 1700000000.250 ", "#[BaseTime: 1700000000.250 ", `"StartTimestamp","Interval_Length"`, "\n0.000000,1.000000,", "\n1.000000,1.000000,", "\nTag=total,0.000000,3.000000,"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}

	r := hdrhistogram.NewHistogramLogReader(bytes.NewReader(data))
	var got []*hdrhistogram.Histogram
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		got = append(got, h)
	}
	if len(got) != 4 {
		t.Fatalf("read %d histograms, want 4", len(got))
	}
	merged := NewHistogram()
	for i, n := range perSecond {
		h := got[i]
		if h.TotalCount() != int64(n) || h.Tag() != "" {
			t.Errorf("interval %d: %d values, tag %q; want %d", i, h.TotalCount(), h.Tag(), n)
		}
		if wantStart := start.UnixMilli() + int64(i)*1000; h.StartTimeMs() != wantStart || h.EndTimeMs() != wantStart+1000 {
			t.Errorf("interval %d: [%d, %d), want start %d", i, h.StartTimeMs(), h.EndTimeMs(), wantStart)
		}
		merged.Merge(h)
	}
	if !merged.Equals(total.Latency) {
		t.Errorf("intervals merged: %d values, p99 %d; total: %d, p99 %d", merged.TotalCount(), merged.ValueAtQuantile(99), total.Latency.TotalCount(), total.Latency.ValueAtQuantile(99))
	}
	last := got[3]
	if last.Tag() != "total" || last.TotalCount() != 350 || last.ValueAtQuantile(99) != total.Latency.ValueAtQuantile(99) {
		t.Errorf("total interval: tag %q, %d values", last.Tag(), last.TotalCount())
	}
}

func TestHDRLogBadTag(t *testing.T) {
	var b bytes.Buffer
	log, err := NewHDRLog(&b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := log.WriteHistogram(0, time.Second, "has space", NewHistogram()); err == nil {
		t.Error("tag with a space accepted")
	}
}
