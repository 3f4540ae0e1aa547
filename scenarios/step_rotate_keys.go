package scenarios

import (
	"context"
	"fmt"
	"time"
)

// ActRotateKeys has the host change a terminal's working keys.
const ActRotateKeys Action = "rotate_keys"

// RotateKeysStep is a rotate_keys: step, for its Terminal.
type RotateKeysStep struct {
	Notify bool // tell the terminal (a host 0800 key change)
	// Confirmed: expect the terminal to confirm the change (or not); nil:
	// no expectation. ExpectPos is where it was written.
	Confirmed *bool
	ExpectPos string
}

func init() {
	registerStep(&stepKind{name: ActRotateKeys, rank: 13, keys: []string{"notify", "expect"}, decode: decodeRotateKeys})
}

func decodeRotateKeys(c *stepDec) (StepSpec, error) {
	c.st.Terminal = c.termRef(c.act(), c.o.str(c.act(), ""))
	sp := &RotateKeysStep{Notify: c.o.boolean("notify", true)}
	if c.o.err == nil && c.sc.Host.Keys == nil {
		c.o.fail(c.act(), "the host has no keys: (give the host keys: {tmk: test})")
	}
	if c.o.err != nil || !c.o.has("expect") {
		return sp, nil
	}
	o, err := c.d.mapping(c.o.val("expect"), "expect", "confirmed")
	if err != nil {
		return nil, err
	}
	sp.Confirmed, sp.ExpectPos = o.optBool("confirmed"), c.d.pos(c.o.key("expect"))
	return sp, o.err
}

func (sp *RotateKeysStep) run(_ context.Context, rn *runner, st *Step) {
	now := time.Now()
	ts := rn.terms[st.Terminal]
	info, err := rn.h.RotateKeys(ts.spec.TID, sp.Notify)
	d := fmt.Sprintf("working keys of %s changed: %s", st.Terminal, info)
	if err != nil {
		d = fmt.Sprintf("key change for %s: %v", st.Terminal, err)
	}
	rn.rec.add(Event{Side: "host", Kind: EvLog, Detail: d})
	ts.markDisrupted(now)
	if sp.Confirmed == nil {
		return
	}
	r := Result{Name: fmt.Sprintf("%s: %s → %s", st.label(), st.Describe(), yesNo(*sp.Confirmed, "confirmed", "not confirmed")),
		Pos: sp.ExpectPos, Step: st.Index, order: st.Index, OK: (err == nil) == *sp.Confirmed}
	if !r.OK {
		r.Evidence = d
		if err == nil {
			r.Evidence = "the terminal confirmed it: " + d
		}
	}
	rn.result(r)
}

func (sp *RotateKeysStep) describe(st *Step) string {
	if sp.Notify {
		return "the host changes the working keys of " + st.Terminal + " (0800 key change)"
	}
	return "the host changes the working keys of " + st.Terminal + " without telling it"
}
