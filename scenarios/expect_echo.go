package scenarios

import "time"

// ExEcho expects echo tests from a terminal.
const ExEcho ExpectKind = "echo"

// EchoExpectation is an echo: expectation.
type EchoExpectation struct {
	Of       string        // the terminal
	After    string        // only after this step started
	Idle     time.Duration // each echo after at least this long without traffic
	Answered *bool
	Count    *Count
}

func init() {
	registerExpect(&expectKind{name: ExEcho, rank: 3, keys: []string{"after", "count", "answered", "idle"}, decode: func(c *expectDec) (ExpectSpec, error) {
		x := &EchoExpectation{Of: c.terminal(c.o.str(c.k, "")), After: c.o.str("after", "")}
		c.stepRef("after", x.After)
		x.Count = c.count(atLeastOnce)
		x.Answered = c.o.optBool("answered")
		x.Idle = c.o.dur("idle", 0)
		return x, nil
	}})
}

func (x *EchoExpectation) subject() string { return ofSubject(x.Of) }

func (x *EchoExpectation) check(v *view) Result {
	return v.network(netExpect{of: x.Of, after: x.After, idle: x.Idle, answered: x.Answered, count: *x.Count, code: "301", what: "echo test"})
}
