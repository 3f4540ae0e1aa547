package testkit

import (
	"strings"
	"testing"
	"time"
)

// Loopback is the listen address every test server uses: loopback only,
// a port the kernel picks, so parallel packages never collide.
const Loopback = "127.0.0.1:0"

// Wait bounds anything a test waits for; a failure reports it rather than
// hanging the package until go test's own timeout.
const Wait = 5 * time.Second

// Server is what Serve starts: host.Host, and anything else with the same
// start/close life cycle.
type Server interface {
	Start() error
	Close() error
}

// Serve checks the error of the constructor that made s, starts s (which
// listens by the time Start returns) and closes it when the test ends.
//
//	h, err := host.New(cfg)
//	h = testkit.Serve(t, h, err)
func Serve[S Server](t testing.TB, s S, err error) S {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// WaitFor polls cond until it holds, failing the test after Wait. Use it
// only for state with no event to wait on (a ledger count, an event list);
// prefer a channel when the code under test offers one.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", Wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Last returns the last line that contains substr, or "" — for lists of
// lines, newest last.
func Last(lines []string, substr string) string {
	l, _ := LastOf(lines, func(l string) bool { return strings.Contains(l, substr) })
	return l
}

// LastOf returns the last element of list that match accepts — for event
// lists such as host.Host.EventLog, newest last.
func LastOf[E any](list []E, match func(E) bool) (E, bool) {
	for i := len(list) - 1; i >= 0; i-- {
		if match(list[i]) {
			return list[i], true
		}
	}
	var zero E
	return zero, false
}
