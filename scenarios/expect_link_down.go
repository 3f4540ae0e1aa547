package scenarios

import (
	"fmt"
	"strings"
)

// ExLinkDown expects a side's link to go down.
const ExLinkDown ExpectKind = "link_down"

// LinkDownExpectation is a link_down: expectation.
type LinkDownExpectation struct {
	Of    string // "host" or a terminal id
	Why   string // the reason contains this
	Count *Count
}

func init() {
	registerExpect(&expectKind{name: ExLinkDown, rank: 4, keys: []string{"why", "count"}, decode: func(c *expectDec) (ExpectSpec, error) {
		x := &LinkDownExpectation{Of: c.o.str(c.k, "")}
		if x.Of != "host" {
			x.Of = c.terminal(x.Of)
		}
		x.Why = c.o.str("why", "")
		x.Count = c.count(atLeastOnce)
		return x, nil
	}})
}

func (x *LinkDownExpectation) subject() string { return ofSubject(x.Of) }

func (x *LinkDownExpectation) check(v *view) Result {
	side := x.Of
	downs := v.filter(func(e *Event) bool {
		return e.Side == side && e.Kind == EvDown && strings.Contains(e.Detail, x.Why)
	})
	name := fmt.Sprintf("%s's link goes down %s time(s)", side, x.Count)
	if x.Why != "" {
		name += fmt.Sprintf(" with %q", x.Why)
	}
	all := v.filter(func(e *Event) bool { return e.Side == side && e.Kind == EvDown })
	return v.counted(name, len(downs), *x.Count, "link down events: "+v.list(all, 6))
}
