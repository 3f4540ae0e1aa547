package load

import (
	"encoding/json"
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// SeriesPoint is one interval (normally one second) of a run: what was
// offered, what was decided, the three clocks' percentiles and the
// failures by cause. Outcomes fall in the interval in which they were
// decided. The runner appends one per status interval to the report's
// Series.
type SeriesPoint struct {
	At       time.Time     // wall clock at the start of the interval
	From     time.Duration // offset of the start from the run's start
	Length   time.Duration
	Offered  int64 // transactions due in the interval
	InFlight int   // at the end of the interval
	Outcomes OutcomeCounts
	Late     int64
	Latency  PointStats // intended time → outcome
	Service  PointStats // write → outcome
	SendLag  PointStats // intended time → write
	Causes   map[string]int64
	// HDR holds the interval's histograms, encoded (HdrHistogram V2
	// compressed, base64): kept in results files so that merged runs get
	// exact percentiles per interval. Nil in --output json.
	HDR *PointHDR
}

// PointHDR are the encoded histograms of one interval.
type PointHDR struct {
	Latency string `json:"latency,omitempty"`
	Service string `json:"service,omitempty"`
	SendLag string `json:"send_lag,omitempty"`
}

// PointStats are the percentiles of one clock in one interval.
type PointStats struct {
	Count         int64
	P50, P99, Max time.Duration
}

func pointStats(h *hdrhistogram.Histogram) PointStats {
	if h == nil || h.TotalCount() == 0 {
		return PointStats{}
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return PointStats{Count: h.TotalCount(), P50: us(h.ValueAtQuantile(50)), P99: us(h.ValueAtQuantile(99)), Max: us(h.Max())}
}

func newSeriesPoint(start time.Time, w *Window, offered int64, inflight int) SeriesPoint {
	p := SeriesPoint{
		At: start.Add(w.From), From: w.From, Length: w.Length(), Offered: offered, InFlight: inflight,
		Outcomes: w.Outcomes, Late: w.Late,
		Latency: pointStats(w.Latency), Service: pointStats(w.Service), SendLag: pointStats(w.SendLag),
	}
	if len(w.Causes) > 0 {
		p.Causes = make(map[string]int64, len(w.Causes))
		for k, v := range w.Causes {
			p.Causes[k] = v
		}
	}
	p.HDR = &PointHDR{Latency: encodeHist(w.Latency), Service: encodeHist(w.Service), SendLag: encodeHist(w.SendLag)}
	return p
}

// encodeHist encodes h (V2 compressed, base64); "" when empty.
func encodeHist(h *hdrhistogram.Histogram) string {
	if h == nil || h.TotalCount() == 0 {
		return ""
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

// Achieved is the rate of answered transactions in the interval, per
// second.
func (p *SeriesPoint) Achieved() float64 { return perSecond(p.Outcomes.Answered(), p.Length) }

// OfferedRate is the rate of due transactions in the interval, per second.
func (p *SeriesPoint) OfferedRate() float64 { return perSecond(p.Offered, p.Length) }

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

type pointStatsJSON struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// MarshalJSON writes the durations in milliseconds.
func (s PointStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(pointStatsJSON{s.Count, ms(s.P50), ms(s.P99), ms(s.Max)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *PointStats) UnmarshalJSON(b []byte) error {
	var j pointStatsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = PointStats{j.Count, fromMs(j.P50), fromMs(j.P99), fromMs(j.Max)}
	return nil
}

type seriesPointJSON struct {
	At           time.Time        `json:"at"`
	From         float64          `json:"from"`
	Length       float64          `json:"length"`
	Offered      int64            `json:"offered"`
	OfferedRate  float64          `json:"offered_rate"`
	AchievedRate float64          `json:"achieved_rate"`
	InFlight     int              `json:"in_flight"`
	Outcomes     OutcomeCounts    `json:"outcomes"`
	Timeouts     int64            `json:"timeouts"`
	Errors       int64            `json:"errors"`
	Late         int64            `json:"late"`
	Latency      PointStats       `json:"latency"`
	Service      PointStats       `json:"service_time"`
	SendLag      PointStats       `json:"send_lag"`
	Causes       map[string]int64 `json:"errors_by_cause"`
	HDR          *PointHDR        `json:"hdr,omitempty"`
}

// MarshalJSON writes the point with durations in milliseconds and the
// rates derived from the counts.
func (p SeriesPoint) MarshalJSON() ([]byte, error) {
	c := p.Causes
	if c == nil {
		c = map[string]int64{}
	}
	return json.Marshal(seriesPointJSON{
		At: p.At.UTC(), From: ms(p.From), Length: ms(p.Length), Offered: p.Offered,
		OfferedRate: round3(p.OfferedRate()), AchievedRate: round3(p.Achieved()), InFlight: p.InFlight,
		Outcomes: p.Outcomes, Timeouts: p.Outcomes.TimedOut(), Errors: p.Outcomes.Errors(), Late: p.Late,
		Latency: p.Latency, Service: p.Service, SendLag: p.SendLag, Causes: c, HDR: p.HDR,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *SeriesPoint) UnmarshalJSON(b []byte) error {
	var j seriesPointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = SeriesPoint{At: j.At, From: fromMs(j.From), Length: fromMs(j.Length), Offered: j.Offered, InFlight: j.InFlight,
		Outcomes: j.Outcomes, Late: j.Late, Latency: j.Latency, Service: j.Service, SendLag: j.SendLag, Causes: j.Causes, HDR: j.HDR}
	return nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
