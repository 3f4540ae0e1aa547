package load

import (
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func res(intended, sent, done time.Duration, o Outcome, rc string, typ string) Result {
	return Result{Intended: intended, Sent: sent, Done: done, Outcome: o, RC: MakeRC(rc), TxType: typ}
}

func TestRecorderMerge(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	a, b := NewRecorder(start), NewRecorder(start)
	ms := time.Millisecond
	a.Record(res(0, 0, 10*ms, Approved, "00", "purchase"))
	a.Record(res(1*ms, 5*ms, 20*ms, Declined, "51", "purchase")) // waited 4ms
	a.Record(Result{Intended: 2 * ms, Sent: 2 * ms, Done: 5002 * ms, Outcome: TimedOutReversed, TxType: "purchase", Late: true})
	b.Record(res(3*ms, 3*ms, 8*ms, Approved, "00", "balance"))
	b.Record(res(4*ms, 0, 0, NotSent, "", "balance"))
	b.Record(res(5*ms, 5*ms, 6*ms, Declined, "N7", "balance"))
	b.Record(Result{Intended: 6 * ms, Sent: 6 * ms, Done: 7 * ms, Outcome: Outcome(200)}) // invalid → not_sent

	m := Merge(a, b)
	if m.Requests != 7 || m.Outcomes.Total() != 7 {
		t.Fatalf("requests %d, outcomes %v", m.Requests, m.Outcomes)
	}
	want := OutcomeCounts{Approved: 2, Declined: 2, TimedOutReversed: 1, NotSent: 2}
	if m.Outcomes != want {
		t.Errorf("outcomes %v, want %v", m.Outcomes, want)
	}
	if m.Late != 1 {
		t.Errorf("late %d", m.Late)
	}
	if got := m.RC; len(got) != 3 || got[MakeRC("00")] != 2 || got[MakeRC("51")] != 1 || got[MakeRC("N7")] != 1 {
		t.Errorf("RC %v", got)
	}
	if p := m.TxTypes["purchase"]; p == nil || p.Total() != 3 {
		t.Errorf("purchase %v", p)
	}
	if b := m.TxTypes["balance"]; b == nil || *b != (OutcomeCounts{Approved: 1, Declined: 1, NotSent: 1}) {
		t.Errorf("balance %v", b)
	}
	if c := m.TxTypes[""]; c == nil || c[NotSent] != 1 {
		t.Errorf("unset type %v", c)
	}
	// Latency: every sent transaction, from the intended time.
	if n := m.Latency.TotalCount(); n != 5 {
		t.Errorf("latency samples %d, want 5", n)
	}
	if got := time.Duration(m.Latency.Max()) * time.Microsecond; got < 5*time.Second || got > 5010*ms {
		t.Errorf("latency max %v, want ≈5s (the timeout)", got)
	}
	if got := m.Latency.Min(); got != 1000 { // 5ms → 6ms
		t.Errorf("latency min %dµs, want 1000", got)
	}
	// Latencies 1, 5, 10, 19, 5000 ms. The declined one waited 4 ms for a
	// slot: 19 ms latency but 15 ms service time.
	if got := m.Latency.ValueAtQuantile(80); !m.Latency.ValuesAreEquivalent(19000, got) {
		t.Errorf("latency p80 = %dµs, want 19000", got)
	}
	if got := m.Service.ValueAtQuantile(80); !m.Service.ValuesAreEquivalent(15000, got) {
		t.Errorf("service p80 = %dµs, want 15000", got)
	}
	if m.FirstIntended != 0 || m.LastIntended != 6*ms || m.LastDone != 5002*ms {
		t.Errorf("span %v %v %v", m.FirstIntended, m.LastIntended, m.LastDone)
	}
	if m.Start != start {
		t.Errorf("start %v", m.Start)
	}

	// Metrics.Add is the same as merging everything at once.
	ma, mb := Merge(a), Merge(b)
	ma.Add(mb)
	if ma.Requests != m.Requests || ma.Outcomes != m.Outcomes || !ma.Latency.Equals(m.Latency) || !ma.Service.Equals(m.Service) ||
		ma.LastDone != m.LastDone || len(ma.RC) != len(m.RC) {
		t.Error("Add differs from Merge")
	}
}

func TestMicrosClamp(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{{-time.Second, 0}, {0, 0}, {999, 0}, {1500, 1}, {time.Second, 1e6}, {2 * time.Hour, histHighest}} {
		if got := micros(c.d); got != c.want {
			t.Errorf("micros(%v) = %d, want %d", c.d, got, c.want)
		}
	}
	r := NewRecorder(time.Now())
	r.Record(Result{Intended: 0, Sent: 0, Done: 3 * time.Hour, Outcome: Approved, RC: MakeRC("00")})
	r.Record(Result{Intended: time.Second, Sent: time.Second, Done: 0, Outcome: Approved, RC: MakeRC("00")})
	if m := Merge(r); m.Latency.TotalCount() != 2 {
		t.Errorf("out-of-range values were dropped: %d", m.Latency.TotalCount())
	}
}

func TestRecorderBoundedTables(t *testing.T) {
	r := NewRecorder(time.Now())
	for i := range 1000 {
		typ := string(rune('A'+i%26)) + string(rune('a'+i/26%26))
		rc := RC{'A' + byte(i%26), 'A' + byte(i/26%26)}
		r.Record(Result{Outcome: Declined, RC: rc, TxType: typ})
	}
	if len(r.types) > maxTxTypes {
		t.Errorf("%d tx types kept", len(r.types))
	}
	if len(r.rcOther) > maxOtherRCs+1 {
		t.Errorf("%d RCs kept", len(r.rcOther))
	}
	m := Merge(r)
	var n int64
	for _, c := range m.TxTypes {
		n += c.Total()
	}
	var rcs int64
	for _, c := range m.RC {
		rcs += c
	}
	if n != 1000 || rcs != 1000 || m.TxTypes[OtherTxType] == nil || m.RC[overflowRC] == 0 {
		t.Errorf("types sum %d, RCs sum %d", n, rcs)
	}
}

// TestRecordNoAllocs: once a type and RC have been seen, Record allocates
// nothing, so memory does not grow with the length of the run.
func TestRecordNoAllocs(t *testing.T) {
	r := NewRecorder(time.Now())
	rs := sampleResults(1024)
	for _, x := range rs {
		r.Record(x)
	}
	i := 0
	if n := testing.AllocsPerRun(10000, func() {
		r.Record(rs[i%len(rs)])
		i++
	}); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
}

// sampleResults is a realistic mix: log-normal-ish latencies, mostly
// approved, some declines, timeouts and late sends.
func sampleResults(n int) []Result {
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"purchase", "balance", "refund"}
	rcs := []string{"00", "00", "00", "05", "51", "55", "N7"}
	out := make([]Result, n)
	for i := range out {
		intended := time.Duration(i) * time.Millisecond
		wait := time.Duration(0)
		late := rng.IntN(100) == 0
		if late {
			wait = time.Duration(rng.IntN(50)) * time.Millisecond
		}
		svc := time.Duration(200+rng.ExpFloat64()*3000) * time.Microsecond
		o := Approved
		rc := rcs[rng.IntN(len(rcs))]
		switch {
		case rc != "00":
			o = Declined
		}
		switch rng.IntN(200) {
		case 0:
			o, svc = TimedOutReversed, 5*time.Second
		case 1:
			o = LinkFailed
		case 2:
			o = NotSent
		}
		out[i] = Result{Intended: intended, Sent: intended + wait, Done: intended + wait + svc,
			Outcome: o, RC: MakeRC(rc), Late: late, TxType: types[rng.IntN(len(types))]}
	}
	return out
}

// TestCollectorConcurrent runs workers recording while a collector takes
// windows continuously; in the end the windows account for every result.
// Run with -race: it is the test of the lock-free window handoff.
func TestCollectorConcurrent(t *testing.T) {
	const workers, perWorker, minCollects = 4, 5000, 20
	start := time.Now()
	recs := make([]*Recorder, workers)
	for i := range recs {
		recs[i] = NewRecorder(start)
	}
	coll := NewCollector(start, recs...)
	rs := sampleResults(4096)

	// Workers keep recording until the collector has swapped windows
	// many times under them.
	var collects atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func(r *Recorder) {
			defer wg.Done()
			for i := 0; i < perWorker || collects.Load() < minCollects; i++ {
				r.Record(rs[(i*7+w)%len(rs)])
			}
		}(recs[w])
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	winLatency := NewHistogram()
	var windows int
	now := start
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true // one last collect below picks up the rest
		default:
		}
		now = now.Add(time.Second)
		w := coll.Collect(now)
		windows++
		collects.Add(1)
		winLatency.Merge(w.Latency)
		if w.From >= w.To {
			t.Fatalf("window [%v, %v)", w.From, w.To)
		}
	}

	m := Merge(recs...)
	tot := coll.Totals()
	if m.Requests < workers*perWorker || tot.Outcomes != m.Outcomes || tot.Late != m.Late {
		t.Fatalf("totals %+v, merged %v late %d", tot, m.Outcomes, m.Late)
	}
	if !winLatency.Equals(m.Latency) {
		t.Fatalf("windows hold %d latency samples, totals %d", winLatency.TotalCount(), m.Latency.TotalCount())
	}
	t.Logf("%d windows", windows)
}

func TestCollectorWindowTimes(t *testing.T) {
	start := time.Unix(100, 0)
	r := NewRecorder(start)
	c := NewCollector(start, r)
	r.Record(res(0, 0, time.Millisecond, Approved, "00", "purchase"))
	r.Record(res(0, 0, 3*time.Millisecond, TimedOutReversalPending, "", "purchase"))
	w := c.Collect(start.Add(time.Second))
	if w.From != 0 || w.To != time.Second || w.Outcomes.Total() != 2 || w.PerSecond(w.Outcomes.Answered()) != 1 {
		t.Fatalf("window %+v", w)
	}
	if q := w.Quantile(100); !w.Latency.ValuesAreEquivalent(3000, int64(q/time.Microsecond)) {
		t.Errorf("max %v", q)
	}
	w = c.Collect(start.Add(1500 * time.Millisecond))
	if w.From != time.Second || w.To != 1500*time.Millisecond || w.Outcomes.Total() != 0 || w.Latency.TotalCount() != 0 {
		t.Fatalf("second window %+v", w)
	}
	if c.Totals().Outcomes.Total() != 2 {
		t.Errorf("totals %+v", c.Totals())
	}
}

func BenchmarkRecord(b *testing.B) {
	r := NewRecorder(time.Now())
	rs := sampleResults(4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Record(rs[i&4095])
		i++
	}
}

// BenchmarkRecordParallel: one recorder per goroutine, as in the pipeline.
func BenchmarkRecordParallel(b *testing.B) {
	rs := sampleResults(4096)
	start := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := NewRecorder(start)
		i := 0
		for pb.Next() {
			r.Record(rs[i&4095])
			i++
		}
	})
}

// BenchmarkRecordWhileCollecting: the worst case for the window handoff, a
// collector swapping windows continuously instead of once a second.
func BenchmarkRecordWhileCollecting(b *testing.B) {
	start := time.Now()
	r := NewRecorder(start)
	c := NewCollector(start, r)
	rs := sampleResults(4096)
	stop := make(chan struct{})
	collected := make(chan int)
	go func() {
		n := 0
		now := start
		for {
			select {
			case <-stop:
				collected <- n
				return
			default:
				now = now.Add(time.Millisecond)
				c.Collect(now)
				n++
			}
		}
	}()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Record(rs[i&4095])
		i++
	}
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(<-collected), "collects")
}

// BenchmarkCollect measures one status tick over 8 busy recorders (each
// window holds 1000 results): the cost is on the status goroutine, not on
// the workers.
func BenchmarkCollect(b *testing.B) {
	start := time.Now()
	recs := make([]*Recorder, 8)
	rs := sampleResults(1000)
	for i := range recs {
		recs[i] = NewRecorder(start)
	}
	c := NewCollector(start, recs...)
	b.ReportAllocs()
	now := start
	for b.Loop() {
		b.StopTimer()
		for _, r := range recs {
			for _, x := range rs {
				r.Record(x)
			}
		}
		b.StartTimer()
		now = now.Add(time.Second)
		c.Collect(now)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(recs)), "ns/recorder")
}

// The error set keeps one real occurrence per cause, the first one seen,
// across recorders and when results are merged.
func TestErrorSetKeepsOneExamplePerCause(t *testing.T) {
	start := time.Now()
	a, b := NewRecorder(start), NewRecorder(start)
	a.Record(Result{Intended: 0, Sent: 0, Done: time.Second, Outcome: TimedOutReversed, TxType: "purchase", Cause: "response.timeout"})
	a.Record(Result{Intended: time.Millisecond, Sent: time.Millisecond, Done: time.Second, Outcome: TimedOutReversed, TxType: "purchase",
		Cause: "response.timeout", Example: "response timeout: no answer within 1s"})
	b.Record(Result{Intended: 2 * time.Millisecond, Sent: 2 * time.Millisecond, Done: 3 * time.Millisecond, Outcome: Failed, TxType: "purchase",
		Cause: "response.missing_field", Example: "the host's answer has no response code (field 39)"})
	b.Record(Result{Intended: 3 * time.Millisecond, Sent: 3 * time.Millisecond, Done: time.Second, Outcome: TimedOutReversed, TxType: "purchase",
		Cause: "response.timeout", Example: "a later one"})
	rep := NewReport(Merge(a, b), time.Second, time.Second)
	got := map[string]CauseCount{}
	for _, c := range rep.Causes {
		got[c.Cause] = c
	}
	if c := got["response.timeout"]; c.Count != 3 || c.Example != "response timeout: no answer within 1s" || c.Fix == "" {
		t.Errorf("timeout: %+v", c)
	}
	if c := got["response.missing_field"]; c.Count != 1 || c.Example != "the host's answer has no response code (field 39)" {
		t.Errorf("missing field: %+v", c)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "e.g.: response timeout: no answer within 1s") {
		t.Errorf("text report:\n%s", text.String())
	}
}
