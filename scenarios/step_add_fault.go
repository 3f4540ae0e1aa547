package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/possim/possim/internal/fault"
	"go.yaml.in/yaml/v3"
)

// ActAddFault adds a fault rule to the host or a terminal.
const ActAddFault Action = "add_fault"

// AddFaultStep is an add_fault: step.
type AddFaultStep struct {
	On   string     // "host" or a terminal id
	Rule fault.Rule // the fault
}

func init() {
	registerStep(&stepKind{name: ActAddFault, rank: 8, keys: []string{"on"}, decode: decodeAddFault})
}

func decodeAddFault(c *stepDec) (StepSpec, error) {
	sp := &AddFaultStep{On: c.o.str("on", "host")}
	if sp.On != "host" {
		c.termRef("on", sp.On)
	}
	if c.o.err != nil {
		return nil, c.o.err
	}
	val := c.val()
	if val == nil || isNull(val) {
		return nil, c.d.errf(c.o.key(c.act()), "%s: want a fault: a mapping (type: drop, mti: \"0210\") or a spec string", c.what)
	}
	rules, err := c.d.faults(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{val}, Line: val.Line})
	if err != nil {
		return nil, err
	}
	sp.Rule = rules[0]
	if sp.Rule.Name != "" {
		c.faultNames[sp.Rule.Name] = true
	}
	return sp, nil
}

func (sp *AddFaultStep) run(_ context.Context, rn *runner, st *Step) {
	now := time.Now()
	rs := rn.hrs
	if sp.On != "host" {
		rs = rn.terms[sp.On].faults
	}
	if _, err := rs.Add(sp.Rule); err != nil {
		rn.stepFailed(st, err.Error())
	}
	rn.disruptAll(now)
}

func (sp *AddFaultStep) describe(*Step) string {
	return fmt.Sprintf("add fault %s on %s", sp.Rule.String(), sp.On)
}
