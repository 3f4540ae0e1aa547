package scenarios

import (
	"context"
	"fmt"
	"time"
)

// ActRestartHost restarts the host at once, or crashes it for a while.
const ActRestartHost Action = "restart_host"

// RestartHostStep is a restart_host: step.
type RestartHostStep struct {
	Down time.Duration // 0: the listener is back at once
}

func init() {
	registerStep(&stepKind{name: ActRestartHost, rank: 11, decode: func(c *stepDec) (StepSpec, error) {
		sp := &RestartHostStep{}
		if !isNull(c.val()) {
			sp.Down = c.o.dur(c.act(), 0)
		}
		return sp, nil
	}})
}

func (sp *RestartHostStep) run(_ context.Context, rn *runner, st *Step) {
	now := time.Now()
	var err error
	if sp.Down > 0 {
		err = rn.h.Crash(sp.Down)
	} else {
		err = rn.h.Restart()
	}
	rn.disruptAll(now)
	if err != nil {
		rn.stepFailed(st, err.Error())
	}
}

func (sp *RestartHostStep) describe(*Step) string {
	if sp.Down > 0 {
		return fmt.Sprintf("host crashes, down for %s", sp.Down)
	}
	return "host restarts (links drop, listener back at once)"
}
