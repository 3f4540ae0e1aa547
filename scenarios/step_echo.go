package scenarios

import (
	"context"

	"github.com/possim/possim/terminal"
)

// ActEcho sends an echo test (0800, NMIC 301) from a terminal.
const ActEcho Action = "echo"

// EchoStep is an echo: step; its Terminal sends the echo test.
type EchoStep struct{}

func init() {
	registerStep(&stepKind{name: ActEcho, rank: 3, keys: []string{"expect"}, decode: func(c *stepDec) (StepSpec, error) {
		c.st.Terminal = c.termRef(c.act(), c.o.str(c.act(), ""))
		c.st.Tx.Kind = terminal.Echo
		return &EchoStep{}, c.outcomeExpect()
	}})
}

func (*EchoStep) run(ctx context.Context, rn *runner, st *Step) { rn.runTx(ctx, st, "", false) }

func (*EchoStep) describe(st *Step) string { return "echo test from " + st.Terminal }
