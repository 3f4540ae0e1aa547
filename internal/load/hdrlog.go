package load

import (
	"fmt"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// HDRLog writes latency histograms in the standard HdrHistogram interval
// log format (version 1.3), readable by HistogramLogAnalyzer,
// HistogramLogProcessor and hdrhistogram-go's HistogramLogReader. Keeping
// the whole distribution per interval, rather than a few percentiles, is
// what allows percentiles over any time range to be computed afterwards
// (percentiles cannot be averaged).
//
// Values are microseconds. The format's Interval_Max column is the
// interval's max divided by 1e6 (the library's fixed ratio, made for
// nanosecond values), so here it reads in seconds; pass
// -outputValueUnitRatio 1000 to HistogramLogProcessor for milliseconds.
// Interval timestamps are relative to the run's start, which the header
// gives as StartTime and BaseTime.
//
// Feed it the windows of a [Collector] once a second (WriteWindow), or the
// final histogram (WriteHistogram), or both with different tags.
type HDRLog struct {
	w       *hdrhistogram.HistogramLogWriter
	startMs int64
}

// NewHDRLog writes the log header to w and returns a writer for the
// intervals of a run that started at start.
func NewHDRLog(w io.Writer, start time.Time) (*HDRLog, error) {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	startMs := start.UnixMilli()
	lw.SetBaseTime(startMs)
	secs := float64(startMs) / 1000
	// The library writes "#[Basetime:" while readers look for
	// "#[BaseTime:", and StartTime without milliseconds: write both
	// header lines as the Java implementation does.
	for _, c := range []string{
		"[Logged with possim: intended-time latency in microseconds]",
		fmt.Sprintf("[Histogram log format version %s]", hdrhistogram.HISTOGRAM_LOG_FORMAT_VERSION),
		fmt.Sprintf("[StartTime: %.3f (seconds since epoch), %s]", secs, start.UTC().Format(time.RFC3339Nano)),
		fmt.Sprintf("[BaseTime: %.3f (seconds since epoch)]", secs),
	} {
		if err := lw.OutputComment(c); err != nil {
			return nil, err
		}
	}
	if err := lw.OutputLegend(); err != nil {
		return nil, err
	}
	return &HDRLog{w: lw, startMs: startMs}, nil
}

// WriteHistogram writes h as the interval [from, to) (offsets from the
// start), with an optional tag (no spaces or commas). It sets h's start and
// end timestamps and tag.
func (l *HDRLog) WriteHistogram(from, to time.Duration, tag string, h *hdrhistogram.Histogram) error {
	h.SetStartTimeMs(l.startMs + from.Milliseconds())
	h.SetEndTimeMs(l.startMs + to.Milliseconds())
	h.SetTag(tag)
	return l.w.OutputIntervalHistogram(h)
}

// WriteWindow writes a collector window as one untagged interval.
func (l *HDRLog) WriteWindow(w *Window) error {
	return l.WriteHistogram(w.From, w.To, "", w.Latency)
}
