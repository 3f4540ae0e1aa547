package load

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flakyLinksTarget behaves like a fleet whose links keep failing, far over
// saturation: a third of the transactions fail inside Begin (no link: Done
// on the worker's own goroutine), the rest are answered or failed later
// by a few "link" goroutines, some after the drain.
type flakyLinksTarget struct {
	n    atomic.Uint64
	q    chan *Tx
	wg   sync.WaitGroup
	stop chan struct{}
}

func newFlakyLinksTarget(links int) *flakyLinksTarget {
	f := &flakyLinksTarget{q: make(chan *Tx, 1<<16), stop: make(chan struct{})}
	for range links {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for {
				select {
				case tx := <-f.q:
					o := Approved
					if tx.Seq%5 == 0 {
						o = LinkFailed
					}
					tx.Done(Completion{Outcome: o, RC: MakeRC("00"), TxType: "purchase"})
				case <-f.stop:
					return
				}
			}
		}()
	}
	return f
}

func (f *flakyLinksTarget) Begin(tx *Tx) {
	if f.n.Add(1)%3 == 0 {
		tx.Done(Completion{Outcome: NotSent, TxType: "purchase"})
		return
	}
	select {
	case f.q <- tx:
	default:
		tx.Done(Completion{Outcome: NotSent, TxType: "purchase"})
	}
}

func (f *flakyLinksTarget) CancelPending() {
	for {
		select {
		case tx := <-f.q:
			tx.Done(Completion{Outcome: LinkFailed, TxType: "purchase"})
		default:
			return
		}
	}
}

func (f *flakyLinksTarget) Close() { close(f.stop); f.wg.Wait() }

// runBounded runs r and fails the test (with every goroutine's stack) if it
// does not return by limit.
func runBounded(t *testing.T, r *Runner, limit time.Duration) *Report {
	t.Helper()
	done := make(chan *Report, 1)
	go func() { done <- r.Run(context.Background()) }()
	select {
	case rep := <-done:
		return rep
	case <-time.After(limit):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("the run did not end within %v: hung\n%s", limit, buf[:n])
		return nil
	}
}

// A transaction completed inside Begin, with the in-flight limit far
// below what is due, must not block its worker (issue 14: the worker sent
// to its own full completion channel and the run never ended).
func TestRunnerNeverHangsOnCompletionsInsideBegin(t *testing.T) {
	for _, workers := range []int{1, 4} {
		r, err := NewRunner(RunConfig{Pacer: ConstantPacer{Rate: 1e6, Duration: 200 * time.Millisecond},
			Target: instantTarget{}, MaxInFlight: 8, Workers: workers, Drain: 200 * time.Millisecond, Grace: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		rep := runBounded(t, r, 20*time.Second)
		if err := rep.Check(); err != nil {
			t.Fatalf("workers %d: %v\n%s", workers, err, rep)
		}
		if rep.Outcomes[Approved] == 0 {
			t.Errorf("workers %d: nothing approved:\n%s", workers, rep)
		}
	}
}

// Many links, far over saturation, links failing (inside Begin and later
// from link goroutines): the run ends within schedule + drain + grace and
// every transaction has one outcome.
func TestRunnerNeverHangsWithFailingLinks(t *testing.T) {
	tg := newFlakyLinksTarget(16)
	defer tg.Close()
	const sched, drain, grace = 300 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond
	r, err := NewRunner(RunConfig{Pacer: ConstantPacer{Rate: 1e6, Duration: sched}, Target: tg,
		MaxInFlight: 8, Drain: drain, Grace: grace})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep := runBounded(t, r, 30*time.Second)
	if err := rep.Check(); err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if rep.Outcomes[NotSent] == 0 || rep.Outcomes[LinkFailed] == 0 || rep.Outcomes[Approved] == 0 {
		t.Errorf("outcomes %v: want approved, link_failed and not_sent", rep.Outcomes)
	}
	t.Logf("ended after %v: %d requests, outcomes %v", time.Since(start).Round(time.Millisecond), rep.Requests, rep.Outcomes)
}

// hangingTarget never returns from Begin after the first few transactions:
// a target bug. The run still ends (bounded), and says so.
type hangingTarget struct {
	n       atomic.Int64
	release chan struct{}
}

func (h *hangingTarget) Begin(tx *Tx) {
	if h.n.Add(1) > 5 {
		<-h.release
	}
	tx.Done(Completion{Outcome: Approved, RC: MakeRC("00"), TxType: "purchase"})
}

func TestRunnerEndsWhenTheTargetBlocksInBegin(t *testing.T) {
	tg := &hangingTarget{release: make(chan struct{})}
	defer close(tg.release)
	r, err := NewRunner(RunConfig{Pacer: ConstantPacer{Rate: 1000, Duration: 100 * time.Millisecond}, Target: tg,
		Drain: 50 * time.Millisecond, Grace: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rep := runBounded(t, r, 10*time.Second)
	if rep.Check() == nil {
		t.Errorf("Check passed although transactions were lost in a blocked Begin:\n%s", rep)
	}
	found := false
	for _, n := range rep.Notes {
		if contains(n, "blocked in Begin") {
			found = true
		}
	}
	if !found {
		t.Errorf("no note about the blocked target: %q", rep.Notes)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
