package scenarios

import (
	"context"
	"fmt"

	"github.com/possim/possim/host"
	"go.yaml.in/yaml/v3"
)

// ActSetRules changes the host's rules, or sets them back.
const ActSetRules Action = "set_rules"

// SetRulesStep is a set_rules: step.
type SetRulesStep struct {
	Rules *host.RuleSet // nil: back to the scenario's own
}

func init() {
	registerStep(&stepKind{name: ActSetRules, rank: 12, decode: func(c *stepDec) (StepSpec, error) {
		val := c.val()
		switch {
		case val != nil && val.Kind == yaml.ScalarNode && val.Value == "initial":
			return &SetRulesStep{}, nil
		case isNull(val) || val.Kind != yaml.MappingNode:
			c.o.fail(c.act(), "want the rules (rules:, default:) or \"initial\" to go back to the scenario's own")
			return &SetRulesStep{}, nil
		}
		rs, err := c.d.rulesFromNode(val, fmt.Sprintf("%s step %d rules", c.d.file, c.st.Index))
		return &SetRulesStep{Rules: rs}, err
	}})
}

func (sp *SetRulesStep) run(_ context.Context, rn *runner, _ *Step) {
	if sp.Rules == nil {
		rn.h.SetRules(rn.sc.Host.rulesInitial)
	} else {
		rn.h.SetRules(sp.Rules)
	}
}

func (sp *SetRulesStep) describe(*Step) string {
	if sp.Rules == nil {
		return "host rules back to the scenario's own"
	}
	return "host rules changed"
}
