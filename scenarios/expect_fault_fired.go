package scenarios

import (
	"fmt"
	"strings"
)

// ExFaultFired expects a fault rule (by name or type) to fire.
const ExFaultFired ExpectKind = "fault_fired"

// FaultFiredExpectation is a fault_fired: expectation.
type FaultFiredExpectation struct {
	Rule  string // the rule's label or the fault type
	Count *Count
}

func init() {
	registerExpect(&expectKind{name: ExFaultFired, rank: 7, keys: []string{"count"}, decode: func(c *expectDec) (ExpectSpec, error) {
		x := &FaultFiredExpectation{Rule: c.o.required(c.k)}
		x.Count = c.count(atLeastOnce)
		return x, nil
	}})
}

func (x *FaultFiredExpectation) subject() string { return " " + x.Rule }

func (x *FaultFiredExpectation) check(v *view) Result {
	fired := v.filter(func(e *Event) bool { return e.Kind == EvFault && (e.Rule == x.Rule || e.Type == x.Rule) })
	all := v.filter(func(e *Event) bool { return e.Kind == EvFault })
	var labels []string
	for _, f := range all {
		labels = append(labels, f.Rule)
	}
	return v.counted(fmt.Sprintf("fault %s fires %s time(s)", x.Rule, x.Count), len(fired), *x.Count,
		"faults that fired: "+strings.Join(uniq(labels), ", "))
}
