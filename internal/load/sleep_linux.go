package load

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// preciseSleeper sleeps until absolute points on CLOCK_MONOTONIC with
// clock_nanosleep(TIMER_ABSTIME) on a locked OS thread whose timer slack
// is 1 ns.
//
// Why not a Go timer: the runtime's timers wake the pacer 0.5–0.6 ms
// after the due time on a busy 2-core machine (measured: issue 14), which
// then adds to every latency. A thread of our own, asleep in the kernel
// with no slack, wakes within tens of microseconds. The default timer slack
// of a Linux thread is 50 µs, so it is set to 1 ns for this thread only
// (prctl PR_SET_TIMERSLACK is per thread: hence the locked thread).
// Spinning instead would remove the lag but steal a core from the host
// under test.
type preciseSleeper struct {
	base int64 // CLOCK_MONOTONIC ns at the run's start
}

// newSleeper locks the calling goroutine to its thread and maps the
// run's start onto CLOCK_MONOTONIC. Call release when done, on the same
// goroutine.
func newSleeper(start time.Time) (sleeper, func()) {
	runtime.LockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		runtime.UnlockOSThread()
		return timerSleeper(start), func() {}
	}
	// time.Since reads the same clock (Go's monotonic clock is
	// CLOCK_MONOTONIC on Linux): the mapping is exact to the few
	// nanoseconds between the two readings.
	s := &preciseSleeper{base: ts.Nano() - int64(time.Since(start))}
	return s, func() {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 0, 0, 0, 0) // back to the default
		runtime.UnlockOSThread()
	}
}

// sleepUntil sleeps until offset at from the run's start (or returns at
// once when it has passed).
func (s *preciseSleeper) sleepUntil(at time.Duration) {
	ts := unix.NsecToTimespec(s.base + int64(at))
	for {
		err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil)
		if err != unix.EINTR {
			return
		}
	}
}
