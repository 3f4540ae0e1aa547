package testkit

import "go.uber.org/goleak"

// The goroutines VerifyMain may be told to ignore, each for a stated reason.
var (
	// IgnoreLinkPool: the link package's shared worker pool lives for the
	// process by design; VerifyMain always ignores it.
	IgnoreLinkPool = goleak.IgnoreTopFunction("github.com/possim/possim/internal/link.NewPool.func1")
	// IgnoreMoovReader: moov-io/iso8583-connection's reader goroutine can
	// still be in a poll wait just after Close (interop tests only).
	IgnoreMoovReader = goleak.IgnoreTopFunction("internal/poll.runtime_pollWait")
	// IgnoreBackoffSleep: a terminal's reversal back-off timer of a test
	// that has already stopped the terminal.
	IgnoreBackoffSleep = goleak.IgnoreTopFunction("time.Sleep")
)

// VerifyMain runs the package's tests and fails the run if goroutines are
// left behind, ignoring the link pool and whatever extra options say:
//
//	func TestMain(m *testing.M) { testkit.VerifyMain(m) }
func VerifyMain(m goleak.TestingM, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, append([]goleak.Option{IgnoreLinkPool}, extra...)...)
}
