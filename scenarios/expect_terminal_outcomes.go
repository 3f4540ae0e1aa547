package scenarios

import (
	"fmt"
	"strings"
)

// ExTerminalOutcomes expects counts of the outcomes at the terminals.
const ExTerminalOutcomes ExpectKind = "terminal_outcomes"

// TerminalOutcomesExpectation is a terminal_outcomes: expectation.
type TerminalOutcomesExpectation struct {
	Terminal string            // "": all the terminals
	Counts   map[string]*Count // by outcome class
}

func init() {
	registerExpect(&expectKind{name: ExTerminalOutcomes, rank: 9, keys: []string{"terminal"}, decode: func(c *expectDec) (ExpectSpec, error) {
		x := &TerminalOutcomesExpectation{Terminal: c.o.str("terminal", "")}
		if x.Terminal != "" {
			c.terminal(x.Terminal)
		}
		var err error
		x.Counts, err = c.counts(classes)
		return x, err
	}})
}

func (x *TerminalOutcomesExpectation) subject() string { return countsSubject(x.Counts) }

func (x *TerminalOutcomesExpectation) check(v *view) Result {
	counts := map[string]int{}
	for _, o := range v.rn.outcomes {
		if x.Terminal == "" || o.Terminal == x.Terminal {
			counts[o.Class.String()]++
		}
	}
	var want, bad []string
	for _, k := range classes {
		c, ok := x.Counts[k]
		if !ok {
			continue
		}
		want = append(want, fmt.Sprintf("%s %s", k, c))
		if !c.Has(counts[k]) {
			bad = append(bad, fmt.Sprintf("%s: %d, want %s", k, counts[k], c))
		}
	}
	who := "the terminals"
	if x.Terminal != "" {
		who = x.Terminal
	}
	r := Result{Name: fmt.Sprintf("outcomes at %s: %s", who, strings.Join(want, ", ")), OK: len(bad) == 0}
	if !r.OK {
		var all []string
		for _, k := range classes {
			if counts[k] > 0 {
				all = append(all, fmt.Sprintf("%s %d", k, counts[k]))
			}
		}
		r.Evidence = strings.Join(bad, "; ") + "; all outcomes: " + strings.Join(all, ", ")
	}
	return r
}
