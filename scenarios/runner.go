package scenarios

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/outcome"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/terminal"
)

// Options change how a scenario runs.
type Options struct {
	// Seed replaces the scenario's seed when not 0.
	Seed uint64
	// ModifyHost and ModifyTerminal change a side's config just before it
	// is built: tests use them to break a behaviour on purpose and check
	// that the scenario then fails.
	ModifyHost     func(*host.Config)
	ModifyTerminal func(id string, cfg *terminal.Config)
	// Hooks watch and pace the run live (hooks.go); nil: none.
	Hooks *Hooks
}

// OutcomeRec is the outcome of one transaction a step started.
type OutcomeRec struct {
	Step      int                      `json:"step"`
	Terminal  string                   `json:"terminal"`
	TID       string                   `json:"tid"`
	Kind      terminal.Kind            `json:"kind"`
	Class     terminal.Class           `json:"class"`
	STAN      string                   `json:"stan,omitempty"`
	RC        string                   `json:"rc,omitempty"`
	RCMeaning string                   `json:"rc_meaning,omitempty"`
	Why       string                   `json:"why,omitempty"`
	Cause     diagnose.ID              `json:"cause,omitempty"`
	Latency   time.Duration            `json:"latency_ns"`
	Reversal  *terminal.ReversalResult `json:"reversal,omitempty"`
	// Diagnosis is the cause in the catalogue's words with its fix (nil
	// for a transaction that simply succeeded).
	Diagnosis *diagnose.FindingJSON `json:"diagnosis,omitempty"`
	SentAt    time.Time             `json:"-"`
	DoneAt    time.Time             `json:"-"`
	// Outcome is the engine's outcome, printed through internal/outcome.
	Outcome outcome.Outcome `json:"-"`
}

type termState struct {
	spec     *TerminalSpec
	term     *terminal.Terminal
	faults   *fault.RuleSet
	loop     bool // Run loop started
	disrupt  time.Time
	disruptM sync.Mutex
}

func (ts *termState) disrupted() time.Time {
	ts.disruptM.Lock()
	defer ts.disruptM.Unlock()
	return ts.disrupt
}

func (ts *termState) markDisrupted(t time.Time) {
	ts.disruptM.Lock()
	ts.disrupt = t
	ts.disruptM.Unlock()
}

type pendingOutcome struct {
	done chan struct{}
	rec  OutcomeRec
}

type runner struct {
	sc       *Scenario
	opts     Options
	seed     uint64
	rec      *recorder
	h        *host.Host
	hrs      *fault.RuleSet
	hostAddr string
	terms    map[string]*termState
	order    []*termState

	loopCtx    context.Context
	loopCancel context.CancelFunc
	loops      sync.WaitGroup

	mu       sync.Mutex
	results  []Result
	outcomes []OutcomeRec
	pending  map[int]*pendingOutcome // step index → async outcome
	stans    map[string]string       // step id → STAN
	rrns     map[string]string       // step id → RRN of its answer
	endAt    time.Time               // the steps and their outcomes are over: shutdown follows
	closed   bool                    // finish has begun writing the record
}

// Run plays sc and checks its expectations. It never returns an invalid
// report: a setup failure is reported as an unmet expectation.
func Run(ctx context.Context, sc *Scenario, opts Options) *Report {
	seed := sc.Seed
	if opts.Seed != 0 {
		seed = opts.Seed
	}
	start := time.Now()
	rn := &runner{sc: sc, opts: opts, seed: seed, rec: newRecorder(start), terms: map[string]*termState{},
		pending: map[int]*pendingOutcome{}, stans: map[string]string{}, rrns: map[string]string{}}
	rn.rec.hook = opts.Hooks.event
	rep := &Report{Scenario: sc.Name, Title: sc.Title, File: sc.File, Seed: seed, Start: start, sc: sc}
	cancel := func() {}
	if opts.Hooks == nil || opts.Hooks.Gate == nil {
		ctx, cancel = context.WithTimeout(ctx, sc.Timeout)
	}
	defer cancel()
	rn.loopCtx, rn.loopCancel = context.WithCancel(context.Background())
	defer rn.loopCancel()

	if err := rn.setup(ctx); err != nil {
		rn.result(Result{Name: "set up the host and terminals", Pos: sc.File, Evidence: err.Error()})
	} else {
		rn.play(ctx)
	}
	rn.finish()
	rep.Duration = time.Since(start)
	rep.Events = rn.rec.snapshot()
	rep.Outcomes = rn.outcomes
	if rn.h != nil {
		rep.HostAddr = rn.hostAddr
		rep.Ledger = rn.h.Ledger().Counts()
		rep.HostLog = rn.h.Events()
		rep.ledger = rn.h.Ledger()
		rn.checkEnd(rep)
	}
	rep.Results = rn.results
	rep.Passed = rep.OK()
	rep.Decisions = decisions(rep.Events)
	return rep
}

func (rn *runner) result(r Result) {
	rn.mu.Lock()
	rn.results = append(rn.results, r)
	rn.mu.Unlock()
	rn.opts.Hooks.result(r)
}

func derivedSeed(seed uint64, i int) uint64 {
	s := seed + uint64(i)*0x9E3779B97F4A7C15
	if s == 0 {
		s = 1
	}
	return s
}

func (rn *runner) setup(ctx context.Context) error {
	sc := rn.sc
	hd, hm, err := buildDialect(sc.Host.Dialect)
	if err != nil {
		return err
	}
	rn.hrs, err = fault.New(sc.Host.Faults, fault.Options{Seed: rn.seed, Dialect: hd, OnFire: rn.rec.onFire("host")})
	if err != nil {
		return fmt.Errorf("host faults: %w", err)
	}
	hc := host.Config{
		Listen: "127.0.0.1:0", Dialect: hd, Match: hm, Rules: sc.Host.rulesInitial, Faults: rn.hrs,
		IdleTimeout: sc.Host.IdleTimeout,
		Observer:    func(_ *link.Link, e link.Event) { rn.rec.linkEvent("host", e) },
		Logger:      slog.New(&logHandler{r: rn.rec, side: "host"}),
	}
	if k := sc.Host.Keys; k != nil {
		// Working keys come from the seed, so a run shows the same check
		// values each time.
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], rn.seed)
		hc.Security = &host.Security{TMK: k.TMK, Alg: k.Alg, Pad: k.Pad, FailRC: k.FailRC, MACNetwork: k.MACNetwork,
			KeyChangeTimeout: k.KeyChangeTimeout, Rand: rand.NewChaCha8(seed)}
	}
	if rn.opts.ModifyHost != nil {
		rn.opts.ModifyHost(&hc)
	}
	h, err := host.New(hc)
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	if err := h.Start(); err != nil {
		return err
	}
	rn.h = h
	rn.hostAddr = h.Addr().String()
	for i := range sc.Terminals {
		ts := &sc.Terminals[i]
		td, tm, err := buildDialect(ts.Dialect)
		if err != nil {
			return fmt.Errorf("terminal %s: %w", ts.ID, err)
		}
		rs, err := fault.New(ts.Faults, fault.Options{Seed: derivedSeed(rn.seed, i+1), Dialect: td, OnFire: rn.rec.onFire(ts.ID)})
		if err != nil {
			return fmt.Errorf("terminal %s faults: %w", ts.ID, err)
		}
		id := ts.ID
		tc := terminal.Config{
			Target: rn.hostAddr, Dialect: td, Match: tm, TID: ts.TID, Timeout: ts.Timeout,
			ConnectTimeout: ts.ConnectTimeout, ConnectAttempts: ts.ConnectAttempts, ReconnectBackoff: ts.ReconnectBackoff,
			SignOnAtConnect: ts.SignOn, EchoIdle: ts.EchoIdle, ReversalAttempts: ts.ReversalAttempts,
			ReversalBackoff: ts.ReversalBackoff, Faults: rs,
			Observer: func(e link.Event) { rn.rec.linkEvent(id, e) },
			Logger:   slog.New(&logHandler{r: rn.rec, side: id}),
		}
		if k := ts.Keys; k != nil {
			tc.Security = &terminal.Security{TMK: k.TMK, Alg: k.Alg, Pad: k.Pad, MACNetwork: k.MACNetwork}
		}
		if rn.opts.ModifyTerminal != nil {
			rn.opts.ModifyTerminal(id, &tc)
		}
		t, err := terminal.New(tc)
		if err != nil {
			return fmt.Errorf("terminal %s: %w", id, err)
		}
		st := &termState{spec: ts, term: t, faults: rs}
		rn.terms[id] = st
		rn.order = append(rn.order, st)
	}
	for _, ts := range rn.order {
		if ts.spec.Connect == "start" {
			rn.connect(ctx, ts)
		}
	}
	return nil
}

// connect connects a terminal and starts its loop when it keeps connected.
func (rn *runner) connect(ctx context.Context, ts *termState) error {
	err := ts.term.Connect(ctx)
	d := "connected"
	if ts.spec.SignOn {
		d += " and signed on"
	}
	if err != nil {
		d = "connect failed: " + err.Error()
	}
	rn.rec.add(Event{Side: ts.spec.ID, Kind: EvConnect, Detail: d})
	if ts.spec.KeepConnected && !ts.loop {
		ts.loop = true
		rn.loops.Add(1)
		go func() {
			defer rn.loops.Done()
			ts.term.Run(rn.loopCtx)
		}()
	}
	return err
}

func (rn *runner) play(ctx context.Context) {
	for i := range rn.sc.Steps {
		st := &rn.sc.Steps[i]
		if !rn.opts.Hooks.gate(ctx, st) {
			break
		}
		if st.At > 0 {
			if !sleepCtx(ctx, time.Until(rn.rec.start.Add(st.At))) {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		rn.rec.add(timelineEvent(st))
		rn.do(ctx, st)
	}
	if err := ctx.Err(); err != nil {
		why := "cancelled"
		if errors.Is(err, context.DeadlineExceeded) {
			why = fmt.Sprintf("the scenario did not finish within its timeout of %s", rn.sc.Timeout)
		}
		rn.result(Result{Name: "scenario runs to its end", Pos: rn.sc.File, Evidence: why})
	}
}

// timelineEvent is the event that marks a step on the timeline: the step
// described, or what its kind puts there instead (a note's text).
func timelineEvent(st *Step) Event {
	if t, ok := st.Spec.(interface{ timeline(*Step) Event }); ok {
		return t.timeline(st)
	}
	return Event{Kind: EvStep, Step: st.Index, Detail: st.Describe()}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// do plays one step, by its kind.
func (rn *runner) do(ctx context.Context, st *Step) {
	if st.Spec == nil { // built by hand, not by Load
		rn.stepFailed(st, "unknown step")
		return
	}
	st.Spec.run(ctx, rn, st)
}

// runTx starts the step's transaction (on its terminal) and, unless
// async, waits for its outcome.
func (rn *runner) runTx(ctx context.Context, st *Step, rrnOf string, async bool) {
	p := rn.begin(st, rn.terms[st.Terminal], rrnOf)
	if async {
		return
	}
	select {
	case <-p.done:
	case <-ctx.Done():
	}
}

// stepFailed records that a step could not do what it says.
func (rn *runner) stepFailed(st *Step, evidence string) {
	rn.result(Result{Name: st.label() + ": " + st.Describe(), Pos: st.Pos, Step: st.Index, Evidence: evidence})
}

func (rn *runner) disruptAll(t time.Time) {
	for _, ts := range rn.order {
		ts.markDisrupted(t)
	}
}

// begin starts the step's transaction; its outcome is recorded and checked
// when it arrives.
func (rn *runner) begin(st *Step, ts *termState, rrnOf string) *pendingOutcome {
	p := &pendingOutcome{done: make(chan struct{})}
	rn.mu.Lock()
	rn.pending[st.Index] = p
	rn.mu.Unlock()
	sent := time.Now()
	tx := st.Tx
	if rrnOf != "" {
		rn.mu.Lock()
		tx.OrigRRN = rn.rrns[rrnOf]
		rn.mu.Unlock()
	}
	ts.term.Begin(tx, func(o terminal.Outcome) {
		rec := OutcomeRec{Step: st.Index, Terminal: ts.spec.ID, TID: ts.spec.TID, Kind: terminal.Kind(o.Kind), Class: o.Class, STAN: o.STAN,
			RC: o.RC, RCMeaning: o.RCMeaning, Why: o.Why(), Cause: o.Cause.Cause, Latency: o.Latency, SentAt: sent, DoneAt: time.Now()}
		if o.Reversal != nil {
			rv := *o.Reversal
			rec.Reversal = &rv
		}
		rec.Outcome = o
		rec.Outcome.Reversal = rec.Reversal
		rec.Diagnosis = diagnosisOf(&rec)
		// A stored reversal's result is updated later by the terminal's
		// store-and-forward flush, under the terminal's lock: taking the
		// lock here orders this copy before that update.
		_ = ts.term.PendingReversals()
		rn.mu.Lock()
		if rn.closed { // too late: the report is being written
			rn.mu.Unlock()
			return
		}
		rn.rec.add(Event{Time: rec.DoneAt, Side: ts.spec.ID, Kind: EvOutcome, Step: st.Index, STAN: o.STAN, RC: o.RC,
			Detail: outcomeText(&rec)})
		p.rec = rec
		rn.outcomes = append(rn.outcomes, rec)
		rn.opts.Hooks.outcome(rec)
		if st.ID != "" && o.STAN != "" {
			rn.stans[st.ID] = o.STAN
		}
		if st.ID != "" && o.RRN != "" {
			rn.rrns[st.ID] = o.RRN
		}
		if st.Expect != nil {
			r := checkOutcome(st, st.Expect, &rec)
			rn.results = append(rn.results, r)
			rn.opts.Hooks.result(r)
		}
		close(p.done)
		rn.mu.Unlock()
	})
	return p
}

// outcomeText is the outcome on one line, by the one formatter.
func outcomeText(o *OutcomeRec) string {
	oc := o.Outcome
	if oc.Kind == "" { // built by hand (tests): from the record's fields
		oc = outcome.Outcome{Kind: string(o.Kind), Class: o.Class, STAN: o.STAN, RC: o.RC, RCMeaning: o.RCMeaning,
			Latency: o.Latency, Cause: diagnose.Finding{Cause: o.Cause, Detail: o.Why}, Reversal: o.Reversal}
	}
	return outcome.Line(&oc)
}

func (rn *runner) ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("+%.3fs", t.Sub(rn.rec.start).Seconds())
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// finish stops the loops, waits for outstanding outcomes and closes both
// sides, so that the record is complete and nothing runs when the end
// expectations are checked.
func (rn *runner) finish() {
	rn.loopCancel()
	rn.loops.Wait()
	// Outstanding async outcomes: the link answers every request, so they
	// come; wait a bounded time anyway.
	limit := time.After(10 * time.Second)
	rn.mu.Lock()
	var waits []*pendingOutcome
	var idx []int
	for i, p := range rn.pending {
		waits = append(waits, p)
		idx = append(idx, i)
	}
	rn.mu.Unlock()
	for k, p := range waits {
		select {
		case <-p.done:
		case <-limit:
			st := &rn.sc.Steps[idx[k]-1]
			rn.result(Result{Name: st.label() + ": " + st.Describe(), Pos: st.Pos, Step: st.Index, Evidence: "no outcome within 10s of the last step"})
		}
	}
	rn.mu.Lock()
	rn.closed = true // outcomes that come now are not recorded
	rn.mu.Unlock()
	rn.endAt = time.Now()
	rn.rec.add(Event{Time: rn.endAt, Kind: EvNote, Detail: "end of the steps: the terminals and the host shut down (what follows is not checked)"})
	for _, ts := range rn.order {
		ts.term.Close()
	}
	if rn.h != nil {
		rn.h.Close()
	}
	rn.settle()
}

// settle waits until no event has arrived for a moment: a link reports a
// message sent only after it queued it, from the sender's goroutine, which
// may run after the answer came back. The event carries its own time, so a
// late report still lands in the right place of the timeline.
func (rn *runner) settle() {
	deadline := time.After(500 * time.Millisecond)
	for {
		ch := rn.rec.changed()
		select {
		case <-ch:
		case <-time.After(30 * time.Millisecond):
			return
		case <-deadline:
			return
		}
	}
}

// unackedStored lists the reversal STANs of terminal id's outcomes that
// were stored for later and have no 0410 yet.
func (rn *runner) unackedStored(id string) []string {
	rn.mu.Lock()
	var stored []string
	for _, o := range rn.outcomes {
		if o.Terminal == id && o.Reversal != nil && o.Reversal.Pending {
			stored = append(stored, o.Reversal.STAN)
		}
	}
	rn.mu.Unlock()
	if len(stored) == 0 {
		return nil
	}
	acked := map[string]bool{}
	for _, e := range rn.rec.snapshot() {
		if e.Side == id && e.Kind == EvReceived && (e.MTI == "0410" || e.MTI == "0430") {
			acked[e.STAN] = true
		}
	}
	var open []string
	for _, s := range stored {
		if !acked[s] {
			open = append(open, s)
		}
	}
	return open
}
