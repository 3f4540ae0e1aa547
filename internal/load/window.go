package load

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Counts are the counters kept per window and as running totals.
type Counts struct {
	Outcomes OutcomeCounts
	Late     int64 // sent late because the in-flight limit was reached
}

// Add adds o to c.
func (c *Counts) Add(o *Counts) {
	c.Outcomes.Add(&o.Outcomes)
	c.Late += o.Late
}

// Window is what all recorders saw during one collection interval
// (normally the last second): the live view behind the status line and the
// intervals of the HDR log. Results fall in the window in which they were
// recorded, that is by completion time.
type Window struct {
	From, To time.Duration           // offsets from the run's start
	Latency  *hdrhistogram.Histogram // intended-time latency, µs
	Service  *hdrhistogram.Histogram // service time (write → done), µs
	SendLag  *hdrhistogram.Histogram // send lag (intended → write), µs
	Causes   map[string]int64        // failures by cause id
	RC       map[string]int64        // answered by response code ("??": not two digits)
	Counts
}

// NewWindow returns an empty window.
func NewWindow() *Window {
	return &Window{Latency: NewHistogram(), Service: NewHistogram(), SendLag: NewHistogram(), Causes: map[string]int64{}, RC: map[string]int64{}}
}

// Reset empties the window.
func (w *Window) Reset() {
	w.Latency.Reset()
	w.Service.Reset()
	w.SendLag.Reset()
	clear(w.Causes)
	clear(w.RC)
	w.Counts = Counts{}
	w.From, w.To = 0, 0
}

// Length is To - From.
func (w *Window) Length() time.Duration { return w.To - w.From }

// PerSecond converts a count in this window into a per-second rate.
func (w *Window) PerSecond(n int64) float64 {
	if w.Length() <= 0 {
		return 0
	}
	return float64(n) / w.Length().Seconds()
}

// Quantile returns the latency at quantile q (0..100) in this window.
func (w *Window) Quantile(q float64) time.Duration {
	return time.Duration(w.Latency.ValueAtQuantile(q)) * time.Microsecond
}

// Collector gathers the per-second windows of a fixed set of recorders and
// keeps running totals of their counts. One goroutine (the status ticker)
// calls Collect; the workers keep recording meanwhile without locks.
type Collector struct {
	start  time.Time
	recs   []*Recorder
	last   time.Duration
	win    *Window
	totals Counts
}

// NewCollector returns a collector over recs for a run that started at
// start. The set of recorders is fixed.
func NewCollector(start time.Time, recs ...*Recorder) *Collector {
	return &Collector{start: start, recs: append([]*Recorder(nil), recs...), win: NewWindow()}
}

// Collect takes every recorder's window since the previous call (or the
// start), merges them, adds their counts to the totals and returns the
// merged window, covering [previous now, now). The returned Window is
// reused by the next call: copy what must outlive it. Not safe for
// concurrent use with itself.
//
// Cost, on the calling goroutine only: about 0.2 ms per recorder that
// recorded anything in the window (merging and clearing a fixed-size
// histogram; BenchmarkCollect), so 64 busy workers cost ~13 ms per tick.
func (c *Collector) Collect(now time.Time) *Window {
	c.win.Reset()
	to := now.Sub(c.start)
	c.win.From, c.win.To = c.last, to
	c.last = to
	for _, r := range c.recs {
		r.collectWindow(c.win)
	}
	c.totals.Add(&c.win.Counts)
	return c.win
}

// Totals returns the sum of every window collected so far. After the
// workers have stopped and a last Collect, it equals the merged totals.
func (c *Collector) Totals() Counts { return c.totals }
