package scenarios

import (
	"context"

	"github.com/possim/possim/terminal"
)

// ActSignOn sends a sign-on (0800, NMIC 001) from a terminal.
const ActSignOn Action = "sign_on"

// SignOnStep is a sign_on: step; its Terminal signs on.
type SignOnStep struct{}

func init() {
	registerStep(&stepKind{name: ActSignOn, rank: 2, keys: []string{"expect"}, decode: func(c *stepDec) (StepSpec, error) {
		c.st.Terminal = c.termRef(c.act(), c.o.str(c.act(), ""))
		c.st.Tx.Kind = terminal.SignOn
		return &SignOnStep{}, c.outcomeExpect()
	}})
}

func (*SignOnStep) run(ctx context.Context, rn *runner, st *Step) { rn.runTx(ctx, st, "", false) }

func (*SignOnStep) describe(st *Step) string { return "sign on " + st.Terminal }
