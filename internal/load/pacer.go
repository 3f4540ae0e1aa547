package load

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A Pacer fixes the schedule of an open-loop run before it starts.
//
// Due returns the intended send time of hit number i (0-based) as an offset
// from the start of the run, and false once the schedule is over. The
// schedule does not depend on how fast the host answers: that is the point.
// A load generator that waits for answers before sending more (closed loop)
// stops measuring exactly when the host stalls; one that follows a fixed
// schedule and measures latency from each hit's intended time cannot hide a
// stall (see the package documentation on coordinated omission).
//
// Due must be a pure function of i: due times never decrease with i, and
// once Due reports false it reports false for every larger i. Pacers in
// this package are safe for concurrent use.
type Pacer interface {
	Due(i uint64) (time.Duration, bool)
}

// RatePacer is a Pacer that can also say what rate it intends at a given
// time; the status line shows it as the offered rate.
type RatePacer interface {
	Pacer
	// RateAt returns the intended rate (hits per second) at offset t; 0
	// before the start and after the end of the schedule.
	RateAt(t time.Duration) float64
}

// ConstantPacer sends Rate hits per second, evenly spaced, from offset 0 for
// Duration: hit i is due at i/Rate, and hits due at or after Duration are
// not sent, so a run of Rate=100 for 1s has exactly 100 hits.
// Duration ≤ 0 means no end (the caller stops the run). A Rate that is not
// a positive finite number schedules nothing.
type ConstantPacer struct {
	Rate     float64 // hits per second
	Duration time.Duration
}

// Due implements Pacer.
func (p ConstantPacer) Due(i uint64) (time.Duration, bool) {
	if !(p.Rate > 0) || math.IsInf(p.Rate, 1) {
		return 0, false
	}
	ns := math.Round(float64(i) / p.Rate * 1e9)
	if ns >= math.MaxInt64 {
		return 0, false
	}
	d := time.Duration(ns)
	if p.Duration > 0 && d >= p.Duration {
		return 0, false
	}
	return d, true
}

// RateAt implements RatePacer.
func (p ConstantPacer) RateAt(t time.Duration) float64 {
	if t < 0 || (p.Duration > 0 && t >= p.Duration) || !(p.Rate > 0) {
		return 0
	}
	return p.Rate
}

// String renders the pacer as "100/s for 1m0s".
func (p ConstantPacer) String() string {
	if p.Duration <= 0 {
		return fmt.Sprintf("%g/s until stopped", p.Rate)
	}
	return fmt.Sprintf("%g/s for %v", p.Rate, p.Duration)
}

// A Stage is one point of a rate profile: at offset At from the start the
// intended rate is Rate hits per second. See [StagesPacer].
type Stage struct {
	At   time.Duration
	Rate float64
}

// String renders the stage as it is written for ParseStages ("30s:1000").
func (s Stage) String() string {
	return s.At.String() + ":" + strconv.FormatFloat(s.Rate, 'g', -1, 64)
}

// StagesPacer follows a piecewise-linear rate profile, in the manner of k6's
// ramping-arrival-rate executor, but written as absolute points in time
// rather than k6's relative stage durations:
//
//	0s:100,30s:1000,2m:1000
//
// means: at t=0 the rate is 100/s; it ramps linearly to 1000/s at t=30s,
// stays at 1000/s until t=2m, and the schedule ends at 2m (the rate given
// with the last point is the rate just before the end). The first point
// must be at 0s, times must increase, rates must be ≥ 0. A step change is
// written as a short ramp ("10s:100,10.001s:500").
//
// Hit i is due at the first moment the expected number of hits, the
// integral N(t) of the rate from 0 to t, exceeds i. On a flat stage that is
// evenly spaced hits; on a ramp it is the root of a quadratic; a stage at
// rate 0 gets no hits (the next hit is due where the rate becomes positive
// again). So over any window [a, b) the number of hits due is the integral
// of the rate over the window, ±1.
type StagesPacer struct {
	stages []Stage
	segs   []segment
}

// segment is the stretch between two consecutive stages.
type segment struct {
	t0, t1 time.Duration
	r0, r1 float64 // rates at t0 and t1, hits/s
	n0, n1 float64 // N(t0), N(t1): expected hits before t0, t1
	secs   float64 // (t1 - t0) in seconds
	accel  float64 // (r1 - r0) / secs, hits/s²
}

// ParseStages parses a rate profile "TIME:RATE,TIME:RATE,..." (see
// [StagesPacer]). TIME is a Go duration ("0s", "500ms", "30s", "2m"); RATE
// is hits per second. Errors name the stage (1-based) and its text.
func ParseStages(s string) (*StagesPacer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New(`stages: empty (want TIME:RATE,TIME:RATE,..., e.g. "0s:100,30s:1000,2m:1000")`)
	}
	toks := strings.Split(s, ",")
	stages := make([]Stage, len(toks))
	for i, tok := range toks {
		tok = strings.TrimSpace(tok)
		toks[i] = tok
		ts, rs, ok := strings.Cut(tok, ":")
		if !ok {
			return nil, fmt.Errorf("stage %d %q: want TIME:RATE, e.g. \"30s:1000\"", i+1, tok)
		}
		ts, rs = strings.TrimSpace(ts), strings.TrimSpace(rs)
		at, err := time.ParseDuration(ts)
		if err != nil {
			return nil, fmt.Errorf("stage %d %q: bad duration %q (want a Go duration such as 0s, 500ms, 30s, 2m)", i+1, tok, ts)
		}
		rate, err := strconv.ParseFloat(rs, 64)
		if err != nil {
			return nil, fmt.Errorf("stage %d %q: bad rate %q (want a number of hits per second ≥ 0)", i+1, tok, rs)
		}
		stages[i] = Stage{At: at, Rate: rate}
	}
	return newStagesPacer(stages, toks)
}

// NewStagesPacer builds a StagesPacer from stages, validated as ParseStages
// does.
func NewStagesPacer(stages []Stage) (*StagesPacer, error) {
	toks := make([]string, len(stages))
	for i, s := range stages {
		toks[i] = s.String()
	}
	return newStagesPacer(stages, toks)
}

func newStagesPacer(stages []Stage, toks []string) (*StagesPacer, error) {
	for i, s := range stages {
		switch {
		case math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) || s.Rate < 0:
			return nil, fmt.Errorf("stage %d %q: rate %v must be a finite number ≥ 0", i+1, toks[i], s.Rate)
		case s.At < 0:
			return nil, fmt.Errorf("stage %d %q: time %v must not be negative", i+1, toks[i], s.At)
		case i == 0 && s.At != 0:
			return nil, fmt.Errorf("stage 1 %q: the first stage must be at 0s (it sets the starting rate)", toks[i])
		case i > 0 && s.At <= stages[i-1].At:
			return nil, fmt.Errorf("stage %d %q: time %v is not after the previous stage's %v (times must increase)", i+1, toks[i], s.At, stages[i-1].At)
		}
	}
	if len(stages) < 2 {
		return nil, fmt.Errorf("stages %q: need at least two stages, a start and an end (e.g. \"0s:100,1m:100\")", strings.Join(toks, ","))
	}
	p := &StagesPacer{stages: append([]Stage(nil), stages...)}
	var n float64
	for k := 1; k < len(stages); k++ {
		a, b := stages[k-1], stages[k]
		secs := (b.At - a.At).Seconds()
		sg := segment{t0: a.At, t1: b.At, r0: a.Rate, r1: b.Rate, n0: n, secs: secs, accel: (b.Rate - a.Rate) / secs}
		n += (a.Rate + b.Rate) / 2 * secs
		sg.n1 = n
		p.segs = append(p.segs, sg)
	}
	if n == 0 {
		return nil, fmt.Errorf("stages %q: every rate is 0, nothing would be sent", strings.Join(toks, ","))
	}
	return p, nil
}

// Due implements Pacer.
func (p *StagesPacer) Due(i uint64) (time.Duration, bool) {
	x := float64(i)
	// The first segment whose end count exceeds x holds hit i; segments
	// at rate 0 have n1 == n0 and are never chosen.
	k := sort.Search(len(p.segs), func(k int) bool { return p.segs[k].n1 > x })
	if k == len(p.segs) {
		return 0, false
	}
	s := &p.segs[k]
	d := x - s.n0 // hits still to place inside this segment, ≥ 0
	var tau float64
	switch {
	case d <= 0:
		tau = 0
	case s.accel == 0: // flat stage: exact
		tau = d / s.r0
	default:
		// Solve r0·τ + accel·τ²/2 = d for the root in [0, secs). Written
		// as 2d / (r0 + √(r0² + 2·accel·d)) rather than the textbook form
		// to avoid cancellation when accel is small; valid for ramps up
		// and down, and for r0 = 0.
		disc := s.r0*s.r0 + 2*s.accel*d
		if disc < 0 {
			disc = 0
		}
		tau = 2 * d / (s.r0 + math.Sqrt(disc))
	}
	if tau > s.secs {
		tau = s.secs
	}
	t := s.t0 + time.Duration(math.Round(tau*1e9))
	if t > s.t1 {
		t = s.t1
	}
	return t, true
}

// RateAt implements RatePacer: the rate interpolated at t.
func (p *StagesPacer) RateAt(t time.Duration) float64 {
	k := sort.Search(len(p.segs), func(k int) bool { return p.segs[k].t1 > t })
	if t < 0 || k == len(p.segs) {
		return 0
	}
	s := &p.segs[k]
	return s.r0 + s.accel*(t-s.t0).Seconds()
}

// Expected returns N(t), the expected number of hits due before offset t:
// the integral of the rate from 0 to t. The number of hits Due reports
// before t is within 1 of it.
func (p *StagesPacer) Expected(t time.Duration) float64 {
	if t <= 0 {
		return 0
	}
	k := sort.Search(len(p.segs), func(k int) bool { return p.segs[k].t1 > t })
	if k == len(p.segs) {
		return p.segs[len(p.segs)-1].n1
	}
	s := &p.segs[k]
	tau := (t - s.t0).Seconds()
	return s.n0 + s.r0*tau + s.accel*tau*tau/2
}

// Duration is the length of the schedule: the time of the last stage.
func (p *StagesPacer) Duration() time.Duration { return p.stages[len(p.stages)-1].At }

// Stages returns a copy of the profile's points.
func (p *StagesPacer) Stages() []Stage { return append([]Stage(nil), p.stages...) }

// String renders the profile as ParseStages reads it.
func (p *StagesPacer) String() string {
	parts := make([]string, len(p.stages))
	for i, s := range p.stages {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}
