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
// Begin is called on a runner goroutine at (or as soon as possible after)
// the transaction's intended time. It must not wait for the answer: it
// starts the transaction and returns. It must call tx.Done exactly once,
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
	// Detail is the failure in words, for the error set's one example per
	// cause ("" for an approval; a string the target already has, not one
	// built for the report).
	Detail string
	// Cause is the catalogue id of why the transaction did not simply
	// succeed ("" for a plain approval; a failure without one counts under
	// the outcome's name): simulate counts errors by cause.
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
	state atomic.Uint32 // txIdle...
	w     *worker
}

// The life of a Tx. A completion that arrives while Begin is still running
// (on the worker itself, or on a link goroutine that was quick) is left in
// the Tx for the worker to record when Begin returns; only completions
// after Begin go through the worker's queue. So a worker never waits on
// its own queue (issue 14: a worker whose Begin completed transactions
// synchronously filled its own completion channel and blocked on it
// forever).
const (
	txIdle           uint32 = iota
	txInBegin               // Begin is running
	txClaimedInBegin        // Done called during Begin, writing the completion
	txDoneInBegin           // Done called during Begin: the worker records it after Begin
	txOut                   // Begin returned, Done not called yet
	txDone                  // Done called after Begin: queued to the worker
)

// Done reports the transaction's outcome. Exactly once per transaction; a
// second call is ignored (and counted as a target bug in the report). It
// never blocks: the in-flight slot is released at once and the completion
// goes back to the worker that owns the transaction's recorder (without
// waking it: see worker.run).
func (t *Tx) Done(c Completion) {
	w := t.w
	for {
		switch t.state.Load() {
		case txInBegin:
			if t.state.CompareAndSwap(txInBegin, txClaimedInBegin) {
				t.c = c
				<-w.r.sem
				t.state.Store(txDoneInBegin)
				return
			}
		case txOut:
			if t.state.CompareAndSwap(txOut, txDone) {
				t.c = c
				<-w.r.sem
				w.queue(t)
				return
			}
		default:
			w.r.doubleDone.Add(1)
			return
		}
	}
}

// RunConfig configures a [Runner]. Pacer and Target are required.
type RunConfig struct {
	Pacer  Pacer
	Target Target
	// Workers is the number of goroutines that start transactions the
	// pacer cannot start itself in time (a backlog after a stall, rates
	// at which several are due at every wake) and record their outcomes,
	// each with its own Recorder. Default GOMAXPROCS: starting a
	// transaction is codec work (build, pack).
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
	// target bug (Check fails). Default 5s. Run returns at the latest one
	// second after Grace, even if the target blocks a runner goroutine in
	// Begin forever.
	Grace time.Duration
	// Status, if set, gets a status line every StatusInterval (default 1s).
	// The report's per-interval series is kept whether or not it is set.
	Status         io.Writer
	StatusInterval time.Duration
	// HDRLog, if set, gets the intended-time latency histogram of every
	// status interval.
	HDRLog *HDRLog
	// Start, if set, is the run's start time (default: when Run is called).
	// A start in the future makes Run wait for it (segments of one run on
	// several machines start together).
	Start time.Time
	// GoTimers makes the pacer wait on Go timers instead of a precise
	// sleep (for comparison in benchmarks; see sleep_linux.go).
	GoTimers bool
	// OnWindow, if set, is called on the ticker goroutine with every
	// interval's window (live metrics). It must not keep the window.
	OnWindow func(*Window)
}

// batch is a range of schedule indexes [from, to) that are due.
type batch struct{ from, to uint64 }

// maxBatch bounds how many due transactions one handoff to a worker
// carries, so that catching up after a stall spreads over the workers;
// inlineMax is how many due transactions the pacer starts itself per wake.
// Starting one costs the fleet 1–2 µs, so the pacer alone keeps up with
// any rate the pipeline can carry, and starts them in schedule order (a
// terminal's STANs follow its sequence numbers); only a backlog larger
// than inlineMax (a stall, an overloaded machine) is spread over the
// workers, where batches can overtake each other.
const (
	maxBatch  = 32
	inlineMax = 64
	// maxSleep bounds one sleep of the pacer, so that it drains its
	// completions and sees a cancellation at least this often.
	maxSleep = 20 * time.Millisecond
	// minWakeGap is the least time between two wakes of the pacer. Each
	// wake is a clock_nanosleep: on a virtual machine arming the timer
	// and the switch back cost ~20 µs of CPU (31 % of the CPU at 30 000/s
	// when the pacer woke for every transaction, issue 14's tail row).
	// Above 1/minWakeGap (10 000/s) the pacer wakes at most this often and
	// starts all that is due: a transaction waits at most this long more,
	// its lag counted in the send lag and the latency (never started
	// early), and the batch shares the writers' syscalls. Below that rate
	// nothing changes.
	minWakeGap = 100 * time.Microsecond
	// stuckWait is how long Run waits, after the abort, for runner
	// goroutines still inside Target.Begin.
	stuckWait = time.Second
)

// Runner runs an open-loop schedule against a Target.
//
// One pacer goroutine follows the schedule with a sleep that
// sleeps precisely until the next due time (see sleep_linux.go). At each
// wake it starts up to inlineMax of the transactions that are due itself —
// no handoff, so no second goroutine wake-up between the due time and the
// send — and hands the rest, in batches, to a bounded set of workers. The
// pacer and each worker take an in-flight slot per transaction (waiting
// for one, and marking the transaction late, when MaxInFlight is reached),
// start it on the Target, and record the outcomes of the transactions they
// started in their own Recorder.
//
// A completion arrives on whatever goroutine the Target calls Done from (a
// link's codec pool, a timeout scheduler, the starting goroutine itself).
// Done frees the in-flight slot there. A completion during Begin stays in
// the Tx and is recorded when Begin returns; a later one goes on the
// owning goroutine's queue (a channel, with an overflow list behind it so
// that Done never blocks), which that goroutine drains when it wakes
// anyway rather than waiting on it, so a completion costs no extra
// goroutine wake-up. Only the owner touches its Recorder, so recording
// needs no lock. Nothing is allocated per transaction: Tx values are
// recycled by their owner.
type Runner struct {
	cfg      RunConfig
	start    time.Time
	sem      chan struct{} // one element per transaction in flight
	jobs     chan batch
	giveUp   chan struct{} // closed: start nothing more; the target was told to cancel
	abort    chan struct{} // closed: stop waiting for completions
	hardStop chan struct{} // closed: Run returns whatever is still running

	unstarted *Recorder // the pacer's: due, never handed out

	pw      *worker // the pacer's own worker
	workers []*worker
	coll    *Collector
	series  []SeriesPoint

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

	// Overflow of done: completions that found the channel full.
	ovMu sync.Mutex
	ov   []*Tx
	ovN  atomic.Int64
	wake chan struct{} // cap 1: something went to the overflow list

	exited atomic.Bool // the goroutine has returned: its fields may be read

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

func (r *Runner) newWorker() *worker {
	return &worker{r: r, rec: NewRecorder(r.start), done: make(chan *Tx, r.cfg.MaxInFlight+maxBatch), wake: make(chan struct{}, 1)}
}

// paceResult is what the pacer goroutine hands back.
type paceResult struct {
	stoppedAt time.Duration
	unstarted int64
}

// Run follows the schedule until it ends or ctx is cancelled, waits for
// the outstanding transactions, and returns the report.
//
// The run is bounded in time: Drain after the end of the schedule (or
// after ctx is cancelled) the runner gives up — nothing more is started,
// the transactions due and not started are counted not_sent, and a
// Canceler target is told to give up on what it still has; Grace later the
// runner stops waiting, and a second after that Run returns even if a
// runner goroutine is stuck in the target's Begin (reported as a bug). The
// report's Requests is the number of transactions due, so a Target that
// loses one makes [Report.Check] fail.
// waitForStart sets the run's start (the configured one, or now) and waits
// for it, or for ctx.
func (r *Runner) waitForStart(ctx context.Context) {
	r.start = r.cfg.Start
	if r.start.IsZero() {
		r.start = time.Now()
	}
	if d := time.Until(r.start); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// drainUnstarted records the batches handed out and never taken by a
// worker (the workers were aborted) as due and never started.
func (r *Runner) drainUnstarted(pr *paceResult) {
	for {
		select {
		case b, ok := <-r.jobs:
			if !ok {
				return
			}
			for i := b.from; i < b.to; i++ {
				due, _ := r.cfg.Pacer.Due(i)
				r.unstarted.Record(Result{Intended: due, Sent: pr.stoppedAt, Done: pr.stoppedAt, Outcome: NotSent, Late: true, TxType: UnstartedTxType})
				pr.unstarted++
				r.dispatched.Add(^uint64(0))
			}
		default:
			return
		}
	}
}

func (r *Runner) Run(ctx context.Context) *Report {
	cfg := &r.cfg
	r.waitForStart(ctx)
	r.sem = make(chan struct{}, cfg.MaxInFlight)
	r.jobs = make(chan batch, 4*cfg.Workers)
	r.giveUp = make(chan struct{})
	r.abort = make(chan struct{})
	r.hardStop = make(chan struct{})
	r.fullUntil.Store(-1)
	r.pw = r.newWorker()
	r.workers = make([]*worker, cfg.Workers)
	for i := range r.workers {
		r.workers[i] = r.newWorker()
	}
	// The pacer's own recorder: transactions that were due but never
	// handed to a worker because the run was given up.
	r.unstarted = NewRecorder(r.start)
	recs := []*Recorder{r.pw.rec, r.unstarted}
	for _, w := range r.workers {
		recs = append(recs, w.rec)
	}
	r.coll = NewCollector(r.start, recs...)

	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run()
			w.exited.Store(true)
		}()
	}
	paced := make(chan paceResult, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		res := r.pace(ctx)
		close(r.jobs)
		paced <- res
		r.pw.tail()
		r.pw.exited.Store(true)
	}()
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

	var pr paceResult
	pacerStuck := false
	select {
	case pr = <-paced:
	case <-r.hardStop:
		pacerStuck = true
		pr.stoppedAt = time.Since(r.start)
	}
	r.stopping.Store(true)
	select {
	case <-allDone:
	case <-r.hardStop:
	}
	<-watchDone
	close(tickStop)
	<-tickDone
	// Batches handed out and never taken by a worker (the workers were
	// aborted): due, never started.
	if !pacerStuck {
		r.drainUnstarted(&pr)
	}
	r.tick(time.Now(), true)

	// Only what finished may be read: a goroutine stuck in Begin still
	// owns its recorder.
	var merged []*Recorder
	var stuck int
	all := append([]*worker{r.pw}, r.workers...)
	for _, w := range all {
		if w.exited.Load() {
			merged = append(merged, w.rec)
		} else {
			stuck++
		}
	}
	if !pacerStuck {
		merged = append(merged, r.unstarted)
	}
	m := Merge(merged...)
	m.Start = r.start
	duration := scheduleLength(cfg.Pacer)
	if duration <= 0 || pr.stoppedAt < duration {
		duration = pr.stoppedAt
	}
	rep := NewReport(m, duration, 0)
	rep.Requests = int64(r.dispatched.Load()) + pr.unstarted
	rep.Series = r.series
	rep.Interval = cfg.StatusInterval
	var behind, missing, cancelled int64
	var maxLag time.Duration
	for _, w := range all {
		if !w.exited.Load() {
			continue
		}
		rep.Reversals.Sent += w.revSent
		rep.Reversals.Acked += w.revAcked
		rep.MaxInFlight = max(rep.MaxInFlight, int64(w.maxInFlight))
		behind += w.behind
		maxLag = max(maxLag, w.maxLag)
		missing += int64(w.out)
		cancelled += w.cancelled
	}
	var notes []string
	if end := scheduleLength(cfg.Pacer); end > 0 && pr.stoppedAt < end {
		notes = append(notes, fmt.Sprintf("run stopped at %s, before the end of the schedule (%s)", pr.stoppedAt.Round(time.Millisecond), end))
	}
	if n := gaveUpWith.Load(); n >= 0 {
		notes = append(notes, fmt.Sprintf("gave up %s after the schedule ended with %d transactions outstanding (links closed: link_failed; reversals in progress left pending)", cfg.Drain, n))
	}
	if behind > 0 {
		notes = append(notes, fmt.Sprintf("the load generator fell behind its schedule: %d transactions started more than %s after their intended time with an in-flight slot free (max lag %s); their latency still counts from the intended time",
			behind, cfg.BehindAfter, maxLag.Round(time.Microsecond)))
	}
	if n := cancelled + pr.unstarted; n > 0 {
		notes = append(notes, fmt.Sprintf("%d transactions were due but never started before the runner gave up (the in-flight limit was reached): counted not_sent, type %q", n, UnstartedTxType))
	}
	if missing > 0 {
		notes = append(notes, fmt.Sprintf("BUG: %d transactions were started and never completed by the target", missing))
	}
	if stuck > 0 {
		notes = append(notes, fmt.Sprintf("BUG: %d runner goroutines were still blocked in Begin of the target %s after the run was aborted; their transactions are missing from the counts", stuck, stuckWait))
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
// cancellation of ctx) it gives up, Grace later it aborts, stuckWait after
// that it stops Run from waiting at all.
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
		// On its own goroutine: a target whose CancelPending blocks must
		// not stop the watchdog from aborting.
		go c.CancelPending()
	}
	grace := time.NewTimer(cfg.Grace)
	defer grace.Stop()
	select {
	case <-grace.C:
	case <-allDone:
		return
	}
	close(r.abort)
	stuck := time.NewTimer(stuckWait)
	defer stuck.Stop()
	select {
	case <-stuck.C:
		close(r.hardStop)
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

// dueBefore is the number of hits of p due before offset t (a binary
// search: Due is monotonic).
func dueBefore(p Pacer, t time.Duration) uint64 {
	before := func(i uint64) bool { d, ok := p.Due(i); return ok && d < t }
	if !before(0) {
		return 0
	}
	hi := uint64(1)
	for before(hi) {
		if hi > 1<<52 {
			return hi
		}
		hi *= 2
	}
	lo := hi / 2 // before(lo), !before(hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if before(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// stopped reports whether the pacer must stop: ctx done or the run given
// up.
func (r *Runner) stopped(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-r.giveUp:
		return true
	default:
		return false
	}
}

// pace follows the schedule until it ends, ctx is done or the runner gives
// up. It returns the offset at which it stopped and how many transactions
// were due by then and never handed out (recorded not_sent).
func (r *Runner) pace(ctx context.Context) paceResult {
	p := r.cfg.Pacer
	var sl sleeper
	release := func() {}
	if r.cfg.GoTimers {
		sl = timerSleeper(r.start)
	} else {
		sl, release = newSleeper(r.start)
	}
	defer release()
	pw := r.pw
	var i uint64
	var stoppedAt, lastWake time.Duration
	gap := minWakeGap
	if r.cfg.GoTimers {
		gap = 0 // Go timers have their own ~1 ms granularity
	}
loop:
	for {
		due, ok := p.Due(i)
		if !ok {
			if end := scheduleLength(p); end > 0 {
				return paceResult{stoppedAt: end}
			}
			return paceResult{stoppedAt: time.Since(r.start)}
		}
		now := time.Since(r.start)
		if due > now {
			pw.drain()
			sl.sleepUntil(min(max(due, lastWake+gap), now+maxSleep))
			lastWake = time.Since(r.start)
			if r.stopped(ctx) {
				stoppedAt = time.Since(r.start)
				break loop
			}
			continue
		}
		// Everything due by now: the first inlineMax are started here,
		// the rest handed to the workers.
		j := i + 1
		for j-i < 64*maxBatch {
			d, ok := p.Due(j)
			if !ok || d > now {
				break
			}
			j++
		}
		inl := min(j, i+inlineMax)
		// The first ones are started here before the rest is handed out,
		// so that a terminal's transactions start in schedule order (its
		// STANs follow the sequence numbers) as far as one goroutine can
		// keep them.
		stopped := false
		for k := i; k < inl; k++ {
			r.dispatched.Add(1)
			if !pw.start(k) {
				pw.cancelRest(k+1, inl)
				r.dispatched.Add(inl - k - 1)
				stopped = true
				break
			}
		}
		if stopped {
			stoppedAt = time.Since(r.start)
			i = inl
			break loop
		}
		i = inl
		for b := inl; b < j; b += maxBatch {
			e := min(b+maxBatch, j)
			select {
			case r.jobs <- batch{b, e}:
				r.dispatched.Add(e - b)
			case <-ctx.Done():
				stoppedAt = time.Since(r.start)
				i = b
				break loop
			case <-r.giveUp:
				stoppedAt = time.Since(r.start)
				i = b
				break loop
			}
		}
		i = j
		if r.stopped(ctx) {
			stoppedAt = time.Since(r.start)
			break loop
		}
	}
	// Due by now and never handed out: the generator was held back by the
	// in-flight limit when the run stopped. Counted in one go: far over
	// saturation they can be millions.
	end := dueBefore(p, stoppedAt+1)
	var n int64
	if end > i {
		first, _ := p.Due(i)
		last, _ := p.Due(end - 1)
		n = int64(end - i)
		r.unstarted.recordUnstarted(n, first, last, stoppedAt, UnstartedTxType)
	}
	if end := scheduleLength(p); end > 0 && stoppedAt > end {
		stoppedAt = end
	}
	return paceResult{stoppedAt: stoppedAt, unstarted: n}
}

func (w *worker) run() {
	jobs := w.r.jobs
	// While the schedule runs, completions are not waited for: they are
	// drained when the worker wakes anyway (a batch from the pacer) or
	// every drainEvery. Waiting on w.done would wake the worker once per
	// completion — a futex wake and a context switch per transaction, the
	// largest cost of the runner below saturation. Completion times are
	// taken when Done is called, so draining later does not change them.
	tick := time.NewTicker(drainEvery)
	defer tick.Stop()
	for {
		select {
		case b, ok := <-jobs:
			w.drain()
			if !ok {
				w.tail()
				return
			}
			for i := b.from; i < b.to; i++ {
				if !w.start(i) {
					w.cancelRest(i+1, b.to)
					break
				}
			}
		case <-tick.C:
			w.drain()
		case <-w.wake:
			w.drain()
		case <-w.r.abort:
			// Batches not started yet are due transactions that never
			// got going: not sent. Whatever is still out is reported
			// missing; those Tx values stay with the target.
			w.drain()
			for {
				select {
				case b, ok := <-jobs:
					if !ok {
						return
					}
					w.cancelRest(b.from, b.to)
				default:
					return
				}
			}
		}
	}
}

// tail waits for the completions of what the worker started, until the
// runner aborts.
func (w *worker) tail() {
	for {
		w.drain()
		if w.out == 0 {
			return
		}
		select {
		case tx := <-w.done:
			w.record(tx)
		case <-w.wake:
		case <-w.r.abort:
			w.drain()
			return
		}
	}
}

// drainEvery bounds how long a completion waits in a worker's channel
// before it is recorded (the live window lags by at most this).
const drainEvery = 5 * time.Millisecond

// queue hands a completion to its worker without ever blocking: the
// channel, or the overflow list when the channel is full.
func (w *worker) queue(t *Tx) {
	select {
	case w.done <- t:
		return
	default:
	}
	w.ovMu.Lock()
	w.ov = append(w.ov, t)
	w.ovMu.Unlock()
	w.ovN.Add(1)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// drain records every completion waiting for the worker.
func (w *worker) drain() {
	for {
		select {
		case tx := <-w.done:
			w.record(tx)
			continue
		default:
		}
		break
	}
	if w.ovN.Load() > 0 {
		w.ovMu.Lock()
		ov := w.ov
		w.ov = nil
		w.ovN.Store(0)
		w.ovMu.Unlock()
		for _, tx := range ov {
			w.record(tx)
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
			case <-w.wake:
				w.drain()
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
	w.out++
	tx.state.Store(txInBegin)
	r.cfg.Target.Begin(tx)
	if !tx.state.CompareAndSwap(txInBegin, txOut) {
		// Completed during Begin: record it here, never through our own
		// queue. Another goroutine may still be writing the completion.
		for tx.state.Load() != txDoneInBegin {
			runtime.Gosched()
		}
		w.record(tx)
	}
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
		Cause:    string(c.Cause),
	})
	if c.Detail != "" && c.Cause != "" {
		// The example travels beside the Result, not in it: a Result is
		// kept within a cache line (TestResultSize).
		w.rec.Example(string(c.Cause), c.Detail)
	}
	w.revSent += int64(c.ReversalsSent)
	if c.ReversalAcked {
		w.revAcked++
	}
	w.out--
	tx.c = Completion{}
	tx.state.Store(txIdle)
	w.free = append(w.free, tx)
}

// ticker collects the per-interval windows: series, status line, HDR log,
// live metrics.
func (r *Runner) ticker(stop <-chan struct{}) {
	t := time.NewTicker(r.cfg.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			r.tick(now, false)
		}
	}
}

// tick collects one window; last is the final, partial one after the run.
func (r *Runner) tick(now time.Time, last bool) {
	w := r.coll.Collect(now)
	if last && w.Counts.Outcomes.Total() == 0 && w.Latency.TotalCount() == 0 && len(r.series) > 0 {
		return
	}
	if r.cfg.HDRLog != nil && w.Latency.TotalCount() > 0 {
		_ = r.cfg.HDRLog.WriteWindow(w)
	}
	inflight := r.InFlight()
	offered := int64(dueBefore(r.cfg.Pacer, w.To) - dueBefore(r.cfg.Pacer, w.From))
	r.series = append(r.series, newSeriesPoint(r.start, w, offered, inflight))
	if r.cfg.OnWindow != nil {
		r.cfg.OnWindow(w)
	}
	if r.cfg.Status != nil && !last {
		el := now.Sub(r.start)
		var rate float64
		if rp, ok := r.cfg.Pacer.(RatePacer); ok && !r.stopping.Load() {
			rate = rp.RateAt(el)
		}
		fmt.Fprintln(r.cfg.Status, FormatStatus(Status{
			Elapsed: el, Offered: rate, InFlight: inflight, Window: w, Totals: r.coll.Totals(),
		}))
	}
}
