package host

import (
	"regexp"
	"strings"
	"testing"
)

// Events are typed (EventLog) and printed as before (Events): the time of
// day to the millisecond, a space, the text.
func TestEventsTypedAndPrinted(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii})
	c := rawConn(t, h)
	waitFor(t, func() bool { return lastEvent(h, EventLink, "link up from") != "" })
	_ = c.Close()
	waitFor(t, func() bool { return lastEvent(h, EventLink, "down") != "" })
	log, printed := h.EventLog(), h.Events()
	if len(printed) < len(log) || len(log) < 2 {
		t.Fatalf("EventLog %v, Events %q", log, printed)
	}
	line := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d\d\d `)
	for i, e := range log {
		if e.Kind.String() != "link" || !line.MatchString(printed[i]) || !strings.HasSuffix(printed[i], " "+e.Text) {
			t.Errorf("event %d: %s %q printed %q", i, e.Kind, e.Text, printed[i])
		}
	}
	if EventKind(0).String() != "unknown" || EventNetwork.String() != "network" {
		t.Error("EventKind names")
	}
}
