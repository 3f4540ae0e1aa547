package scenarios

import "fmt"

// ExEvent expects recorded events matching a selector.
const ExEvent ExpectKind = "event"

// EventExpectation is an event: expectation.
type EventExpectation struct {
	Event *Matcher
	Count *Count
}

func init() {
	registerExpect(&expectKind{name: ExEvent, rank: 5, keys: []string{"side", "mti", "stan_of", "contains", "count"}, decode: func(c *expectDec) (ExpectSpec, error) {
		m := &Matcher{Kind: EventKind(c.o.enum(c.k, "", eventKinds...))}
		c.d.matcherRest(c.o, c.sc, m, c.ids)
		x := &EventExpectation{Event: m, Count: m.Count}
		if x.Count == nil {
			x.Count = &Count{atLeastOnce.Min, atLeastOnce.Max}
		}
		return x, nil
	}})
}

func (x *EventExpectation) subject() string { return "" }

func (x *EventExpectation) check(v *view) Result {
	n := 0
	var seen []*Event
	for i := range v.events {
		if x.Event.matches(&v.events[i], v.stans) {
			n++
			seen = append(seen, &v.events[i])
		}
	}
	ev := "matching: " + v.list(seen, 6)
	if n == 0 {
		kind := v.filter(func(e *Event) bool { return e.Kind == x.Event.Kind })
		ev = fmt.Sprintf("no matching event; all %s events: %s", x.Event.Kind, v.list(kind, 6))
	}
	return v.counted(fmt.Sprintf("event %s, %s time(s)", x.Event.Describe(), x.Count), n, *x.Count, ev)
}
