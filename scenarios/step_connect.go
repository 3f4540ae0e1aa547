package scenarios

import (
	"context"
	"fmt"
	"strings"

	"github.com/possim/possim/terminal"
	"go.yaml.in/yaml/v3"
)

// ActConnect connects a terminal (one with connect: manual, or one whose
// link was lost).
const ActConnect Action = "connect"

// ConnectStep is a connect: step; its Terminal connects.
type ConnectStep struct{}

func init() {
	registerStep(&stepKind{name: ActConnect, rank: 4, keys: []string{"expect"},
		decode: func(c *stepDec) (StepSpec, error) {
			c.st.Terminal = c.termRef(c.act(), c.o.str(c.act(), ""))
			c.st.Tx.Kind = terminal.SignOn
			return &ConnectStep{}, nil
		},
		expect: func(d *dec, n, key *yaml.Node) (*StepExpect, error) {
			o, err := d.mapping(n, "expect", "connected", "why")
			if err != nil {
				return nil, err
			}
			e := &StepExpect{Pos: d.pos(key), Connected: o.optBool("connected"), Why: o.str("why", "")}
			return e, o.err
		}})
}

func (*ConnectStep) run(ctx context.Context, rn *runner, st *Step) {
	err := rn.connect(ctx, rn.terms[st.Terminal])
	if st.Expect != nil {
		rn.result(checkConnect(st, err))
	}
}

func (*ConnectStep) describe(st *Step) string { return "connect " + st.Terminal }

func checkConnect(st *Step, err error) Result {
	e := st.Expect
	r := Result{Pos: e.Pos, Step: st.Index, order: st.Index}
	var want []string
	var bad []string
	if e.Connected != nil {
		if *e.Connected {
			want = append(want, "connects")
		} else {
			want = append(want, "fails to connect")
		}
		if got := err == nil; got != *e.Connected {
			if err == nil {
				bad = append(bad, "it connected")
			} else {
				bad = append(bad, "it did not connect: "+err.Error())
			}
		}
	}
	if e.Why != "" {
		want = append(want, fmt.Sprintf("with %q", e.Why))
		if err == nil || !strings.Contains(err.Error(), e.Why) {
			got := "no error"
			if err != nil {
				got = err.Error()
			}
			bad = append(bad, fmt.Sprintf("the reason does not contain %q: %s", e.Why, got))
		}
	}
	r.Name = fmt.Sprintf("%s: %s %s", st.label(), st.Describe(), strings.Join(want, " "))
	r.OK = len(bad) == 0
	r.Evidence = strings.Join(bad, "; ")
	return r
}
