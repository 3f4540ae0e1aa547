package scenarios

import (
	"context"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// ActRotateKeys has the host change a terminal's working keys.
const ActRotateKeys Action = "rotate_keys"

// RotateKeysStep is a rotate_keys: step, for its Terminal.
type RotateKeysStep struct {
	Notify bool // tell the terminal (a host 0800 key change)
}

func init() {
	registerStep(&stepKind{name: ActRotateKeys, rank: 13, keys: []string{"notify", "expect"},
		decode: func(c *stepDec) (StepSpec, error) {
			c.st.Terminal = c.termRef(c.act(), c.o.str(c.act(), ""))
			sp := &RotateKeysStep{Notify: c.o.boolean("notify", true)}
			if c.o.err == nil && c.sc.Host.Keys == nil {
				c.o.fail(c.act(), "the host has no keys: (give the host keys: {tmk: test})")
			}
			return sp, nil
		},
		expect: func(d *dec, n, key *yaml.Node) (*StepExpect, error) {
			o, err := d.mapping(n, "expect", "confirmed")
			if err != nil {
				return nil, err
			}
			return &StepExpect{Pos: d.pos(key), Confirmed: o.optBool("confirmed")}, o.err
		}})
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
	e := st.Expect
	if e == nil || e.Confirmed == nil {
		return
	}
	r := Result{Name: fmt.Sprintf("%s: %s → %s", st.label(), st.Describe(), yesNo(*e.Confirmed, "confirmed", "not confirmed")),
		Pos: e.Pos, Step: st.Index, order: st.Index, OK: (err == nil) == *e.Confirmed}
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
