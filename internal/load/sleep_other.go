//go:build !linux

package load

import "time"

// newSleeper falls back to Go timers where clock_nanosleep is not
// available (see sleep_linux.go for why Linux does better).
func newSleeper(start time.Time) (sleeper, func()) { return timerSleeper(start), func() {} }
