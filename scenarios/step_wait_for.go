package scenarios

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ActWaitFor waits until a condition holds, for at most a while.
const ActWaitFor Action = "wait_for"

// WaitForStep is a wait_for: step. Conditions on a terminal are about the
// step's Terminal.
type WaitForStep struct {
	Cond   string        // link_up, link_down, signed_on, reversals_flushed, host_up, host_down, event
	Within time.Duration // at most this long
	Event  *Matcher      // Cond event: the event awaited
}

func init() {
	registerStep(&stepKind{name: ActWaitFor, rank: 6, keys: []string{"terminal", "within", "event"}, decode: decodeWaitFor})
}

// hostConds are the wait_for conditions about the host, not a terminal.
var hostConds = map[string]bool{"host_up": true, "host_down": true, "event": true}

func decodeWaitFor(c *stepDec) (StepSpec, error) {
	o := c.o
	sp := &WaitForStep{
		Cond:   o.enum(c.act(), "", "link_up", "link_down", "signed_on", "reversals_flushed", "host_up", "host_down", "event"),
		Within: o.dur("within", defaultWithin),
	}
	if !hostConds[sp.Cond] {
		c.st.Terminal = c.termRef("terminal", o.str("terminal", ""))
	} else if o.has("terminal") && o.err == nil {
		o.fail("terminal", "not used by wait_for %s", sp.Cond)
	}
	if sp.Cond != "event" {
		if o.has("event") && o.err == nil {
			o.fail("event", "only for wait_for: event")
		}
		return sp, nil
	}
	if !o.has("event") {
		return nil, c.d.errf(o.key(c.act()), "%s: wait_for event needs event: {kind: ..., side: ...}", c.what)
	}
	m, err := c.d.matcherMap(c.sc, o.val("event"), c.ids)
	sp.Event = m
	return sp, err
}

func (sp *WaitForStep) describe(st *Step) string {
	var what string
	switch sp.Cond {
	case "event":
		what = "event " + sp.Event.Describe()
	case "host_up", "host_down":
		what = strings.ReplaceAll(sp.Cond, "_", " ") // the host has no terminal to name
	default:
		what = strings.ReplaceAll(sp.Cond, "_", " ") + " on " + st.Terminal
	}
	return fmt.Sprintf("wait for %s (at most %s)", what, sp.Within)
}

func (sp *WaitForStep) run(ctx context.Context, rn *runner, st *Step) {
	deadline := time.Now().Add(sp.Within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ch := rn.rec.changed()
		ok, state := sp.holds(rn, st)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			rn.stepFailed(st, fmt.Sprintf("not within %s; %s", sp.Within, state))
			return
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// holds evaluates the condition; the second value describes the state for
// the evidence when it never becomes true.
func (sp *WaitForStep) holds(rn *runner, st *Step) (bool, string) {
	switch sp.Cond {
	case "host_up":
		return rn.h.Up(), "the host is not listening"
	case "host_down":
		return !rn.h.Up(), "the host is still listening"
	case "event":
		return sp.eventSeen(rn)
	}
	ts := rn.terms[st.Terminal]
	up := ts.term.Link() != nil
	switch sp.Cond {
	case "link_up":
		return up, st.Terminal + " has no link"
	case "link_down":
		return !up, st.Terminal + "'s link is still up"
	case "reversals_flushed":
		return reversalsFlushed(rn, ts, st.Terminal)
	case "signed_on":
		on, down := rn.rec.signOnState(st.Terminal)
		ok := up && on.After(down) && on.After(ts.disrupted())
		state := fmt.Sprintf("%s link up: %v; last sign-on answered: %s; last link down: %s",
			st.Terminal, up, rn.ago(on), rn.ago(down))
		return ok, state
	}
	return false, "unknown condition"
}

func (sp *WaitForStep) eventSeen(rn *runner) (bool, string) {
	rn.mu.Lock()
	stans := copyMap(rn.stans)
	rn.mu.Unlock()
	n := rn.rec.count(sp.Event, stans)
	want := 1
	if sp.Event.Count != nil {
		want = max(sp.Event.Count.Min, 1)
	}
	return n >= want, fmt.Sprintf("%d such events, want %d", n, want)
}

// reversalsFlushed: PendingReversals does not count the reversals a flush
// is sending, so also require a 0410 for every reversal an outcome
// reported stored.
func reversalsFlushed(rn *runner, ts *termState, id string) (bool, string) {
	n := ts.term.PendingReversals()
	open := rn.unackedStored(id)
	state := fmt.Sprintf("%s still holds %d reversal(s) in store-and-forward", id, max(n, len(open)))
	if len(open) > 0 {
		state += "; stored and never acknowledged: STAN " + strings.Join(open, ", ")
	}
	return n == 0 && len(open) == 0, state
}
