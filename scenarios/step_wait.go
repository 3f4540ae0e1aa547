package scenarios

import (
	"context"
	"time"
)

// ActWait waits a while.
const ActWait Action = "wait"

// WaitStep is a wait: step.
type WaitStep struct {
	Duration time.Duration
}

func init() {
	registerStep(&stepKind{name: ActWait, rank: 5, decode: func(c *stepDec) (StepSpec, error) {
		sp := &WaitStep{Duration: c.o.dur(c.act(), 0)}
		if c.o.err == nil && sp.Duration == 0 {
			c.o.fail(c.act(), "want a positive duration (500ms)")
		}
		return sp, nil
	}})
}

func (sp *WaitStep) run(ctx context.Context, _ *runner, _ *Step) { sleepCtx(ctx, sp.Duration) }

func (sp *WaitStep) describe(*Step) string { return "wait " + sp.Duration.String() }
