package load

import (
	"context"
	"errors"
	"fmt"
	"github.com/possim/possim/internal/diagnose"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A Target is what a [Runner] drives: something that starts a transaction
// and reports, later and from any goroutine, how it ended. The terminal
// fleet is one; tests use small fakes.
//
// Begin is called on a runner worker goroutine at (or as soon as possible
// after) the transaction's intended time. It must not wait for the answer:
// it starts the transaction and returns. It must call tx.Done exactly once,
// from any goroutine, possibly before Begin returns (a request that cannot
// be sent). Done never blocks.
type Target interface {
	Begin(tx *Tx)
}

// A Canceler is a Target that can give up on everything it still has
// outstanding (the links are closed, reversal retries cut short). The runner
// calls CancelPending when the drain period after the schedule is over;
// every outstanding Tx must then be Done promptly.
type Canceler interface {
	CancelPending()
}

// Completion is how one transaction ended, as a Target reports it through
// [Tx.Done]. Times are wall-clock readings with their monotonic part
// (time.Now()), converted by the runner into offsets from the start.
type Completion struct {
	Outcome Outcome
	RC      RC     // answered transactions
	TxType  string // "purchase", "balance"...: a constant string, not built per transaction
	// Sent is when the request was handed to the link (zero: when Begin was
	// called). Done is when the outcome was decided — the response read,
	// the timeout fired, the link failure seen — not when a reversal that
	// followed finished (zero: when the runner received the completion).
	Sent, Done time.Time
	// ReversalsSent counts the 0400/0401 messages sent for the
	// transaction; ReversalAcked is set when one was answered.
	ReversalsSent int
	ReversalAcked bool
	// Cause is the catalogue id of why the transaction did not simply
	// succeed ("" for a plain approval): simulate counts errors by cause.
	Cause diagnose.ID
}

// Tx is one scheduled transaction handed to a Target. The runner owns it
// and reuses it once Done has been called: a Target must not touch it after
// calling Done.
type Tx struct {
	// Seq is the transaction's index in the schedule (0, 1, 2...). Targets
	// derive everything they choose per transaction from it (terminal,
	// transaction type), so that a run is reproducible whatever the
	// goroutine interleaving.
	Seq uint64
	// Intended is the scheduled send time, an offset from the run's start.
	Intended time.Duration
	// Late is set when the in-flight limit held the transaction back: it
	// waited for a free slot, or it was queued behind one that did.
	Late bool

	c     Completion
	begun time.Time
	state atomic.Uint32 // 1 begun, 2 done
	w     *worker
}

// Done reports the transaction's outcome. Exactly once per transaction; a
// second call is ignored (and counted as a target bug in the report). It
// never blocks: the in-flight slot is released at once and the completion
// goes back to the worker that owns the transaction's recorder (without
// waking it: see worker.run).
func (t *Tx) Done(c Completion) {
	w := t.w
	if !t.state.CompareAndSwap(1, 2) {
		w.r.doubleDone.Add(1)
		return
	}
	t.c = c
	<-w.r.sem
	w.done <- t // capacity MaxInFlight: never full (see worker)
}

// RunConfig configures a [Runner]. Pacer and Target are required.
type RunConfig struct {
	Pacer  Pacer
	Target Target
	// Workers is the number of goroutines that start transactions and
	// record their outcomes, each with its own Recorder. Default
	// GOMAXPROCS: starting a transaction is codec work (build, pack).
	Workers int
	// MaxInFlight bounds the transactions started and not yet Done.
	// A transaction due while the bound is reached waits for a slot and is
	// counted Late; its latency still runs from its intended time.
	// Default 10000.
	MaxInFlight int
	// Drain is how long to wait, after the end of the schedule (or the
	// cancellation of the run), for the outstanding transactions; then
	// nothing more is started and a Canceler target is told to give up on
	// what it still has. Default 10s.
	Drain time.Duration
	// BehindAfter: a transaction started more than this after its intended
	// time although an in-flight slot was free means the load generator
	// itself could not keep up; such transactions are counted in the
	// report's notes. Default 10ms.
	BehindAfter time.Duration
	// Grace is how long to wait, after a Canceler was told to give up, for
	// the last completions; what is still missing then is reported as a
	// target bug (Check fails). Default 5s.
	Grace time.Duration
	// Status, if set, gets a status line every StatusInterval (default 1s).
	Status         io.Writer
	StatusInterval time.Duration
	// HDRLog, if set, gets the intended-time latency histogram of every
	// status interval.
	HDRLog *HDRLog
	// Start, if set, is the run's start time (default: when Run is called).
	Start time.Time
}

// batch is a range of schedule indexes [from, to) that are due.
type batch struct{ from, to uint64 }

// maxBatch bounds how many due transactions one handoff carries, so that
// catching up after a stall spreads over the workers.
const maxBatch = 32

// Runner runs an open-loop schedule against a Target.
//
// One pacer goroutine follows the schedule and hands the indexes that are
// due, in batches, to a bounded set of workers; each worker takes an
// in-flight slot (waiting for one, and marking the transaction late, when
// MaxInFlight is reached), starts the transaction on the Target, and
// records the outcomes of the transactions it started in its own
// Recorder.
//
// A completion arrives on whatever goroutine the Target calls Done from (a
// link's codec pool, a timeout scheduler, the worker itself). Done frees
// the in-flight slot there and puts the Tx on the owning worker's channel;
// only that worker ever touches its Recorder, so recording needs no lock.
// The channel has room for MaxInFlight completions — no more can be
// outstanding — so Done never blocks; and the worker drains it when it
// wakes anyway rather than waiting on it, so a completion costs no extra
// goroutine wake-up. (The alternative, recording on the completing
// goroutine, would need a lock per recorder: the link's pool goroutines
// are not ours to give recorders to.) Nothing is allocated per
// transaction: Tx values are recycled by their worker.
type Runner struct {
	cfg    RunConfig
	start  time.Time
	sem    chan struct{} // one element per transaction in flight
	jobs   chan batch
	giveUp chan struct{} // closed: start nothing more; the target was told to cancel
	abort  chan struct{} // closed: stop waiting for completions

	unstarted *Recorder // the pacer's: due, never handed out

	workers []*worker
	coll    *Collector

	// The in-flight limit holds transactions back in two ways: the worker
	// that finds it reached waits (that transaction is late), and while it
	// waits the batches queue up behind it and the pacer blocks. So a
	// transaction is also late if it started after its intended time
	// while the limit was, or had been since that time, reached: waiting
	// counts the workers waiting for a slot now, fullUntil is the offset
	// at which the last wait ended.
	waiting   atomic.Int32
	fullUntil atomic.Int64

	dispatched atomic.Uint64
	doubleDone atomic.Int64
	stopping   atomic.Bool
}

type worker struct {
	r    *Runner
	rec  *Recorder
	done chan *Tx
	free []*Tx
	out  int // started, not yet recorded

	revSent     int64
	revAcked    int64
	maxInFlight int
	behind      int64
	maxLag      time.Duration
	cancelled   int64
}

// NewRunner checks cfg and applies defaults.
func NewRunner(cfg RunConfig) (*Runner, error) {
	if cfg.Pacer == nil {
		return nil, errors.New("runner: no pacer")
	}
	if cfg.Target == nil {
		return nil, errors.New("runner: no target")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 10000
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	if cfg.BehindAfter <= 0 {
		cfg.BehindAfter = 10 * time.Millisecond
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = time.Second
	}
	return &Runner{cfg: cfg}, nil
}

// InFlight is the number of transactions started and not yet Done.
func (r *Runner) InFlight() int { return len(r.sem) }

// Run follows the schedule until it ends or ctx is cancelled, waits for
// the outstanding transactions, and returns the report.
//
// The run is bounded in time: Drain after the end of the schedule (or
// after ctx is cancelled) the runner gives up — nothing more is started,
// the transactions due and not started are counted not_sent, and a
// Canceler target is told to give up on what it still has; Grace later the
// runner stops waiting. The report's Requests is the number of
// transactions due, so a Target that loses one makes [Report.Check] fail.
func (r *Runner) Run(ctx context.Context) *Report {
	cfg := &r.cfg
	r.start = cfg.Start
	if r.start.IsZero() {
		r.start = time.Now()
	}
	r.sem = make(chan struct{}, cfg.MaxInFlight)
	r.jobs = make(chan batch, 4*cfg.Workers)
	r.giveUp = make(chan struct{})
	r.abort = make(chan struct{})
	r.fullUntil.Store(-1)
	recs := make([]*Recorder, cfg.Workers+1)
	r.workers = make([]*worker, cfg.Workers)
	for i := range r.workers {
		recs[i] = NewRecorder(r.start)
		r.workers[i] = &worker{r: r, rec: recs[i], done: make(chan *Tx, cfg.MaxInFlight)}
	}
	// The pacer's own recorder: transactions that were due but never
	// handed to a worker because the run was given up.
	r.unstarted = NewRecorder(r.start)
	recs[cfg.Workers] = r.unstarted
	r.coll = NewCollector(r.start, recs...)

	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run()
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	tickDone := make(chan struct{})
	tickStop := make(chan struct{})
	go func() {
		defer close(tickDone)
		r.ticker(tickStop)
	}()
	var gaveUpWith atomic.Int64 // in flight when the runner gave up; -1: not given up
	gaveUpWith.Store(-1)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		r.watchdog(ctx, allDone, &gaveUpWith)
	}()

	stoppedAt, unstarted := r.pace(ctx)
	r.stopping.Store(true)
	close(r.jobs)
	<-allDone
	<-watchDone
	close(tickStop)
	<-tickDone
	w := r.coll.Collect(time.Now())
	if cfg.HDRLog != nil && w.Latency.TotalCount() > 0 {
		_ = cfg.HDRLog.WriteWindow(w)
	}

	m := Merge(recs...)
	duration := scheduleLength(cfg.Pacer)
	if duration <= 0 || stoppedAt < duration {
		duration = stoppedAt
	}
	rep := NewReport(m, duration, 0)
	rep.Requests = int64(r.dispatched.Load()) + unstarted
	var behind, missing, cancelled int64
	var maxLag time.Duration
	for _, w := range r.workers {
		rep.Reversals.Sent += w.revSent
		rep.Reversals.Acked += w.revAcked
		rep.MaxInFlight = max(rep.MaxInFlight, int64(w.maxInFlight))
		behind += w.behind
		maxLag = max(maxLag, w.maxLag)
		missing += int64(w.out)
		cancelled += w.cancelled
	}
	var notes []string
	if end := scheduleLength(cfg.Pacer); end > 0 && stoppedAt < end {
		notes = append(notes, fmt.Sprintf("run stopped at %s, before the end of the schedule (%s)", stoppedAt.Round(time.Millisecond), end))
	}
	if n := gaveUpWith.Load(); n >= 0 {
		notes = append(notes, fmt.Sprintf("gave up %s after the schedule ended with %d transactions outstanding (links closed: link_failed; reversals in progress left pending)", cfg.Drain, n))
	}
	if behind > 0 {
		notes = append(notes, fmt.Sprintf("the load generator fell behind its schedule: %d transactions started more than %s after their intended time with an in-flight slot free (max lag %s); their latency still counts from the intended time",
			behind, cfg.BehindAfter, maxLag.Round(time.Microsecond)))
	}
	if n := cancelled + unstarted; n > 0 {
		notes = append(notes, fmt.Sprintf("%d transactions were due but never started before the runner gave up (the in-flight limit was reached): counted not_sent, type %q", n, UnstartedTxType))
	}
	if missing > 0 {
		notes = append(notes, fmt.Sprintf("BUG: %d transactions were started and never completed by the target", missing))
	}
	if n := r.doubleDone.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("BUG: the target completed %d transactions more than once (ignored)", n))
	}
	rep.Notes = append(rep.Notes, notes...)
	return rep
}

// UnstartedTxType is the transaction type of transactions that were due
// and never handed to the target (the target chooses types).
const UnstartedTxType = "unstarted"

// watchdog bounds the run: Drain after the end of the schedule (or the
// cancellation of ctx) it gives up, Grace later it aborts.
func (r *Runner) watchdog(ctx context.Context, allDone <-chan struct{}, gaveUpWith *atomic.Int64) {
	cfg := &r.cfg
	var endC <-chan time.Time
	if end := scheduleLength(cfg.Pacer); end > 0 {
		t := time.NewTimer(time.Until(r.start.Add(end)))
		defer t.Stop()
		endC = t.C
	}
	select {
	case <-endC:
	case <-ctx.Done():
	case <-allDone:
		return
	}
	drain := time.NewTimer(cfg.Drain)
	defer drain.Stop()
	select {
	case <-drain.C:
	case <-allDone:
		return
	}
	gaveUpWith.Store(int64(r.InFlight()))
	close(r.giveUp)
	if c, ok := cfg.Target.(Canceler); ok {
		c.CancelPending()
	}
	grace := time.NewTimer(cfg.Grace)
	defer grace.Stop()
	select {
	case <-grace.C:
		close(r.abort)
	case <-allDone:
	}
}

// scheduleLength is the length of a pacer's schedule, 0 when unknown or
// unbounded.
func scheduleLength(p Pacer) time.Duration {
	switch p := p.(type) {
	case ConstantPacer:
		return p.Duration
	case *ConstantPacer:
		return p.Duration
	case interface{ Duration() time.Duration }:
		return p.Duration()
	}
	return 0
}

// pace hands out due indexes until the schedule ends, ctx is done or the
// runner gives up. It returns the offset at which it stopped and how many
// transactions were due by then and never handed out (recorded not_sent).
func (r *Runner) pace(ctx context.Context) (time.Duration, int64) {
	p := r.cfg.Pacer
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var i uint64
	var stoppedAt time.Duration
loop:
	for {
		due, ok := p.Due(i)
		if !ok {
			if end := scheduleLength(p); end > 0 {
				return end, 0
			}
			return time.Since(r.start), 0
		}
		now := time.Since(r.start)
		if due > now {
			timer.Reset(due - now)
			select {
			case <-ctx.Done():
				stoppedAt = time.Since(r.start)
				break loop
			case <-r.giveUp:
				stoppedAt = time.Since(r.start)
				break loop
			case <-timer.C:
			}
			continue
		}
		j := i + 1
		for j-i < maxBatch {
			d, ok := p.Due(j)
			if !ok || d > now {
				break
			}
			j++
		}
		select {
		case r.jobs <- batch{i, j}:
		case <-ctx.Done():
			stoppedAt = time.Since(r.start)
			break loop
		case <-r.giveUp:
			stoppedAt = time.Since(r.start)
			break loop
		}
		r.dispatched.Add(j - i)
		i = j
	}
	// Due by now and never handed out: the generator was held back by the
	// in-flight limit when the run stopped.
	var n int64
	for ; ; i++ {
		due, ok := p.Due(i)
		if !ok || due > stoppedAt {
			break
		}
		r.unstarted.Record(Result{Intended: due, Sent: stoppedAt, Done: stoppedAt, Outcome: NotSent, Late: true, TxType: UnstartedTxType})
		n++
	}
	if end := scheduleLength(p); end > 0 && stoppedAt > end {
		stoppedAt = end
	}
	return stoppedAt, n
}

func (w *worker) run() {
	jobs := w.r.jobs
	// While the schedule runs, completions are not waited for: they are
	// drained when the worker wakes anyway (a batch from the pacer) or
	// every drainEvery. Waiting on w.done would wake the worker once per
	// completion — a futex wake and a context switch per transaction, the
	// largest cost of the runner below saturation. Completion times are
	// taken when Done is called, so draining later does not change them.
	var done chan *Tx
	tick := time.NewTicker(drainEvery)
	defer tick.Stop()
	for jobs != nil || w.out > 0 {
		select {
		case b, ok := <-jobs:
			w.drain()
			if !ok {
				jobs, done = nil, w.done // the end: wait for what is left
				continue
			}
			for i := b.from; i < b.to; i++ {
				if !w.start(i) {
					w.cancelRest(i+1, b.to)
					break
				}
			}
		case <-tick.C:
			w.drain()
		case tx := <-done:
			w.record(tx)
		case <-w.r.abort:
			// Batches not started yet are due transactions that never
			// got going: not sent. Whatever is still out is reported
			// missing; those Tx values stay with the target.
			w.drain()
			for b := range w.r.jobs {
				w.cancelRest(b.from, b.to)
			}
			return
		}
	}
}

// drainEvery bounds how long a completion waits in a worker's channel
// before it is recorded (the live window lags by at most this).
const drainEvery = 5 * time.Millisecond

// drain records every completion waiting in the worker's channel.
func (w *worker) drain() {
	for {
		select {
		case tx := <-w.done:
			w.record(tx)
		default:
			return
		}
	}
}

// start begins transaction i: waits for an in-flight slot (recording
// completions meanwhile) and hands it to the target. It returns false when
// the runner gave up before a slot was free (i is recorded not_sent).
func (w *worker) start(i uint64) bool {
	r := w.r
	due, _ := r.cfg.Pacer.Due(i)
	late := false
	select {
	case <-r.giveUp:
		w.cancel(i, due)
		return false
	default:
	}
	select {
	case r.sem <- struct{}{}:
	default:
		late = true
		r.waiting.Add(1)
	wait:
		for {
			select {
			case r.sem <- struct{}{}:
				break wait
			case d := <-w.done:
				w.record(d)
			case <-r.giveUp:
				r.waiting.Add(-1)
				w.cancel(i, due)
				return false
			}
		}
		r.fullUntil.Store(int64(time.Since(r.start)))
		r.waiting.Add(-1)
	}
	tx := w.get()
	tx.Seq, tx.Intended, tx.Late = i, due, late
	if n := len(r.sem); n > w.maxInFlight {
		w.maxInFlight = n
	}
	now := time.Now()
	if lag := now.Sub(r.start) - due; !late && lag > 0 {
		switch {
		case r.waiting.Load() > 0 || time.Duration(r.fullUntil.Load()) >= due:
			tx.Late = true // held back behind a wait for a slot
		case lag > r.cfg.BehindAfter:
			w.behind++
			w.maxLag = max(w.maxLag, lag)
		}
	}
	tx.begun = now
	tx.state.Store(1)
	w.out++
	r.cfg.Target.Begin(tx)
	return true
}

// cancel records transaction i, due at due, as never started: the runner
// gave up before it could get an in-flight slot.
func (w *worker) cancel(i uint64, due time.Duration) {
	w.cancelled++
	now := time.Since(w.r.start)
	w.rec.Record(Result{Intended: due, Sent: now, Done: now, Outcome: NotSent, Late: true, TxType: UnstartedTxType})
}

func (w *worker) cancelRest(from, to uint64) {
	for i := from; i < to; i++ {
		due, _ := w.r.cfg.Pacer.Due(i)
		w.cancel(i, due)
	}
}

func (w *worker) get() *Tx {
	if n := len(w.free); n > 0 {
		tx := w.free[n-1]
		w.free = w.free[:n-1]
		return tx
	}
	return &Tx{w: w}
}

func (w *worker) record(tx *Tx) {
	start := w.r.start
	c := &tx.c
	sent, done := c.Sent, c.Done
	if sent.IsZero() {
		sent = tx.begun
	}
	if done.IsZero() {
		done = time.Now()
	}
	w.rec.Record(Result{
		Intended: tx.Intended,
		Sent:     sent.Sub(start),
		Done:     done.Sub(start),
		Outcome:  c.Outcome,
		RC:       c.RC,
		Late:     tx.Late,
		TxType:   c.TxType,
	})
	w.revSent += int64(c.ReversalsSent)
	if c.ReversalAcked {
		w.revAcked++
	}
	w.out--
	tx.c = Completion{}
	w.free = append(w.free, tx)
}

// ticker collects the per-second windows: status line and HDR log.
func (r *Runner) ticker(stop <-chan struct{}) {
	if r.cfg.Status == nil && r.cfg.HDRLog == nil {
		<-stop
		return
	}
	t := time.NewTicker(r.cfg.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			w := r.coll.Collect(now)
			if r.cfg.HDRLog != nil {
				_ = r.cfg.HDRLog.WriteWindow(w)
			}
			if r.cfg.Status != nil {
				el := now.Sub(r.start)
				var offered float64
				if rp, ok := r.cfg.Pacer.(RatePacer); ok && !r.stopping.Load() {
					offered = rp.RateAt(el)
				}
				fmt.Fprintln(r.cfg.Status, FormatStatus(Status{
					Elapsed: el, Offered: offered, InFlight: r.InFlight(), Window: w, Totals: r.coll.Totals(),
				}))
			}
		}
	}
}
