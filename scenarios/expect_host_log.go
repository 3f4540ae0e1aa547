package scenarios

import (
	"fmt"
	"strings"
)

// ExHostLog expects the host's log to mention a text.
const ExHostLog ExpectKind = "host_log"

// HostLogExpectation is a host_log: expectation.
type HostLogExpectation struct {
	Text  string // a log line contains this
	Count *Count
}

func init() {
	registerExpect(&expectKind{name: ExHostLog, rank: 6, keys: []string{"count"}, decode: func(c *expectDec) (ExpectSpec, error) {
		x := &HostLogExpectation{Text: c.o.required(c.k)}
		x.Count = c.count(atLeastOnce)
		return x, nil
	}})
}

func (x *HostLogExpectation) subject() string { return " " + x.Text }

func (x *HostLogExpectation) check(v *view) Result {
	var hits []string
	for _, l := range v.rep.HostLog {
		if strings.Contains(l, x.Text) {
			hits = append(hits, l)
		}
	}
	ev := "matching lines: " + strings.Join(hits, " | ")
	if len(hits) == 0 {
		ev = "host log: " + strings.Join(tail(v.rep.HostLog, 8), " | ")
	}
	return v.counted(fmt.Sprintf("host log mentions %q %s time(s)", x.Text, x.Count), len(hits), *x.Count, ev)
}
