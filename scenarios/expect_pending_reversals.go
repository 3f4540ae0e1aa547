package scenarios

import "fmt"

// ExPendingReversals expects how many reversals a terminal still holds in
// store-and-forward at the end.
const ExPendingReversals ExpectKind = "pending_reversals"

// PendingReversalsExpectation is a pending_reversals: expectation.
type PendingReversalsExpectation struct {
	Of    string // the terminal
	Count *Count // none by default
}

func init() {
	registerExpect(&expectKind{name: ExPendingReversals, rank: 12, keys: []string{"count"}, decode: func(c *expectDec) (ExpectSpec, error) {
		x := &PendingReversalsExpectation{Of: c.terminal(c.o.str(c.k, ""))}
		x.Count = c.count(Count{0, 0})
		return x, nil
	}})
}

func (x *PendingReversalsExpectation) subject() string { return ofSubject(x.Of) }

func (x *PendingReversalsExpectation) check(v *view) Result {
	n := v.rn.terms[x.Of].term.PendingReversals()
	return v.counted(fmt.Sprintf("%s holds %s reversal(s) in store-and-forward at the end", x.Of, x.Count), n, *x.Count,
		fmt.Sprintf("%d pending", n))
}
