package scenarios

import "context"

// ActAwait waits for the outcome of an earlier async send and checks its
// expect:.
const ActAwait Action = "await"

// AwaitStep is an await: step. Its Terminal and Tx are the awaited send's.
type AwaitStep struct {
	Step string // the id of the async send
}

func init() {
	registerStep(&stepKind{name: ActAwait, rank: 7, keys: []string{"expect"}, decode: decodeAwait})
}

func decodeAwait(c *stepDec) (StepSpec, error) {
	sp := &AwaitStep{Step: c.o.str(c.act(), "")}
	if c.o.err != nil {
		return sp, nil
	}
	ref := c.sc.stepIn(c.earlier, sp.Step)
	if ref == nil {
		c.o.fail(c.act(), "no earlier step with id %q", sp.Step)
		return sp, nil
	}
	if send, ok := ref.Spec.(*SendStep); !ok || !send.Async {
		c.o.fail(c.act(), "step %q is not async: its outcome is awaited when it runs", sp.Step)
		return sp, nil
	}
	c.st.Terminal = ref.Terminal
	c.st.Tx = ref.Tx
	return sp, c.outcomeExpect()
}

func (sp *AwaitStep) run(ctx context.Context, rn *runner, st *Step) {
	ref := rn.sc.step(sp.Step)
	rn.mu.Lock()
	p := rn.pending[ref.Index]
	rn.mu.Unlock()
	select {
	case <-p.done:
		if st.Expect != nil {
			rn.result(checkOutcome(st, st.Expect, &p.rec))
		}
	case <-ctx.Done():
	}
}

func (sp *AwaitStep) describe(*Step) string { return "await the outcome of step " + sp.Step }
