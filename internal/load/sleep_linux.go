package load

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// preciseSleeper sleeps until absolute points on CLOCK_MONOTONIC with
// clock_nanosleep(TIMER_ABSTIME) and a timer slack of 1 ns.
//
// Why not a Go timer: the runtime's timers wake the pacer 0.5–0.6 ms
// after the due time (netpoll waits in whole milliseconds), and that lag
// then adds to every latency measured (issue 14). A thread asleep in the
// kernel with no slack wakes within tens of microseconds. The default timer
// slack of a Linux thread is 50 µs, so it is set to 1 ns for the thread
// that sleeps; the setting is per thread, and the goroutine may be on
// another thread at the next sleep, so it is set before every sleep (one
// cheap syscall). Other goroutines that later run on those threads get
// precise timeouts too, which costs nothing measurable.
//
// Why not on a locked OS thread (measured, 1 000/s against the embedded
// host on 2 cores): a locked thread cannot run the link writer goroutine
// that its Send has just made runnable, so every transaction handed the
// P over to another thread, kept sysmon polling every 20 µs, and cost
// ~2.3 CPU-s per 5 000 transactions against ~1.3 with Go timers. Instead
// the pacer yields before it sleeps (runtime.Gosched): what its sends
// made runnable runs first on its P, the P's run queue is empty when the
// pacer enters the syscall, so the runtime does not take the P away, and
// the pacer gets it back at once when it wakes: ~0.95 CPU-s per 5 000,
// less than Go timers, with a send lag p50 of ~50 µs.
//
// Spinning instead would remove the lag but steal a core from the host
// under test (service time 0.13 → 2.4 ms at 1 000/s in issue 14).
type preciseSleeper struct {
	base int64 // CLOCK_MONOTONIC ns at the run's start
}

// newSleeper maps the run's start onto CLOCK_MONOTONIC. The release
// function is for sleepers that hold resources (this one does not).
func newSleeper(start time.Time) (sleeper, func()) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return timerSleeper(start), func() {}
	}
	// time.Since reads the same clock (Go's monotonic clock is
	// CLOCK_MONOTONIC on Linux): the mapping is exact to the few
	// nanoseconds between the two readings.
	return &preciseSleeper{base: ts.Nano() - int64(time.Since(start))}, func() {}
}

// sleepUntil sleeps until offset at from the run's start (or returns at
// once when it has passed).
func (s *preciseSleeper) sleepUntil(at time.Duration) {
	runtime.Gosched() // let what the last sends made runnable go first (see above)
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	ts := unix.NsecToTimespec(s.base + int64(at))
	for {
		err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil)
		if err != unix.EINTR {
			return
		}
	}
}
