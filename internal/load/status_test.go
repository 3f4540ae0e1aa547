package load

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFormatStatus(t *testing.T) {
	w := NewWindow()
	w.From, w.To = 11*time.Second, 12*time.Second
	for i := range 100 {
		_ = w.Latency.RecordValue(int64(1000 + i*100)) // 1.0 .. 10.9 ms
	}
	w.Outcomes = OutcomeCounts{Approved: 90, Declined: 8, TimedOutReversed: 1, LinkFailed: 1}
	w.Late = 2
	s := Status{
		Elapsed:  12*time.Second + 300*time.Millisecond,
		Offered:  100,
		InFlight: 37,
		Window:   w,
		Totals:   Counts{Outcomes: OutcomeCounts{Approved: 1000, TimedOutReversed: 3, NotSent: 2}, Late: 5},
	}
	line := FormatStatus(s)
	for _, want := range []string{
		"[   12s]", "offered 100/s", "achieved 98/s", "in flight 37",
		"p50 5.9ms", "p99 10.8ms", "timeouts 1 (3)", "errors 2 (5)", "late 2 (5)",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("status %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\n") {
		t.Errorf("status %q has a newline", line)
	}

	// No window yet, or an empty one: no percentiles, no division by zero.
	for _, w := range []*Window{nil, NewWindow()} {
		line := FormatStatus(Status{Elapsed: time.Second, Offered: 2.5, Window: w})
		if !strings.Contains(line, "p50 -  p99 -") || !strings.Contains(line, "achieved 0/s") || !strings.Contains(line, "offered 2.50/s") {
			t.Errorf("empty status %q", line)
		}
	}
}

func TestFmtDur(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {999 * time.Nanosecond, "1µs"}, {850 * time.Microsecond, "850µs"},
		{1234567 * time.Nanosecond, "1.23ms"}, {12345678, "12.3ms"}, {123456789, "123ms"},
		{1234567890, "1.23s"}, {75 * time.Second, "1m15s"},
	} {
		if got := fmtDur(c.d); got != c.want {
			t.Errorf("fmtDur(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// lineWriter hands every Write to a channel, so a test can wait for a line
// instead of sleeping.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func TestStatusPrinterInjectedTicks(t *testing.T) {
	start := time.Unix(1000, 0)
	ticks := make(chan time.Time)
	out := make(lineWriter, 1)
	var calls []time.Time
	p := &StatusPrinter{
		Out:   out,
		Ticks: ticks,
		Source: func(now time.Time) Status {
			calls = append(calls, now) // only the printer goroutine touches calls until stop
			return Status{Elapsed: now.Sub(start), InFlight: len(calls)}
		},
	}
	stop := p.Start(context.Background())
	for i := 1; i <= 3; i++ {
		ticks <- start.Add(time.Duration(i) * time.Second)
		line := <-out
		if !strings.HasPrefix(line, "[    "+time.Duration(i*int(time.Second)).String()+"]") || !strings.HasSuffix(line, "\n") ||
			!strings.Contains(line, "in flight "+string(rune('0'+i))) {
			t.Errorf("line %d = %q", i, line)
		}
	}
	stop()
	stop() // idempotent
	if len(calls) != 3 {
		t.Errorf("%d calls", len(calls))
	}
	select {
	case l := <-out:
		t.Errorf("line after stop: %q", l)
	default:
	}
}

func TestStatusPrinterStops(t *testing.T) {
	p := &StatusPrinter{Out: make(lineWriter), Ticks: make(chan time.Time), Source: func(time.Time) Status { return Status{} }}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- p.Run(ctx) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}

	ticks := make(chan time.Time)
	p.Ticks = ticks
	go func() { errc <- p.Run(context.Background()) }()
	close(ticks)
	if err := <-errc; err != nil {
		t.Errorf("Run after ticks closed = %v", err)
	}
}

func TestStatusPrinterRealTicker(t *testing.T) {
	out := make(lineWriter)
	p := &StatusPrinter{Out: out, Interval: time.Millisecond, Source: func(time.Time) Status { return Status{Offered: 5} }}
	stop := p.Start(context.Background())
	line := <-out // the first tick arrives after ~1ms
	// Drain until stop has returned, so a line being written does not
	// block the printer's exit.
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	for draining := true; draining; {
		select {
		case <-out:
		case <-stopped:
			draining = false
		}
	}
	if !strings.Contains(line, "offered 5/s") {
		t.Errorf("line %q", line)
	}
}
