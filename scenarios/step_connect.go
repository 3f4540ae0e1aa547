package scenarios

import (
	"context"
	"fmt"
	"strings"

	"github.com/possim/possim/terminal"
)

// ActConnect connects a terminal (one with connect: manual, or one whose
// link was lost).
const ActConnect Action = "connect"

// ConnectStep is a connect: step; its Terminal connects.
type ConnectStep struct {
	Expect *ConnectExpect // nil: none
}

// ConnectExpect is what a connect step expects.
type ConnectExpect struct {
	Pos       string
	Connected *bool
	Why       string // the connect error contains this
}

func init() {
	registerStep(&stepKind{name: ActConnect, rank: 4, keys: []string{"expect"}, decode: decodeConnect})
}

func decodeConnect(c *stepDec) (StepSpec, error) {
	c.st.Terminal = c.termRef(c.act(), c.o.str(c.act(), ""))
	c.st.Tx.Kind = terminal.SignOn
	sp := &ConnectStep{}
	if c.o.err != nil || !c.o.has("expect") {
		return sp, nil
	}
	o, err := c.d.mapping(c.o.val("expect"), "expect", "connected", "why")
	if err != nil {
		return nil, err
	}
	sp.Expect = &ConnectExpect{Pos: c.d.pos(c.o.key("expect")), Connected: o.optBool("connected"), Why: o.str("why", "")}
	return sp, o.err
}

func (sp *ConnectStep) run(ctx context.Context, rn *runner, st *Step) {
	err := rn.connect(ctx, rn.terms[st.Terminal])
	if sp.Expect != nil {
		rn.result(sp.Expect.check(st, err))
	}
}

func (*ConnectStep) describe(st *Step) string { return "connect " + st.Terminal }

func (e *ConnectExpect) check(st *Step, err error) Result {
	r := Result{Pos: e.Pos, Step: st.Index, order: st.Index}
	var c checklist
	if e.Connected != nil {
		c.wants(yesNo(*e.Connected, "connects", "fails to connect"))
		if got := err == nil; got != *e.Connected {
			if err == nil {
				c.miss("it connected")
			} else {
				c.miss("it did not connect: %s", err.Error())
			}
		}
	}
	if e.Why != "" {
		c.wants(fmt.Sprintf("with %q", e.Why))
		if err == nil || !strings.Contains(err.Error(), e.Why) {
			got := "no error"
			if err != nil {
				got = err.Error()
			}
			c.miss("the reason does not contain %q: %s", e.Why, got)
		}
	}
	r.Name = fmt.Sprintf("%s: %s %s", st.label(), st.Describe(), strings.Join(c.want, " "))
	r.OK = len(c.bad) == 0
	r.Evidence = strings.Join(c.bad, "; ")
	return r
}
