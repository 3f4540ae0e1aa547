package load

import "time"

// A sleeper waits until an offset from the run's start: the pacer's only
// way of waiting for the next due transaction.
type sleeper interface {
	sleepUntil(at time.Duration)
}

// goTimerSleeper waits on a Go timer (about a millisecond of lag on a
// busy machine; see sleep_linux.go).
type goTimerSleeper struct {
	start time.Time
	t     *time.Timer
}

func timerSleeper(start time.Time) sleeper {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &goTimerSleeper{start: start, t: t}
}

func (s *goTimerSleeper) sleepUntil(at time.Duration) {
	d := at - time.Since(s.start)
	if d <= 0 {
		return
	}
	s.t.Reset(d)
	<-s.t.C
}
