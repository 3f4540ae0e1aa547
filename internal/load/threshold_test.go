package load

import (
	"strings"
	"testing"
	"time"
)

func thresholdReport() *Report {
	return &Report{
		Requests:   1000,
		Throughput: 950,
		Latency: LatencyStats{Count: 990, Min: time.Millisecond, Mean: 8 * time.Millisecond, P50: 6 * time.Millisecond,
			P90: 20 * time.Millisecond, P95: 30 * time.Millisecond, P99: 45 * time.Millisecond, P999: 200 * time.Millisecond, Max: time.Second},
		ServiceTime: LatencyStats{Count: 990, P99: 4 * time.Millisecond, Max: 10 * time.Millisecond},
		Outcomes:    OutcomeCounts{Approved: 960, Declined: 20, TimedOutReversed: 5, TimedOutReversalPending: 3, LinkFailed: 1, NotSent: 11},
		LateSends:   7,
	}
}

func TestThresholds(t *testing.T) {
	r := thresholdReport()
	tests := []struct {
		in     string
		ok     bool
		actual string
	}{
		{"p99<50ms", true, "45ms"},
		{"p99<45ms", false, "45ms"},
		{"p99<=45ms", true, "45ms"},
		{" p99.9 <= 200ms ", true, "200ms"},
		{"p99.9<200ms", false, "200ms"},
		{"mean<10ms", true, "8ms"},
		{"min>=1ms", true, "1ms"},
		{"p50<5ms", false, "6ms"},
		{"p90<=20ms", true, "20ms"},
		{"p95<1s", true, "30ms"},
		{"max<1s", false, "1s"},
		{"service_p99<5ms", true, "4ms"},
		{"service_max<5ms", false, "10ms"},
		{"timeout_rate<0.01", true, "0.008"},
		{"timeout_rate<0.5%", false, "0.008"},
		{"error_rate<0.001", false, "0.02"},
		{"error_rate<=2%", true, "0.02"},
		{"approved_rate>0.95", true, "0.96"},
		{"approved_rate>96%", false, "0.96"},
		{"declined_rate<0.05", true, "0.02"},
		{"success_rate>=0.98", true, "0.98"},
		{"late_rate<0.01", true, "0.007"},
		{"tps>=900", true, "950.0/s"},
		{"tps>950/s", false, "950.0/s"},
	}
	for _, tt := range tests {
		th, err := ParseThreshold(tt.in)
		if err != nil {
			t.Errorf("ParseThreshold(%q): %v", tt.in, err)
			continue
		}
		ok, actual := th.Eval(r)
		if ok != tt.ok || actual != tt.actual {
			t.Errorf("%q: Eval = %v, %q; want %v, %q", tt.in, ok, actual, tt.ok, tt.actual)
		}
		if got := th.String(); got != strings.ReplaceAll(strings.TrimSpace(tt.in), " ", "") {
			t.Errorf("String() = %q", got)
		}
	}
}

func TestThresholdErrors(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"p99", []string{`threshold "p99"`, "no operator", "<, <=, >, >="}},
		{"p99=50ms", []string{"no operator", "<, <=, >, >="}},
		{"p99==50ms", []string{"no operator"}},
		{"p99=<50ms", []string{"bad operator", "<, <=, >, >="}},
		{"p99<<50ms", []string{"bad operator"}},
		{"p99<=>50ms", []string{"bad operator"}},
		{"<50ms", []string{"missing metric", "valid metrics: min, mean, p50"}},
		{"p98<50ms", []string{`unknown metric "p98"`, "p99.9", "service_p99", "approved_rate", "tps"}},
		{"latency<50ms", []string{`unknown metric "latency"`}},
		{"p99<", []string{"missing value"}},
		{"p99<50", []string{`bad value "50"`, "duration with a unit"}},
		{"p99<-5ms", []string{`bad value "-5ms"`}},
		{"timeout_rate<2", []string{`bad value "2"`, "fraction in [0, 1]", "percentage"}},
		{"timeout_rate<150%", []string{`bad value "150%"`}},
		{"timeout_rate<abc", []string{`bad value "abc"`}},
		{"tps>=fast", []string{`bad value "fast"`, "transactions per second"}},
		{"tps>=-1", []string{`bad value "-1"`}},
	}
	for _, tt := range tests {
		_, err := ParseThreshold(tt.in)
		if err == nil {
			t.Errorf("ParseThreshold(%q): no error", tt.in)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseThreshold(%q) = %q, want it to contain %q", tt.in, err, w)
			}
		}
	}
}

func TestThresholdEmptyRunFails(t *testing.T) {
	for _, s := range []string{"p99<50ms", "timeout_rate<0.01", "tps>=0"} {
		th, err := ParseThreshold(s)
		if err != nil {
			t.Fatal(err)
		}
		if ok, actual := th.Eval(&Report{}); ok || actual != "no requests" {
			t.Errorf("%s on an empty report: %v, %q", s, ok, actual)
		}
	}
	th, _ := ParseThreshold("p99<50ms")
	if ok, actual := th.Eval(&Report{Requests: 3, Outcomes: OutcomeCounts{NotSent: 3}}); ok || actual != "no latency samples" {
		t.Errorf("no samples: %v, %q", ok, actual)
	}
}

func TestParseThresholds(t *testing.T) {
	ts, err := ParseThresholds([]string{"p99<50ms", "tps>=900"})
	if err != nil || len(ts) != 2 {
		t.Fatalf("%v, %v", ts, err)
	}
	if _, err := ParseThresholds([]string{"p99<50ms", "bogus>1"}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v", err)
	}
	if n := len(ThresholdMetrics()); n != 23 {
		t.Errorf("%d metrics", n)
	}
}
