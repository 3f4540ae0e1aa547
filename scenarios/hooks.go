package scenarios

import "context"

// Hooks let a live viewer (the trainer's studio) watch and pace a run.
// Every hook is optional; a nil *Hooks changes nothing.
type Hooks struct {
	// Gate is called before each step, before its "at" wait. It blocks
	// while the viewer holds the run (pause, single step, slow motion) and
	// returns false to stop it. With a Gate the scenario's own timeout does
	// not apply: a paused run may wait as long as the trainer talks; the
	// caller's ctx bounds it.
	Gate func(ctx context.Context, st *Step) bool
	// OnEvent sees every event as it is recorded (link events, faults,
	// steps, outcomes, log lines). It runs on link goroutines: it must not
	// block.
	OnEvent func(Event)
	// OnResult sees each step expectation as it is checked. End
	// expectations are in the Report.
	OnResult func(Result)
	// OnOutcome sees each transaction's outcome as it arrives.
	OnOutcome func(OutcomeRec)
}

func (h *Hooks) gate(ctx context.Context, st *Step) bool {
	if h == nil || h.Gate == nil {
		return true
	}
	return h.Gate(ctx, st)
}

func (h *Hooks) event(e Event) {
	if h != nil && h.OnEvent != nil {
		h.OnEvent(e)
	}
}

func (h *Hooks) result(r Result) {
	if h != nil && h.OnResult != nil {
		h.OnResult(r)
	}
}

func (h *Hooks) outcome(o OutcomeRec) {
	if h != nil && h.OnOutcome != nil {
		h.OnOutcome(o)
	}
}
