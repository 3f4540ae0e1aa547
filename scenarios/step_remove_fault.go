package scenarios

import (
	"context"
	"fmt"
	"strings"

	"github.com/possim/possim/internal/fault"
)

// ActRemoveFault removes the fault rules of a name, wherever they are.
const ActRemoveFault Action = "remove_fault"

// RemoveFaultStep is a remove_fault: step.
type RemoveFaultStep struct {
	Name string // the fault's name
}

func init() {
	registerStep(&stepKind{name: ActRemoveFault, rank: 9, decode: func(c *stepDec) (StepSpec, error) {
		sp := &RemoveFaultStep{Name: c.o.str(c.act(), "")}
		if c.o.err == nil && !c.faultNames[sp.Name] {
			known := sortedKeys(c.faultNames)
			c.o.fail(c.act(), "no fault named %q in the config or an earlier add_fault (named faults: %s)", sp.Name, strings.Join(known, ", "))
		}
		return sp, nil
	}})
}

func (sp *RemoveFaultStep) run(_ context.Context, rn *runner, st *Step) {
	n := 0
	sets := []*fault.RuleSet{rn.hrs}
	for _, ts := range rn.order {
		sets = append(sets, ts.faults)
	}
	for _, rs := range sets {
		for _, r := range rs.Rules() {
			if r.Name == sp.Name && rs.Remove(r.ID) {
				n++
			}
		}
	}
	if n == 0 {
		rn.stepFailed(st, fmt.Sprintf("no active fault named %q to remove", sp.Name))
	}
}

func (sp *RemoveFaultStep) describe(*Step) string { return "remove fault " + sp.Name }
