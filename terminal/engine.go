package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/outcome"
)

// The transaction engine: the one path every transaction takes — the
// one-shot terminal, `possim terminal run`, the scenarios and the fleet.
//
//	send ─▶ link ─▶ judge (POS checks) ─▶ approved / declined
//	                      │
//	                      ├─▶ reverse: 0400, 0401 repeats with backoff on the scheduler
//	                      │            └─▶ not acknowledged: store-and-forward
//	                      └─▶ link failed: store-and-forward
//
// A txn is one transaction in progress. The fleet embeds it in a pooled
// value and reuses its message (wire templates); a terminal allocates one.

// txn is one transaction in progress.
type txn struct {
	t *Terminal
	// perTx is the connection of this transaction alone (a fleet in
	// per-transaction mode): its reversal goes there too. nil: the
	// terminal's link.
	perTx *link.Link
	sp    *KindSpec
	req   *iso8583.Message
	o     Outcome
	rec   Record
	rev   ReversalResult
	start time.Time
	// sent and decided are the link's times: written, and answered (or
	// timed out, or failed).
	sent, decided time.Time
	died          bool
	// on is the link x was written on; inMark and framesMark where its
	// byte and frame counters stood then (watched: bytes are counted),
	// idleBefore how long the link had been idle (diagnose.go's probe).
	on                 *link.Link
	inMark, framesMark uint64
	watched            bool
	idleBefore         time.Duration
	// probing: an echo probe runs beside the reversal after a timeout;
	// joins counts what must end before the outcome does (the probe and
	// the transaction's own story), probeRes is what the probe saw, res
	// and base the timed-out result and the engine's finding for it.
	probing bool
	// byReversal: the first answer to the reversal probes the link.
	byReversal bool
	// partialN bytes (the first: partialHead) arrived between the request
	// and its timeout and made no frame.
	partialN    int
	partialHead []byte
	joins       atomic.Int32
	probeRes    *linkProbe
	res         link.Result
	base        diagnose.Finding
	// lean: no evidence strings on the way (the fleet at load).
	lean    bool
	backoff time.Duration
	finish  func(*txn)
	cb      func(link.Result)
	revCb   func(link.Result)
	retry   func()
}

func (x *txn) bind() {
	if x.cb == nil {
		x.cb, x.revCb, x.retry = x.onResult, x.onReversal, x.tryReversal
	}
}

// reset clears x for a new transaction, keeping its bound callbacks.
func (x *txn) reset(t *Terminal, sp *KindSpec) {
	x.t, x.sp, x.req, x.died, x.on = t, sp, nil, false, nil
	x.probing, x.byReversal, x.probeRes = false, false, nil
	x.partialN, x.partialHead = 0, nil
	x.sent, x.decided = time.Time{}, time.Time{}
	x.o = Outcome{Kind: string(sp.Kind), TID: t.cfg.TID}
	x.rec = Record{}
	x.rev = ReversalResult{}
	x.bind()
}

func (x *txn) evidence(at time.Time, what string) {
	if !x.lean {
		x.o.Evidence(x.start, at, what)
	}
}

// notSent ends x before anything was written.
func (x *txn) notSent(cause diagnose.ID, why string) {
	x.o.Class = outcome.NotSent
	x.o.Cause = diagnose.Finding{Cause: cause, Detail: why}
	x.end()
}

// send records x in the store (arming its reversal when the store is
// durable) and writes it on l.
func (x *txn) send(l *link.Link) {
	t := x.t
	x.start = time.Now()
	x.o.Req = x.req
	if t.store.Durable() {
		x.rec = Record{At: x.start, Kind: x.sp.Kind, TID: t.cfg.TID, STAN: x.o.STAN,
			PANMasked: iso.MaskPAN(str(x.req, 2)), OrigRRN: str(x.req, 37)}
		x.rec.Amount = amountOf(x.req)
		if x.sp.Reversible {
			x.rec.Orig = origOf(x.req).persistable()
			x.rec.RevMTI, x.rec.RevSTAN, x.rec.RevState = x.sp.ReversalMTI, t.NextSTAN(), RevArmed
		}
		if err := t.store.Begin(&x.rec); err != nil {
			x.notSent(diagnose.JournalUnwritable, err.Error())
			return
		}
	}
	// A die fault acts on the financial request it targets (not on the
	// sign-on before it): the terminal writes it and dies.
	died := x.sp.Reversible && t.cfg.Faults.Dies(x.req)
	x.died = died
	if !x.lean {
		x.mark(l)
	}
	t.touch()
	// After Send, x belongs to its callback (the fleet reuses it): only
	// locals from here on.
	l.Send(x.req, t.cfg.Timeout, x.cb)
	if died {
		l.AbortAfterWrite(errors.New("terminal died (fault die)"))
	}
}

func amountOf(m *iso8583.Message) int64 {
	var n int64
	for _, c := range str(m, 4) {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// fill copies what the answer says into the outcome.
func (x *txn) fill(resp *iso8583.Message) {
	x.o.Resp = resp
	x.o.RC = x.t.cfg.Dialect.RC(resp) // in the 1987 vocabulary whatever the edition
	x.o.RCMeaning = iso.RCMeaning(x.o.RC)
	x.o.RRN = str(resp, 37)
	if a := str(resp, 38); a != "" {
		x.o.AuthCode = strings.TrimSpace(a)
	}
}

// onResult is the link's answer to the request.
func (x *txn) onResult(r link.Result) {
	t := x.t
	x.sent, x.decided = r.Sent, r.Done
	x.o.Latency = r.Done.Sub(r.Sent)
	if r.Resp != nil {
		x.fill(r.Resp)
	}
	if !x.lean {
		x.evidence(r.Sent, "sent "+iso.Summary(x.req))
		if r.Resp != nil {
			x.evidence(r.Done, "received "+iso.Summary(r.Resp))
		} else if r.Err != nil {
			x.evidence(r.Done, r.Err.Error())
		}
	}
	if x.died {
		x.o.Class = outcome.LinkFailed
		x.o.Cause = diagnose.Finding{Cause: diagnose.TerminalDied, Detail: "terminal died after sending (fault die): no answer awaited, nothing reversed"}
		x.end()
		return
	}
	v := judge(t.cfg.Dialect, x.sp, x.req, r, t.cfg.Timeout)
	x.o.Class = v.class
	t.noteRTT(x.sp.Kind, r)
	if v.cause == diagnose.ResponseTimeout && r.Resp == nil && x.canProbe() {
		// The link is probed before the terminal gives up on it
		// (diagnose.go): by the reversal's first answer when there is a
		// reversal (it must not wait), otherwise by an echo test now.
		x.res, x.base = r, diagnose.Finding{Cause: v.cause, Detail: v.detail}
		x.timedOut()
		if v.act == actReverse {
			x.byReversal = true
		} else {
			x.startProbe()
		}
	}
	x.decide(r, v)
}

// decide names x's cause and acts on the verdict: keys, reversal,
// store-and-forward.
func (x *txn) decide(r link.Result, v verdict) {
	t := x.t
	if v.cause != "" {
		x.o.Cause.Cause, x.o.Cause.Detail = v.cause, v.detail
		if !x.lean { // the fleet at load keeps its allocation-free path
			x.o.Cause = t.refine(x.req, r, x.o.Cause, nil)
		}
	}
	if x.sp.Kind == SignOn && v.class == outcome.Approved {
		if err := t.installKeys(r.Resp); err != nil { // KCV mismatch...
			x.o.Class = outcome.Declined
			x.o.Cause.Cause, x.o.Cause.Detail = diagnose.KeysKCVMismatch, err.Error()
			x.end()
			return
		}
		t.mu.Lock()
		t.signedOn = true
		t.mu.Unlock()
	}
	switch v.act {
	case actNone:
		x.end()
	case actStore:
		x.startReversal()
		x.storeReversal("link failed before the answer; reversal stored for the next connection")
	case actReverse:
		x.startReversal()
		x.tryReversal()
	}
}

// startReversal gives x's reversal its STAN and what it copies.
func (x *txn) startReversal() {
	t := x.t
	if x.rec.Orig == nil {
		x.rec.Orig = origOf(x.req)
		x.rec.STAN, x.rec.TID, x.rec.Kind = x.o.STAN, t.cfg.TID, x.sp.Kind
		x.rec.RevMTI, x.rec.RevSTAN = x.sp.ReversalMTI, t.NextSTAN()
	}
	x.rev = ReversalResult{STAN: x.rec.RevSTAN}
	x.backoff = t.cfg.ReversalBackoff
}

// tryReversal sends the reversal (or a repeat).
func (x *txn) tryReversal() {
	t := x.t
	l := x.perTx
	if l == nil || l.Err() != nil {
		l = t.Link()
	}
	if l == nil || t.stopping.Load() {
		why := "no link for the reversal"
		if t.stopping.Load() {
			why = "the terminal is stopping"
		}
		x.storeReversal(why)
		return
	}
	rev, err := t.reversalFor(x.rec.Orig, x.rec.RevMTI, x.rec.RevSTAN, x.rev.Attempts > 0, time.Now())
	if err != nil {
		x.rev.Why = "cannot build reversal: " + err.Error()
		x.storeReversal(x.rev.Why)
		return
	}
	x.rev.Attempts++
	x.rec.RevAttempts = x.rev.Attempts
	l.Send(rev, t.cfg.Timeout, x.revCb)
}

func (x *txn) onReversal(r link.Result) {
	t := x.t
	if x.byReversal {
		x.byReversal = false
		x.reversalProbed(r)
	}
	if acknowledges(r) {
		x.rev.Acked = true
		x.evidence(r.Done, "reversal acknowledged: "+iso.Summary(r.Resp))
		x.rec.RevState = RevAcked
		_ = t.store.Acked(&x.rec)
		x.endReversal()
		return
	}
	var le *link.LinkError
	if errors.As(r.Err, &le) {
		x.storeReversal("link failed during the reversal: " + le.Error())
		return
	}
	if x.rev.Attempts >= t.cfg.ReversalAttempts {
		x.storeReversal(fmt.Sprintf("no 0410 after %d attempts", x.rev.Attempts))
		return
	}
	wait := x.backoff
	x.backoff *= 2
	if t.stopping.Load() || t.sched.Add(time.Now().Add(wait), x.retry) == nil {
		x.storeReversal("the terminal is stopping")
	}
}

// storeReversal leaves the reversal to store-and-forward.
func (x *txn) storeReversal(why string) {
	x.rev.Pending, x.rev.Why = true, why
	x.rec.RevState = RevDue
	if !x.lean { // the flush updates the story this outcome points to
		x.t.mu.Lock()
		if x.t.live == nil || len(x.t.live) > recentMax {
			x.t.live = map[string]*ReversalResult{}
		}
		x.t.live[x.rec.RevSTAN] = &x.rev
		x.t.mu.Unlock()
	}
	if err := x.t.store.Queue(&x.rec); err != nil {
		x.rev.Why += "; " + err.Error()
	}
	x.endReversal()
}

func (x *txn) endReversal() {
	x.o.Reversal = &x.rev
	if !x.lean && !x.probing && !x.rev.Acked && x.rev.Attempts > 0 && strings.HasPrefix(x.rev.Why, "no 0410 after") {
		x.o.Cause = x.t.refineUnanswered(x.req, x.o.Cause) // the reversals were the probes
	}
	if x.o.Class == outcome.TimedOutReversed { // a timeout's class tells the reversal's end
		x.o.Class = outcome.TimedOutReversed
		if !x.rev.Acked {
			x.o.Class = outcome.TimedOutReversalPending
		}
	}
	x.end()
}

// end records the outcome and hands x back (once the probe, if any, has
// ended too).
func (x *txn) end() {
	if x.probing && x.joins.Add(-1) != 0 {
		return // the probe's end ends x
	}
	x.applyProbe()
	x.record()
}

// record writes the outcome to the store and hands x back.
func (x *txn) record() {
	t := x.t
	if t.store.Durable() && x.rec.STAN != "" {
		x.rec.Class, x.rec.RC, x.rec.RRN, x.rec.AuthCode = x.o.Class.String(), x.o.RC, x.o.RRN, x.o.AuthCode
		x.rec.Cause, x.rec.Why, x.rec.Latency = x.o.Cause.Cause, x.o.Why(), x.o.Latency
		if x.rec.RevState == RevArmed && !x.died {
			x.rec.RevState = RevNone // answered and trusted: nothing to reverse
		}
		if err := t.store.Finish(&x.rec); err != nil {
			x.o.Notes = append(x.o.Notes, "journal: "+err.Error())
		}
	}
	x.finish(x)
}

// acknowledges: any 04x0 answer means the host has the reversal, even one
// whose other fields are odd.
func acknowledges(r link.Result) bool {
	if r.Resp == nil || untrusted(r.Err) { // a 0410 whose MAC fails proves nothing
		return false
	}
	mti, _ := r.Resp.GetMTI()
	return iso.Class(mti) == '4' && iso.IsResponse(mti)
}

// flushSAF sends the stored reversals (as repeats) one by one; those
// acknowledged leave the store.
func (t *Terminal) flushSAF() {
	t.mu.Lock()
	if t.flushing {
		t.mu.Unlock()
		return
	}
	t.flushing = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.flushing, t.inFlush = false, 0
		t.mu.Unlock()
	}()
	due, err := t.store.Due()
	if err != nil {
		t.cfg.Logger.Warn("store-and-forward: cannot read the queue", "why", err.Error())
		return
	}
	t.mu.Lock()
	t.inFlush = len(due)
	t.mu.Unlock()
	for _, rec := range due {
		l := t.Link()
		if l == nil || t.stopping.Load() {
			return
		}
		rev, err := t.reversalFor(rec.Orig, rec.RevMTI, rec.RevSTAN, true, time.Now())
		if err != nil {
			t.cfg.Logger.Warn("stored reversal cannot be built", "stan", rec.RevSTAN, "why", err.Error())
			continue
		}
		rec.RevAttempts++
		t.mu.Lock()
		if lr := t.live[rec.RevSTAN]; lr != nil {
			lr.Attempts++
		}
		t.mu.Unlock()
		r := l.Call(rev, t.cfg.Timeout)
		if acknowledges(r) {
			t.mu.Lock()
			if lr := t.live[rec.RevSTAN]; lr != nil {
				lr.Acked, lr.Pending = true, false
				lr.Why = "sent from store-and-forward after reconnect"
				delete(t.live, rec.RevSTAN)
			}
			t.mu.Unlock()
			rec.RevState = RevAcked
			_ = t.store.Acked(rec)
			t.cfg.Logger.Info("stored reversal acknowledged", "stan", rec.RevSTAN, "original", rec.STAN)
			if t.cfg.OnFlush != nil {
				t.cfg.OnFlush(rec)
			}
		}
		t.mu.Lock()
		t.inFlush--
		t.mu.Unlock()
	}
}

// redial calls dial until it succeeds, ctx ends or attempts (0: no limit)
// run out, waiting backoff between tries (doubling up to 5 s): the one
// reconnect-with-backoff of the terminal and the fleet.
func redial(ctx context.Context, attempts int, backoff time.Duration, dial func() error, onFail func(err error, wait time.Duration)) error {
	var last error
	for attempt := 1; attempts == 0 || attempt <= attempts; attempt++ {
		if last = dial(); last == nil {
			return nil
		}
		if attempts != 0 && attempt == attempts {
			break
		}
		if onFail != nil {
			onFail(last, backoff)
		}
		tm := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		case <-tm.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return last
}
