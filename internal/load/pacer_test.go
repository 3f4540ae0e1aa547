package load

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

// allDue collects every due time of a finite pacer (failing past max).
func allDue(t *testing.T, p Pacer, max int) []time.Duration {
	t.Helper()
	var ds []time.Duration
	for i := uint64(0); ; i++ {
		d, ok := p.Due(i)
		if !ok {
			// Once over, stays over.
			if _, again := p.Due(i + 1); again {
				t.Fatalf("Due(%d) false but Due(%d) true", i, i+1)
			}
			return ds
		}
		if len(ds) >= max {
			t.Fatalf("more than %d hits", max)
		}
		ds = append(ds, d)
	}
}

// countIn counts due times in [a, b) of a sorted slice.
func countIn(ds []time.Duration, a, b time.Duration) int {
	lo := sort.Search(len(ds), func(i int) bool { return ds[i] >= a })
	hi := sort.Search(len(ds), func(i int) bool { return ds[i] >= b })
	return hi - lo
}

func checkMonotonic(t *testing.T, ds []time.Duration) {
	t.Helper()
	for i := 1; i < len(ds); i++ {
		if ds[i] < ds[i-1] {
			t.Fatalf("due times decrease at %d: %v then %v", i, ds[i-1], ds[i])
		}
	}
}

func TestConstantPacer(t *testing.T) {
	tests := []struct {
		rate float64
		dur  time.Duration
		hits int
	}{
		{100, time.Second, 100},
		{1000, 2 * time.Second, 2000},
		{3, time.Second, 3},
		{0.5, 3 * time.Second, 2},        // 0s, 2s
		{7, 1500 * time.Millisecond, 11}, // ceil(10.5)
		{0, time.Second, 0},
		{-5, time.Second, 0},
		{math.NaN(), time.Second, 0},
		{math.Inf(1), time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%g/s for %v", tt.rate, tt.dur), func(t *testing.T) {
			p := ConstantPacer{Rate: tt.rate, Duration: tt.dur}
			ds := allDue(t, p, 1e6)
			if len(ds) != tt.hits {
				t.Fatalf("hits = %d, want %d", len(ds), tt.hits)
			}
			checkMonotonic(t, ds)
			if len(ds) > 0 && ds[0] != 0 {
				t.Errorf("first hit at %v, want 0", ds[0])
			}
			for i, d := range ds {
				want := time.Duration(math.Round(float64(i) / tt.rate * 1e9))
				if d != want {
					t.Fatalf("Due(%d) = %v, want %v", i, d, want)
				}
			}
		})
	}
}

func TestConstantPacerUnbounded(t *testing.T) {
	p := ConstantPacer{Rate: 1000}
	d, ok := p.Due(3_600_000) // one hour in
	if !ok || d != time.Hour {
		t.Fatalf("Due(3.6e6) = %v, %v; want 1h, true", d, ok)
	}
	if _, ok := p.Due(math.MaxUint64); ok {
		t.Fatal("Due(MaxUint64) should be beyond any representable time")
	}
	if r := p.RateAt(1000 * time.Hour); r != 1000 {
		t.Fatalf("RateAt = %v", r)
	}
}

func TestParseStagesErrors(t *testing.T) {
	tests := []struct {
		in   string
		want []string // substrings of the error
	}{
		{"", []string{"empty", "TIME:RATE"}},
		{"   ", []string{"empty"}},
		{"0s:100,30x:10", []string{`stage 2 "30x:10"`, `bad duration "30x"`, "Go duration"}},
		{"0s:100,30s", []string{`stage 2 "30s"`, "want TIME:RATE"}},
		{"0s:100,30s:abc", []string{`stage 2 "30s:abc"`, `bad rate "abc"`, "≥ 0"}},
		{"0s:100,30s:-1", []string{`stage 2 "30s:-1"`, "≥ 0"}},
		{"0s:100,30s:NaN", []string{`stage 2`, "finite"}},
		{"0s:100,30s:+Inf", []string{`stage 2`, "finite"}},
		{"5s:100,30s:10", []string{`stage 1 "5s:100"`, "first stage must be at 0s"}},
		{"0s:100,30s:10,20s:10", []string{`stage 3 "20s:10"`, "times must increase"}},
		{"0s:100,30s:10,30s:50", []string{`stage 3 "30s:50"`, "times must increase"}},
		{"0s:100,-1s:10", []string{`stage 2 "-1s:10"`, "negative"}},
		{"0s:100", []string{"at least two stages"}},
		{"0s:0,10s:0", []string{"every rate is 0"}},
		{"0s:100,,1m:100", []string{`stage 2 ""`, "want TIME:RATE"}},
	}
	for _, tt := range tests {
		_, err := ParseStages(tt.in)
		if err == nil {
			t.Errorf("ParseStages(%q): no error", tt.in)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseStages(%q) = %q, want it to contain %q", tt.in, err, w)
			}
		}
	}
}

func TestParseStagesExample(t *testing.T) {
	p, err := ParseStages(" 0s:100, 30s:1000 ,2m:1000")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "0s:100,30s:1000,2m0s:1000"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if p.Duration() != 2*time.Minute {
		t.Errorf("Duration() = %v", p.Duration())
	}
	for _, c := range []struct {
		at   time.Duration
		rate float64
	}{{0, 100}, {15 * time.Second, 550}, {30 * time.Second, 1000}, {time.Minute, 1000}, {2 * time.Minute, 0}, {-time.Second, 0}} {
		if got := p.RateAt(c.at); math.Abs(got-c.rate) > 1e-9 {
			t.Errorf("RateAt(%v) = %v, want %v", c.at, got, c.rate)
		}
	}
	ds := allDue(t, p, 1e6)
	checkMonotonic(t, ds)
	// ∫ = (100+1000)/2·30 + 1000·90 = 16500 + 90000.
	if len(ds) != 106500 {
		t.Errorf("hits = %d, want 106500", len(ds))
	}
	if n := countIn(ds, 0, 30*time.Second); n != 16500 {
		t.Errorf("hits in the ramp = %d, want 16500", n)
	}
	// Second 10..11 of the ramp: rate 400 → 430, ∫ = 415.
	if n := countIn(ds, 10*time.Second, 11*time.Second); n < 414 || n > 416 {
		t.Errorf("hits in [10s,11s) = %d, want 415±1", n)
	}
	if ds[0] != 0 || ds[1] == 0 {
		t.Errorf("first due times %v", ds[:2])
	}
	if last := ds[len(ds)-1]; last >= 2*time.Minute || last < 2*time.Minute-2*time.Millisecond {
		t.Errorf("last hit at %v", last)
	}
}

func TestStagesEdgeCases(t *testing.T) {
	t.Run("ramp from zero", func(t *testing.T) {
		p, err := ParseStages("0s:0,10s:100") // N(t) = 5t², hit i at √(i/5)
		if err != nil {
			t.Fatal(err)
		}
		ds := allDue(t, p, 1e6)
		if len(ds) != 500 {
			t.Fatalf("hits = %d, want 500", len(ds))
		}
		for i, d := range ds {
			want := math.Sqrt(float64(i)/5) * 1e9
			if math.Abs(float64(d)-want) > 2 {
				t.Fatalf("Due(%d) = %v, want %v", i, d, time.Duration(want))
			}
		}
	})
	t.Run("ramp down to zero", func(t *testing.T) {
		p, err := ParseStages("0s:1000,10s:0")
		if err != nil {
			t.Fatal(err)
		}
		ds := allDue(t, p, 1e6)
		checkMonotonic(t, ds)
		if len(ds) < 4999 || len(ds) > 5001 {
			t.Fatalf("hits = %d, want 5000±1", len(ds))
		}
	})
	t.Run("zero start stage", func(t *testing.T) {
		p, err := ParseStages("0s:0,10s:0,10.001s:100,20s:100")
		if err != nil {
			t.Fatal(err)
		}
		d, ok := p.Due(0)
		if !ok || d != 10*time.Second {
			t.Fatalf("Due(0) = %v, %v; want 10s (the first moment the rate is positive)", d, ok)
		}
		if got := p.RateAt(5 * time.Second); got != 0 {
			t.Errorf("RateAt(5s) = %v", got)
		}
	})
	t.Run("zero stage in the middle", func(t *testing.T) {
		p, err := ParseStages("0s:100,10s:100,10.001s:0,20s:0,20.001s:100,30s:100")
		if err != nil {
			t.Fatal(err)
		}
		ds := allDue(t, p, 1e6)
		checkMonotonic(t, ds)
		if n := countIn(ds, 10001*time.Millisecond, 20*time.Second); n != 0 {
			t.Errorf("%d hits while the rate is 0", n)
		}
		if n := countIn(ds, 0, 10*time.Second); n != 1000 {
			t.Errorf("%d hits in the first flat stage, want 1000", n)
		}
		if n := countIn(ds, 20001*time.Millisecond, 30*time.Second); n < 999 || n > 1001 {
			t.Errorf("%d hits in the last flat stage, want 1000±1", n)
		}
	})
	t.Run("flat stages are exact", func(t *testing.T) {
		p, err := ParseStages("0s:250,4s:250")
		if err != nil {
			t.Fatal(err)
		}
		ds := allDue(t, p, 1e6)
		if len(ds) != 1000 {
			t.Fatalf("hits = %d", len(ds))
		}
		for i, d := range ds {
			if d != time.Duration(i)*4*time.Millisecond {
				t.Fatalf("Due(%d) = %v", i, d)
			}
		}
	})
	t.Run("NewStagesPacer names the stage", func(t *testing.T) {
		_, err := NewStagesPacer([]Stage{{0, 10}, {time.Second, -1}})
		if err == nil || !strings.Contains(err.Error(), `stage 2 "1s:-1"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

// integral is an independent computation of ∫₀ᵗ rate for a stage list:
// exact trapezoids over each stage's overlap with [0, t).
func integral(stages []Stage, t time.Duration) float64 {
	var n float64
	for k := 1; k < len(stages); k++ {
		a, b := stages[k-1], stages[k]
		if t <= a.At {
			break
		}
		end := min(t, b.At)
		rateAt := func(x time.Duration) float64 {
			return a.Rate + (b.Rate-a.Rate)*float64(x-a.At)/float64(b.At-a.At)
		}
		n += (a.Rate + rateAt(end)) / 2 * (end - a.At).Seconds()
	}
	return n
}

func randomStages(rng *rand.Rand) []Stage {
	n := 2 + rng.IntN(5)
	stages := make([]Stage, n)
	var at time.Duration
	for i := range stages {
		if i > 0 {
			at += time.Duration(1 + rng.Int64N(int64(4*time.Second)))
		}
		rate := rng.Float64() * 2000
		switch rng.IntN(5) {
		case 0:
			rate = 0
		case 1:
			if i > 0 {
				rate = stages[i-1].Rate // flat stage
			}
		case 2:
			rate = math.Round(rate)
		}
		stages[i] = Stage{At: at, Rate: rate}
	}
	return stages
}

// TestStagesProperties checks, over random profiles, that due times never
// decrease, that the hits in any window match the integral of the rate
// within ±1, and that Expected agrees with the independent integral.
func TestStagesProperties(t *testing.T) {
	for seed := uint64(1); seed <= 150; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		stages := randomStages(rng)
		p, err := NewStagesPacer(stages)
		if err != nil {
			if strings.Contains(err.Error(), "every rate is 0") {
				continue
			}
			t.Fatalf("seed %d: %v", seed, err)
		}
		ds := allDue(t, p, 1e6)
		checkMonotonic(t, ds)
		end := p.Duration()
		total := integral(stages, end)
		if math.Abs(float64(len(ds))-total) > 1 {
			t.Fatalf("seed %d %s: %d hits, ∫ = %.3f", seed, p, len(ds), total)
		}
		for _, d := range ds {
			if d < 0 || d > end {
				t.Fatalf("seed %d %s: hit at %v outside [0, %v]", seed, p, d, end)
			}
		}
		for w := 0; w < 50; w++ {
			a := time.Duration(rng.Int64N(int64(end)))
			b := a + time.Duration(rng.Int64N(int64(end-a)+1))
			want := integral(stages, b) - integral(stages, a)
			got := countIn(ds, a, b)
			if math.Abs(float64(got)-want) > 1+1e-9 {
				t.Fatalf("seed %d %s: %d hits in [%v, %v), ∫ = %.3f", seed, p, got, a, b, want)
			}
			if e := p.Expected(b); math.Abs(e-integral(stages, b)) > 1e-6*max(1, e) {
				t.Fatalf("seed %d: Expected(%v) = %v, want %v", seed, b, e, integral(stages, b))
			}
		}
		// Round trip through the text form.
		q, err := ParseStages(p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("seed %d: round trip %q → %v, %v", seed, p, q, err)
		}
	}
}

func BenchmarkStagesDue(b *testing.B) {
	p, err := ParseStages("0s:100,30s:1000,2m:1000,3m:0")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		if _, ok := p.Due(i); !ok {
			i = 0
		}
		i++
	}
}
