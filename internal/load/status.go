package load

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
)

// Status is what the live status line shows: the last window and the
// totals so far, plus what only the pipeline knows (offered rate, requests
// in flight).
type Status struct {
	Elapsed  time.Duration // since the start of the run
	Offered  float64       // rate the pacer intends now, hits/s (RatePacer.RateAt)
	InFlight int           // requests written and not yet decided
	Window   *Window       // the last interval; nil if none yet
	Totals   Counts        // everything so far
}

// FormatStatus renders s as one line (no newline) for stderr, e.g.
//
//	[   12s] offered 1000/s  achieved 998/s  in flight 37  p50 1.21ms  p99 8.43ms  timeouts 0 (3)  errors 0 (5)  late 0 (0)
//
// "achieved" counts answered transactions (approved or declined) in the
// window; percentiles are intended-time latency in the window; the numbers
// in parentheses are totals since the start. Errors include timeouts.
func FormatStatus(s Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%6s] offered %s/s  ", s.Elapsed.Truncate(time.Second), fmtRate(s.Offered))
	var ach float64
	var p50, p99 time.Duration
	var wc Counts
	if w := s.Window; w != nil {
		wc = w.Counts
		ach = w.PerSecond(w.Outcomes.Answered())
		p50, p99 = w.Quantile(50), w.Quantile(99)
	}
	fmt.Fprintf(&b, "achieved %s/s  in flight %d  ", fmtRate(ach), s.InFlight)
	if s.Window != nil && s.Window.Latency.TotalCount() > 0 {
		fmt.Fprintf(&b, "p50 %s  p99 %s  ", fmtDur(p50), fmtDur(p99))
	} else {
		b.WriteString("p50 -  p99 -  ")
	}
	fmt.Fprintf(&b, "timeouts %d (%d)  errors %d (%d)  late %d (%d)",
		wc.Outcomes.TimedOut(), s.Totals.Outcomes.TimedOut(),
		wc.Outcomes.Errors(), s.Totals.Outcomes.Errors(),
		wc.Late, s.Totals.Late)
	return b.String()
}

func fmtRate(r float64) string {
	switch {
	case r >= 100 || r == math.Trunc(r):
		return fmt.Sprintf("%.0f", r)
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	default:
		return fmt.Sprintf("%.2f", r)
	}
}

// fmtDur rounds d to three significant digits (≥ 1 µs) for display.
func fmtDur(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	unit := time.Microsecond
	for lim := time.Millisecond; lim <= time.Hour && d >= lim; lim *= 10 {
		unit *= 10
	}
	return d.Round(unit).String()
}

// StatusPrinter writes a status line every Interval on its own goroutine
// until its context is cancelled. Source is called on that goroutine at
// every tick with the tick's time; it typically calls Collector.Collect and
// fills in the in-flight count and the offered rate.
type StatusPrinter struct {
	Out      io.Writer                  // usually os.Stderr
	Interval time.Duration              // default 1s
	Source   func(now time.Time) Status // required
	// Ticks, if set, replaces the internal ticker (tests inject a channel
	// and drive the printer deterministically).
	Ticks <-chan time.Time
}

// Run prints a line per tick until ctx is done. It returns ctx.Err().
func (p *StatusPrinter) Run(ctx context.Context) error {
	ticks := p.Ticks
	if ticks == nil {
		iv := p.Interval
		if iv <= 0 {
			iv = time.Second
		}
		t := time.NewTicker(iv)
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now, ok := <-ticks:
			if !ok {
				return nil
			}
			if ctx.Err() != nil { // both ready: stopping wins
				return ctx.Err()
			}
			fmt.Fprintln(p.Out, FormatStatus(p.Source(now)))
		}
	}
}

// Start runs the printer on a new goroutine. The returned stop function
// cancels it and waits until it has returned, so no line is written after
// stop returns; calling stop more than once is fine.
func (p *StatusPrinter) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}
