package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// A Threshold is a pass/fail condition on a [Report], written
// METRIC OP VALUE: "p99<50ms", "p99.9<=200ms", "timeout_rate<0.01",
// "approved_rate>95%", "tps>=900". "possim simulate --threshold" exits 1 when
// one fails, which is what lets a CI pipeline gate on a load test.
//
// Metrics:
//   - latency from the intended send time: min, mean, p50, p90, p95, p99,
//     p99.9, max; service time (write → response): the same names with a
//     "service_" prefix. VALUE is a duration with a unit ("50ms").
//   - fractions of all requests: approved_rate, declined_rate, success_rate
//     (answered), timeout_rate, error_rate (not answered: timeouts, link
//     failures, not sent), late_rate (sent late). VALUE is a number in
//     [0, 1] or a percentage ("1%").
//   - tps: throughput, answered transactions per second over the run.
//     VALUE is a number (a "/s" suffix is allowed).
//
// OP is one of <, <=, >, >=. A report with no requests fails every
// threshold, as does a latency threshold with no latency samples: an empty
// run proves nothing.
type Threshold struct {
	Metric string
	Op     string
	Value  float64 // nanoseconds for latency metrics, a fraction, or per second
	kind   metricKind
	text   string // VALUE as written
}

type metricKind uint8

const (
	kindDuration metricKind = iota
	kindRatio
	kindRate
)

type metricDef struct {
	name string
	kind metricKind
	get  func(r *Report) float64
}

func latencyMetrics(prefix string, pick func(r *Report) *LatencyStats) []metricDef {
	d := func(name string, f func(l *LatencyStats) time.Duration) metricDef {
		return metricDef{prefix + name, kindDuration, func(r *Report) float64 { return float64(f(pick(r))) }}
	}
	return []metricDef{
		d("min", func(l *LatencyStats) time.Duration { return l.Min }),
		d("mean", func(l *LatencyStats) time.Duration { return l.Mean }),
		d("p50", func(l *LatencyStats) time.Duration { return l.P50 }),
		d("p90", func(l *LatencyStats) time.Duration { return l.P90 }),
		d("p95", func(l *LatencyStats) time.Duration { return l.P95 }),
		d("p99", func(l *LatencyStats) time.Duration { return l.P99 }),
		d("p99.9", func(l *LatencyStats) time.Duration { return l.P999 }),
		d("max", func(l *LatencyStats) time.Duration { return l.Max }),
	}
}

var thresholdMetrics = func() []metricDef {
	ms := latencyMetrics("", func(r *Report) *LatencyStats { return &r.Latency })
	ms = append(ms, latencyMetrics("service_", func(r *Report) *LatencyStats { return &r.ServiceTime })...)
	ratio := func(name string, f func(r *Report) int64) metricDef {
		return metricDef{name, kindRatio, func(r *Report) float64 { return r.ratio(f(r)) }}
	}
	ms = append(ms,
		ratio("approved_rate", func(r *Report) int64 { return r.Outcomes[Approved] }),
		ratio("declined_rate", func(r *Report) int64 { return r.Outcomes[Declined] }),
		ratio("success_rate", func(r *Report) int64 { return r.Outcomes.Answered() }),
		ratio("timeout_rate", func(r *Report) int64 { return r.Outcomes.TimedOut() }),
		ratio("error_rate", func(r *Report) int64 { return r.Outcomes.Errors() }),
		ratio("late_rate", func(r *Report) int64 { return r.LateSends }),
		metricDef{"tps", kindRate, func(r *Report) float64 { return r.Throughput }},
	)
	return ms
}()

// ThresholdMetrics lists the metric names a threshold can use.
func ThresholdMetrics() []string {
	names := make([]string, len(thresholdMetrics))
	for i, m := range thresholdMetrics {
		names[i] = m.name
	}
	return names
}

func findMetric(name string) (metricDef, bool) {
	for _, m := range thresholdMetrics {
		if m.name == name {
			return m, true
		}
	}
	return metricDef{}, false
}

const validOps = "<, <=, >, >="

// ParseThreshold parses METRIC OP VALUE (spaces around OP allowed).
func ParseThreshold(s string) (Threshold, error) {
	src := strings.TrimSpace(s)
	i := strings.IndexAny(src, "<>")
	if i < 0 {
		return Threshold{}, fmt.Errorf("threshold %q: no operator (want METRIC OP VALUE, OP one of %s; e.g. \"p99<50ms\")", s, validOps)
	}
	op := src[i : i+1]
	rest := src[i+1:]
	if strings.HasPrefix(rest, "=") {
		op += "="
		rest = rest[1:]
	}
	name := strings.TrimSpace(src[:i])
	val := strings.TrimSpace(rest)
	if strings.ContainsAny(name, "=!") || strings.ContainsAny(val, "<>=!") {
		return Threshold{}, fmt.Errorf("threshold %q: bad operator (want one of %s)", s, validOps)
	}
	if name == "" {
		return Threshold{}, fmt.Errorf("threshold %q: missing metric before %q (valid metrics: %s)", s, op, strings.Join(ThresholdMetrics(), ", "))
	}
	m, ok := findMetric(name)
	if !ok {
		return Threshold{}, fmt.Errorf("threshold %q: unknown metric %q (valid metrics: %s)", s, name, strings.Join(ThresholdMetrics(), ", "))
	}
	if val == "" {
		return Threshold{}, fmt.Errorf("threshold %q: missing value after %q", s, op)
	}
	t := Threshold{Metric: name, Op: op, kind: m.kind, text: val}
	switch m.kind {
	case kindDuration:
		d, err := time.ParseDuration(val)
		if err != nil || d < 0 {
			return Threshold{}, fmt.Errorf("threshold %q: bad value %q for %s (want a duration with a unit, e.g. 50ms, 1.5s)", s, val, name)
		}
		t.Value = float64(d)
	case kindRatio:
		v, err := parseRatio(val)
		if err != nil {
			return Threshold{}, fmt.Errorf("threshold %q: bad value %q for %s (want a fraction in [0, 1] such as 0.01, or a percentage such as 1%%)", s, val, name)
		}
		t.Value = v
	case kindRate:
		v, err := strconv.ParseFloat(strings.TrimSuffix(val, "/s"), 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return Threshold{}, fmt.Errorf("threshold %q: bad value %q for %s (want transactions per second ≥ 0, e.g. 900)", s, val, name)
		}
		t.Value = v
	}
	return t, nil
}

func parseRatio(s string) (float64, error) {
	scale := 1.0
	if p, ok := strings.CutSuffix(s, "%"); ok {
		s, scale = strings.TrimSpace(p), 100
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	v /= scale
	if !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("%v out of [0, 1]", v)
	}
	return v, nil
}

// ParseThresholds parses each of ss; the first error is returned.
func ParseThresholds(ss []string) ([]Threshold, error) {
	ts := make([]Threshold, 0, len(ss))
	for _, s := range ss {
		t, err := ParseThreshold(s)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// String renders the threshold as written, normalised ("p99<50ms").
func (t Threshold) String() string { return t.Metric + t.Op + t.text }

// Eval evaluates the threshold against r. actual is the metric's value,
// formatted for a message ("63.2ms", "0.0123", "887.5/s"), or why there is
// none.
func (t Threshold) Eval(r *Report) (ok bool, actual string) {
	m, found := findMetric(t.Metric)
	if !found {
		return false, "unknown metric"
	}
	if r.Requests <= 0 {
		return false, "no requests"
	}
	if m.kind == kindDuration {
		l := &r.Latency
		if strings.HasPrefix(t.Metric, "service_") {
			l = &r.ServiceTime
		}
		if l.Count == 0 {
			return false, "no latency samples"
		}
	}
	v := m.get(r)
	switch m.kind {
	case kindDuration:
		actual = fmtDur(time.Duration(v))
	case kindRatio:
		actual = strconv.FormatFloat(v, 'g', 4, 64)
	case kindRate:
		actual = strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	switch t.Op {
	case "<":
		ok = v < t.Value
	case "<=":
		ok = v <= t.Value
	case ">":
		ok = v > t.Value
	case ">=":
		ok = v >= t.Value
	}
	return ok, actual
}
