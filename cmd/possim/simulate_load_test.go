package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/load"
	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/internal/testkit/hostkit"
)

// simBounded runs simulate in-process and fails with every goroutine's
// stack if it does not return by limit.
func simBounded(t *testing.T, limit time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type res struct {
		code     int
		out, err string
	}
	done := make(chan res, 1)
	go func() {
		c, o, e := simRun(t, args...)
		done <- res{c, o, e}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.err
	case <-time.After(limit):
		buf := make([]byte, 4<<20)
		t.Fatalf("possim simulate %s did not end within %v: hung\n%s", strings.Join(args, " "), limit, buf[:runtime.Stack(buf, true)])
		return 0, "", ""
	}
}

// Issue 14's hang, scaled down: far over saturation with 8 in flight while
// the host crashes and comes back. It hung 3 times out of 3; it must end
// within schedule + drain + grace, with counts that add up.
func TestSimulateNeverHangsOverSaturationWithCrashes(t *testing.T) {
	for i := range 2 {
		start := time.Now()
		code, out, errs := simBounded(t, 30*time.Second, "--tps", "50000", "--duration", "1s", "--max-inflight", "8",
			"--fault", "crash:after=300ms,down=300ms", "--timeout", "300ms", "--drain", "300ms", "--quiet", "--output", "json")
		if code != 0 {
			t.Fatalf("round %d: exit %d\n%s\n%s", i, code, out, errs)
		}
		var rep load.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if err := rep.Check(); err != nil || rep.Requests != 50000 {
			t.Fatalf("round %d: %d requests, %v", i, rep.Requests, err)
		}
		t.Logf("round %d: ended after %v, outcomes %v", i, time.Since(start).Round(time.Millisecond), rep.Outcomes)
	}
}

func TestSimulateResultsAndReport(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for _, f := range []string{a, b} {
		if code, out, errs := simRun(t, "--tps", "200", "--duration", "1s", "--quiet", "--results", f); code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"report", a}, &out, &errb); code != 0 || !strings.Contains(out.String(), "Send lag") || !strings.Contains(out.String(), "approved                  200") {
		t.Fatalf("report text: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"report", "--output", "json", a, b}, &out, &errb); code != 0 {
		t.Fatalf("report json: exit %d\n%s", code, errb.String())
	}
	var m load.Report
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Requests != 400 || m.Outcomes[load.Approved] != 400 || m.Latency.Count != 400 || m.Check() != nil {
		t.Errorf("merged: %d requests, outcomes %v, %d latencies, %v", m.Requests, m.Outcomes, m.Latency.Count, m.Check())
	}
	var pointsSum int64
	for _, p := range m.Series {
		pointsSum += p.Outcomes.Total()
	}
	if pointsSum != 400 {
		t.Errorf("merged series holds %d outcomes, want 400", pointsSum)
	}
	html := filepath.Join(dir, "r.html")
	if code := run([]string{"report", "--output", "html", "--out", html, a, b}, &out, &errb); code != 0 {
		t.Fatalf("report html: exit %d\n%s", code, errb.String())
	}
	page, _ := os.ReadFile(html)
	for _, want := range []string{"<svg id=\"latency-over-time\"", "<svg id=\"percentiles\"", "id=\"outcomes\""} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("html lacks %s", want)
		}
	}
	rest := bytes.ReplaceAll(page, []byte(`xmlns="http://www.w3.org/2000/svg"`), nil) // a name, not a resource
	for _, bad := range []string{"http://", "https://", "<script", "<link"} {
		if bytes.Contains(rest, []byte(bad)) {
			t.Errorf("html is not self-contained: it has %s", bad)
		}
	}
	// Bad input: a clear error, exit 1; bad flags exit 2.
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"format":"possim-results/1","report":{},"hdr":{"latency":"AAAA"}}`), 0o644)
	errb.Reset()
	if code := run([]string{"report", filepath.Join(dir, "bad.json")}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "hdr.latency") {
		t.Errorf("bad histogram: exit %d, %s", code, errb.String())
	}
	if code := run([]string{"report", "--output", "pdf", a}, &out, &errb); code != 2 {
		t.Errorf("--output pdf: exit %d", code)
	}
}

// Four segments as four processes against one host: the merged report
// equals what the host saw — the same number of transactions, every TID
// of the run and no other, no TID+STAN seen twice.
func TestSegmentsMergeToWhatTheHostSaw(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs 4 processes")
	}
	dir := t.TempDir()
	bin := possimBinary(t)
	d, err := iso.Lookup("iso87ascii")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	keys := map[string]int{}
	tids := map[string]bool{}
	h := hostkit.Start(t, host.Config{Dialect: d, Observer: func(_ *link.Link, e link.Event) {
		if e.Kind != link.EvReceived || e.Msg == nil {
			return
		}
		if mti, _ := e.Msg.GetMTI(); mti != "0200" {
			return
		}
		tid, _ := e.Msg.GetString(41)
		stan, _ := e.Msg.GetString(11)
		mu.Lock()
		keys[tid+"/"+stan]++
		tids[tid] = true
		mu.Unlock()
	}})
	const n, terminals, tps = 4, 10, 400
	startAt := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	var files []string
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([][]byte, n)
	for i := range n {
		f := filepath.Join(dir, fmt.Sprintf("segment-%d.json", i+1))
		files = append(files, f)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "simulate", "--target", h.Addr().String(), "--tps", fmt.Sprint(tps), "--duration", "1s",
				"--terminals", fmt.Sprint(terminals), "--segment", fmt.Sprintf("%d/%d", i+1, n), "--start-at", startAt,
				"--results", f, "--quiet", "--seed", "9")
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("segment %d: %v\n%s", i+1, errs[i], outs[i])
		}
	}
	var out, errb bytes.Buffer
	if code := run(append([]string{"report", "--output", "json"}, files...), &out, &errb); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, errb.String())
	}
	var m load.Report
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var seen int
	for k, c := range keys {
		seen += c
		if c > 1 {
			t.Errorf("TID/STAN %s seen %d times: segments collided", k, c)
		}
	}
	if m.Requests != tps || m.Outcomes[load.Approved] != tps || int64(seen) != m.Requests {
		t.Errorf("merged report: %d requests, %d approved; the host saw %d", m.Requests, m.Outcomes[load.Approved], seen)
	}
	if len(tids) != terminals {
		t.Errorf("host saw %d TIDs, want %d: %v", len(tids), terminals, tids)
	}
	for j := 1; j <= terminals; j++ {
		if tid := fmt.Sprintf("SIM%05d", j); !tids[tid] {
			t.Errorf("TID %s missing", tid)
		}
	}
	if c := h.Ledger().Counts(); int64(c.Approved) != m.Outcomes[load.Approved] {
		t.Errorf("host ledger approved %d, merged report %d", c.Approved, m.Outcomes[load.Approved])
	}
	// The segments started together: the merged series has as many
	// points as one segment's (aligned on wall time), not four times.
	if len(m.Series) > 3 {
		t.Errorf("merged series has %d points for a 1s run: not aligned", len(m.Series))
	}
}

// simulate --metrics serves Prometheus metrics while it runs.
func TestSimulateMetricsScrapedDuringTheRun(t *testing.T) {
	addr := testkit.Refused(t)
	done := make(chan int, 1)
	go func() {
		code, _, _ := simRun(t, "--tps", "300", "--duration", "3s", "--quiet", "--metrics", addr)
		done <- code
	}()
	wants := []string{`possim_transactions_total{outcome="approved"}`, `possim_responses_total{rc="00"}`, "possim_in_flight", `possim_links{state="up"} 2`, `possim_latency_seconds_count{clock="intended"}`}
	has := func(body string) []string {
		var missing []string
		if !regexp.MustCompile(`possim_transactions_total\{outcome="approved"\} [1-9]`).MatchString(body) {
			missing = append(missing, "approved > 0")
		}
		for _, w := range wants {
			if !strings.Contains(body, w) {
				missing = append(missing, w)
			}
		}
		return missing
	}
	// A window's counters are added one after the other: scrape until a
	// scrape shows them all (or the run is over).
	deadline := time.Now().Add(20 * time.Second)
	var body string
	var missing []string
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if missing = has(body); len(missing) == 0 {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("scrapes lack %q; last:\n%s", missing, body)
	}
	if code := <-done; code != 0 {
		t.Errorf("simulate exit %d", code)
	}
}
