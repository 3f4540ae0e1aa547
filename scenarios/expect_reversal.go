package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/possim/possim/internal/iso"
)

// ExReversal expects the reversal of a financial send.
const ExReversal ExpectKind = "reversal"

// ReversalExpectation is a reversal: expectation.
type ReversalExpectation struct {
	Of      string        // the step whose transaction is reversed
	Within  time.Duration // the first reversal sent within this of the original
	Repeats *Count        // 0401/0421 repeats
	Acked   *bool         // a 0410 answered it
}

func init() {
	registerExpect(&expectKind{name: ExReversal, rank: 1, keys: []string{"within", "repeats", "acked"}, decode: decodeReversal})
}

func decodeReversal(c *expectDec) (ExpectSpec, error) {
	o := c.o
	x := &ReversalExpectation{Of: o.required(c.k)}
	c.stepRef(c.k, x.Of)
	if s := c.sc.step(x.Of); s != nil && o.err == nil && (s.Action != ActSend || !financialKinds[s.Tx.Kind]) {
		o.fail(c.k, "step %q is not a financial send (purchase, preauth, refund, void): nothing to reverse", x.Of)
	}
	x.Within = o.dur("within", 0)
	x.Repeats = o.count("repeats")
	x.Acked = o.optBool("acked")
	return x, nil
}

func (x *ReversalExpectation) subject() string { return ofSubject(x.Of) }

func (x *ReversalExpectation) wants() []string {
	var want []string
	if x.Within > 0 {
		want = append(want, "sent within "+x.Within.String())
	} else {
		want = append(want, "sent")
	}
	if x.Repeats != nil {
		want = append(want, fmt.Sprintf("repeated as 0401 %s time(s)", x.Repeats))
	}
	if x.Acked != nil {
		want = append(want, yesNo(*x.Acked, "acknowledged (0410)", "never acknowledged"))
	}
	return want
}

// reversalTrail is what the record holds of one transaction's reversal.
type reversalTrail struct {
	origAt  time.Time
	revs    []*Event // the 0400/0401 the terminal sent for it
	repeats int
	acks    []*Event // the answers to them
	atHost  int      // reversals of it the host received
}

// isReversalRequest: e is a 0400/0401 (0420/0421) sent by side.
func (e *Event) isReversalRequest(side string) bool {
	return e.Side == side && e.Kind == EvSent && iso.Class(e.MTI) == '4' && iso.IsRequest(e.MTI)
}

// isReversalAnswer: e is a 0410 (0430) received by side.
func (e *Event) isReversalAnswer(side string) bool {
	return e.Side == side && e.Kind == EvReceived && iso.Class(e.MTI) == '4' && iso.IsResponse(e.MTI)
}

// originalSent is when o's request left its terminal, by the record (the
// outcome's send time when the record lacks it).
func (v *view) originalSent(o *OutcomeRec) time.Time {
	for _, ev := range v.events {
		if ev.Side == o.Terminal && ev.Kind == EvSent && ev.STAN == o.STAN && isFinancialRequest(ev.MTI) {
			return ev.Time
		}
	}
	return o.SentAt
}

func (v *view) reversalTrail(o *OutcomeRec) reversalTrail {
	side := o.Terminal
	t := reversalTrail{origAt: v.originalSent(o)}
	t.revs = v.filter(func(x *Event) bool { return x.isReversalRequest(side) && x.OrigSTAN == o.STAN })
	revSTANs := map[string]bool{}
	for _, x := range t.revs {
		revSTANs[x.STAN] = true
		if x.MTI[3] == '1' {
			t.repeats++
		}
	}
	t.acks = v.filter(func(x *Event) bool { return x.isReversalAnswer(side) && revSTANs[x.STAN] })
	t.atHost = len(v.filter(func(x *Event) bool {
		return x.Side == "host" && x.Kind == EvReceived && iso.Class(x.MTI) == '4' && x.OrigSTAN == o.STAN && x.TID == o.TID
	}))
	return t
}

func (x *ReversalExpectation) check(v *view) Result {
	st := v.rn.sc.step(x.Of)
	want := x.wants()
	r := Result{Name: fmt.Sprintf("reversal of %s", st.label())}
	o := v.outcomeOf(x.Of)
	if o == nil || o.STAN == "" {
		r.Name += ": " + strings.Join(want, ", ")
		r.Evidence = "the step's transaction has no outcome or no STAN (it was never sent)"
		return r
	}
	r.Name = fmt.Sprintf("reversal of %s (%s STAN %s on %s): %s", st.label(), o.Kind, o.STAN, o.Terminal, strings.Join(want, ", "))
	side := o.Terminal
	t := v.reversalTrail(o)
	if len(t.revs) == 0 {
		sent := v.filter(func(x *Event) bool { return x.Side == side && x.Kind == EvSent })
		r.Evidence = fmt.Sprintf("no 0400/0401 naming STAN %s (field 90) was sent by %s; %s sent: %s; the outcome was: %s",
			o.STAN, side, side, v.list(sent, 10), outcomeText(o))
		return r
	}
	bad := x.misses(v, t)
	r.OK = len(bad) == 0
	if !r.OK {
		bad = append(bad, fmt.Sprintf("original sent at %s; %s sent %s; answers received: %s; reversals that reached the host: %d",
			v.at(t.origAt), side, v.list(t.revs, 8), v.list(t.acks, 4), t.atHost))
		r.Evidence = strings.Join(bad, "; ")
	}
	return r
}

// misses lists how the trail differs from what is expected.
func (x *ReversalExpectation) misses(v *view, t reversalTrail) []string {
	var bad []string
	first := t.revs[0]
	if x.Within > 0 && first.Time.Sub(t.origAt) > x.Within {
		bad = append(bad, fmt.Sprintf("the first reversal left %s after the original (at %s), later than %s",
			first.Time.Sub(t.origAt).Round(time.Millisecond), v.at(t.origAt), x.Within))
	}
	if x.Repeats != nil && !x.Repeats.Has(t.repeats) {
		bad = append(bad, fmt.Sprintf("%d repeat(s) (0401), want %s", t.repeats, x.Repeats))
	}
	if x.Acked != nil && (len(t.acks) > 0) != *x.Acked {
		if *x.Acked {
			bad = append(bad, "no 0410 answered it")
		} else {
			bad = append(bad, "a 0410 answered it at "+v.at(t.acks[0].Time))
		}
	}
	return bad
}
