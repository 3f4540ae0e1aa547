package scenarios

import "time"

// ExSignOn expects sign-ons from a terminal.
const ExSignOn ExpectKind = "sign_on"

// SignOnExpectation is a sign_on: expectation.
type SignOnExpectation struct {
	Of     string        // the terminal
	After  string        // only after this step started
	Within time.Duration // the first within this of the After step
	Count  *Count
}

func init() {
	registerExpect(&expectKind{name: ExSignOn, rank: 2, keys: []string{"after", "within", "count"}, decode: func(c *expectDec) (ExpectSpec, error) {
		x := &SignOnExpectation{Of: c.terminal(c.o.str(c.k, "")), After: c.o.str("after", "")}
		c.stepRef("after", x.After)
		x.Count = c.count(atLeastOnce)
		x.Within = c.o.dur("within", 0)
		if x.Within > 0 && x.After == "" && c.o.err == nil {
			c.o.fail("within", "within counts from the step named by after:")
		}
		return x, nil
	}})
}

func (x *SignOnExpectation) subject() string { return ofSubject(x.Of) }

func (x *SignOnExpectation) check(v *view) Result {
	return v.network(netExpect{of: x.Of, after: x.After, within: x.Within, count: *x.Count, code: "001", what: "sign-on"})
}
