package load

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/internal/testkit"
)

// instantTarget answers every transaction at once, approved.
type instantTarget struct{}

func (instantTarget) Begin(tx *Tx) {
	now := time.Now()
	tx.Done(Completion{Outcome: Approved, RC: MakeRC("00"), TxType: "purchase", Sent: now, Done: now})
}

func run(t *testing.T, cfg RunConfig) *Report {
	t.Helper()
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Run(context.Background())
	if err := rep.Check(); err != nil {
		t.Fatalf("counts do not add up: %v\n%s", err, rep)
	}
	return rep
}

func TestRunnerRateAccuracy(t *testing.T) {
	var status testkit.SyncBuffer
	rep := run(t, RunConfig{
		Pacer: ConstantPacer{Rate: 4000, Duration: time.Second}, Target: instantTarget{},
		Status: &status, StatusInterval: 200 * time.Millisecond,
	})
	if rep.Requests != 4000 || rep.Outcomes[Approved] != 4000 {
		t.Fatalf("requests %d, outcomes %v", rep.Requests, rep.Outcomes)
	}
	if rep.OfferedRate != 4000 {
		t.Errorf("offered %.1f/s, want 4000/s", rep.OfferedRate)
	}
	if d := rep.Throughput/rep.OfferedRate - 1; d > 0.03 || d < -0.03 { // the 1 % target is the benchmark's; a test on a busy CI box gets slack
		t.Errorf("achieved %.1f/s vs offered %.1f/s: off by %.2f%%", rep.Throughput, rep.OfferedRate, 100*d)
	}
	if rep.LateSends != 0 {
		t.Errorf("%d late sends with an instant target", rep.LateSends)
	}
	lines := strings.Split(strings.TrimSpace(status.String()), "\n")
	if len(lines) < 3 || !strings.Contains(lines[0], "offered 4000/s") {
		t.Errorf("status lines:\n%s", status.String())
	}
}

func TestRunnerStagesCountsAddUp(t *testing.T) {
	p, err := ParseStages("0s:0,500ms:2000,1s:2000")
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, RunConfig{Pacer: p, Target: instantTarget{}, Workers: 3})
	want := int64(p.Expected(time.Second) + 0.5)
	if rep.Requests < want-1 || rep.Requests > want+1 {
		t.Errorf("requests %d, the schedule has %d", rep.Requests, want)
	}
}

// stallTarget answers each transaction after a fixed service time on one
// completer goroutine, except that nothing is answered during a stall:
// what arrives then is answered when the stall ends, as a host that stops
// reading for a while would.
type stallTarget struct {
	service            time.Duration
	stallFrom, stallTo time.Duration
	start              time.Time

	mu   sync.Mutex
	q    []*Tx
	at   []time.Time
	sent []time.Time
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newStallTarget(start time.Time, service, from, to time.Duration) *stallTarget {
	s := &stallTarget{service: service, stallFrom: from, stallTo: to, start: start,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *stallTarget) Begin(tx *Tx) {
	now := time.Now()
	at := now.Add(s.service)
	if el := now.Sub(s.start); el >= s.stallFrom && el < s.stallTo {
		at = s.start.Add(s.stallTo)
	}
	s.mu.Lock()
	s.q, s.at, s.sent = append(s.q, tx), append(s.at, at), append(s.sent, now)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop answers in arrival order (the answer times never decrease).
func (s *stallTarget) loop() {
	defer close(s.done)
	tm := time.NewTimer(time.Hour)
	for {
		s.mu.Lock()
		var next time.Duration = time.Hour
		for len(s.q) > 0 {
			if d := time.Until(s.at[0]); d > 0 {
				next = d
				break
			}
			tx, sent := s.q[0], s.sent[0]
			s.q, s.at, s.sent = s.q[1:], s.at[1:], s.sent[1:]
			s.mu.Unlock()
			tx.Done(Completion{Outcome: Approved, RC: MakeRC("00"), TxType: "purchase", Sent: sent, Done: time.Now()})
			s.mu.Lock()
		}
		s.mu.Unlock()
		tm.Reset(next)
		select {
		case <-tm.C:
		case <-s.wake:
		case <-s.stop:
			return
		}
	}
}

func (s *stallTarget) Close() { close(s.stop); <-s.done }

// A stall of 500 ms at 1000/s with at most 10 in flight: the transactions
// due during the stall wait for a slot (late), their latency from the
// intended time shows the stall, and the service time of what was sent
// stays small.
func TestRunnerStallShowsInIntendedLatency(t *testing.T) {
	start := time.Now()
	tg := newStallTarget(start, 200*time.Microsecond, 500*time.Millisecond, time.Second)
	defer tg.Close()
	rep := run(t, RunConfig{Pacer: ConstantPacer{Rate: 1000, Duration: 2 * time.Second}, Target: tg, MaxInFlight: 10, Start: start})
	t.Logf("\n%s", rep)
	if rep.Requests != 2000 || rep.Outcomes[Approved] != 2000 {
		t.Fatalf("requests %d outcomes %v", rep.Requests, rep.Outcomes)
	}
	// ~500 transactions were due in the stall: 490 could not be sent. Those
	// due while the backlog is caught up after it are late too, and on a
	// loaded machine (-race, other packages, other jobs) catching up takes
	// a few hundred milliseconds more (main's runner measured 607–745 at a
	// load average of 17): the upper bound is the first half of the run.
	if rep.LateSends < 400 || rep.LateSends > 1000 {
		t.Errorf("%d late sends, want ~490 (at most 1000)", rep.LateSends)
	}
	if rep.MaxInFlight != 10 {
		t.Errorf("max in flight %d, want the limit 10", rep.MaxInFlight)
	}
	// 25 % of the transactions were in the stall, their latencies spread
	// over 0..500ms: p99 is close to 500ms.
	if p := rep.Latency.P99; p < 450*time.Millisecond || p > 800*time.Millisecond {
		t.Errorf("intended-time p99 %v, want ~500ms", p)
	}
	if p := rep.ServiceTime.P99; p > 150*time.Millisecond {
		t.Errorf("service-time p99 %v, want small (only 10 requests were held by the stall)", p)
	}
}

// neverTarget never answers; as a Canceler it fails everything it holds.
type neverTarget struct {
	mu   sync.Mutex
	held []*Tx
}

func (n *neverTarget) Begin(tx *Tx) {
	n.mu.Lock()
	n.held = append(n.held, tx)
	n.mu.Unlock()
}

type cancelingTarget struct{ neverTarget }

func (n *cancelingTarget) CancelPending() {
	n.mu.Lock()
	held := n.held
	n.held = nil
	n.mu.Unlock()
	for _, tx := range held {
		tx.Done(Completion{Outcome: LinkFailed, TxType: "purchase"})
	}
}

func TestRunnerDrainGivesUpThroughCanceler(t *testing.T) {
	tg := &cancelingTarget{}
	rep := run(t, RunConfig{Pacer: ConstantPacer{Rate: 1000, Duration: 100 * time.Millisecond}, Target: tg, MaxInFlight: 50, Drain: 50 * time.Millisecond})
	if rep.Requests != 100 {
		t.Fatalf("requests %d", rep.Requests)
	}
	if rep.Outcomes[LinkFailed] != 50 || rep.Outcomes[NotSent] != 50 {
		t.Errorf("outcomes %v: want 50 link_failed (cancelled) and 50 not_sent (never got a slot)", rep.Outcomes)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "gave up") {
		t.Errorf("notes: %q", rep.Notes)
	}
}

func TestRunnerTargetThatLosesTransactionsFailsCheck(t *testing.T) {
	r, _ := NewRunner(RunConfig{Pacer: ConstantPacer{Rate: 1000, Duration: 20 * time.Millisecond}, Target: &neverTarget{},
		Drain: 20 * time.Millisecond, Grace: 20 * time.Millisecond})
	rep := r.Run(context.Background())
	if err := rep.Check(); err == nil {
		t.Fatalf("Check passed although no transaction completed:\n%s", rep)
	}
}

type doubleTarget struct{}

func (doubleTarget) Begin(tx *Tx) {
	c := Completion{Outcome: Approved, RC: MakeRC("00"), TxType: "purchase"}
	tx.Done(c)
	tx.Done(c) // ignored
}

func TestRunnerIgnoresSecondDone(t *testing.T) {
	rep := run(t, RunConfig{Pacer: ConstantPacer{Rate: 1000, Duration: 50 * time.Millisecond}, Target: doubleTarget{}})
	if rep.Outcomes[Approved] != 50 || !strings.Contains(strings.Join(rep.Notes, " "), "more than once") {
		t.Errorf("outcomes %v notes %q", rep.Outcomes, rep.Notes)
	}
}

func TestRunnerCancelStopsTheSchedule(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tg := &cancelTrigger{after: 100, cancel: cancel}
	r, _ := NewRunner(RunConfig{Pacer: ConstantPacer{Rate: 1000, Duration: time.Hour}, Target: tg})
	rep := r.Run(ctx)
	if err := rep.Check(); err != nil {
		t.Fatal(err)
	}
	if rep.Requests < 100 || rep.Requests > 150 || rep.Duration > time.Second {
		t.Errorf("requests %d duration %v after a cancel at the 100th", rep.Requests, rep.Duration)
	}
}

type cancelTrigger struct {
	mu     sync.Mutex
	n      int
	after  int
	cancel func()
}

func (c *cancelTrigger) Begin(tx *Tx) {
	c.mu.Lock()
	c.n++
	if c.n == c.after {
		c.cancel()
	}
	c.mu.Unlock()
	tx.Done(Completion{Outcome: Approved, RC: MakeRC("00"), TxType: "purchase"})
}

func TestRunnerHDRLog(t *testing.T) {
	var buf testkit.SyncBuffer
	start := time.Now()
	hl, err := NewHDRLog(&buf, start)
	if err != nil {
		t.Fatal(err)
	}
	run(t, RunConfig{Pacer: ConstantPacer{Rate: 1000, Duration: 300 * time.Millisecond}, Target: instantTarget{},
		HDRLog: hl, StatusInterval: 100 * time.Millisecond, Start: start})
	if n := strings.Count(buf.String(), "HIST"); n < 2 {
		t.Errorf("%d intervals in the HDR log:\n%s", n, buf.String())
	}
}

// BenchmarkRunnerOverhead is the runner's own cost per transaction: pacer,
// handoff to a worker, in-flight slot, completion back to the worker,
// recording (against a target that answers at once).
func BenchmarkRunnerOverhead(b *testing.B) {
	b.ReportAllocs()
	r, _ := NewRunner(RunConfig{Pacer: countPacer(b.N), Target: instantTarget{}})
	b.ResetTimer()
	rep := r.Run(context.Background())
	if rep.Requests != int64(b.N) {
		b.Fatalf("requests %d", rep.Requests)
	}
}

// countPacer makes n hits all due at once.
type countPacer int

func (p countPacer) Due(i uint64) (time.Duration, bool) { return 0, i < uint64(p) }
