package load

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// sampleReport records a known mix and builds a report from it.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	start := time.Unix(1_700_000_000, 0).UTC()
	a, b := NewRecorder(start), NewRecorder(start)
	ms := time.Millisecond
	for i := range 1000 {
		r := a
		if i%2 == 1 {
			r = b
		}
		at := time.Duration(i) * ms
		x := Result{Intended: at, Sent: at, Done: at + time.Duration(1+i%10)*ms, Outcome: Approved, RC: MakeRC("00"), TxType: "purchase"}
		switch {
		case i%100 == 0:
			x.Outcome, x.RC, x.Done = TimedOutReversed, RC{}, at+5*time.Second
		case i%100 == 1:
			x.Outcome, x.RC, x.Done = TimedOutReversalPending, RC{}, at+5*time.Second
		case i%50 == 2:
			x.Outcome, x.RC = Declined, MakeRC("51")
		case i%250 == 3:
			x.Outcome, x.RC = LinkFailed, RC{}
		case i%250 == 4:
			x.Outcome, x.RC = NotSent, RC{}
		case i%10 == 5:
			x.TxType = "balance"
		}
		if i%200 == 7 {
			x.Late, x.Sent = true, at+20*ms
			x.Done = x.Sent + 2*ms
		}
		r.Record(x)
	}
	rep := NewReport(Merge(a, b), time.Second, 0)
	rep.Seed = 42
	rep.MaxInFlight = 12
	rep.Reversals = Reversals{Sent: 20, Acked: 10}
	rep.LateResponses = 3
	rep.Faults = map[string]int64{"drop_response": 20, "delay": 5}
	rep.Notes = []string{"dialect iso87ascii"}
	return rep
}

func TestNewReport(t *testing.T) {
	r := sampleReport(t)
	if err := r.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := OutcomeCounts{Approved: 952, Declined: 20, TimedOutReversed: 10, TimedOutReversalPending: 10, LinkFailed: 4, NotSent: 4}
	if r.Requests != 1000 || r.Outcomes != want {
		t.Fatalf("requests %d outcomes %v, want %v", r.Requests, r.Outcomes, want)
	}
	if r.OfferedRate != 1000 {
		t.Errorf("offered %v", r.OfferedRate)
	}
	// Elapsed defaults to the last outcome: i=901 timed out at 5.901s.
	if r.Elapsed != 5901*time.Millisecond {
		t.Errorf("elapsed %v", r.Elapsed)
	}
	if want := 972 / 5.901; r.Throughput != want {
		t.Errorf("throughput %v, want %v", r.Throughput, want)
	}
	if r.SuccessRatio != 0.972 {
		t.Errorf("success %v", r.SuccessRatio)
	}
	if r.LateSends != 5 {
		t.Errorf("late %d", r.LateSends)
	}
	if r.Latency.Count != 996 || r.ServiceTime.Count != 996 {
		t.Errorf("latency samples %d / %d, want 996 (not_sent excluded)", r.Latency.Count, r.ServiceTime.Count)
	}
	if r.Latency.Min != time.Millisecond || r.Latency.Max < 5*time.Second || r.Latency.P50 < 5*time.Millisecond || r.Latency.P50 > 7*time.Millisecond {
		t.Errorf("latency %+v", r.Latency)
	}
	if r.Latency.P999 < r.Latency.P99 || r.Latency.P99 < r.Latency.P95 || r.Latency.P95 < r.Latency.P90 || r.Latency.P90 < r.Latency.P50 {
		t.Errorf("percentiles out of order %+v", r.Latency)
	}
	// Late sends waited 20 ms: latency from the intended time includes it,
	// service time does not.
	if r.ServiceTime.Mean >= r.Latency.Mean {
		t.Errorf("service mean %v ≥ latency mean %v", r.ServiceTime.Mean, r.Latency.Mean)
	}
	if len(r.ResponseCodes) != 2 || r.ResponseCodes[0] != (RCCount{"00", "approved", 952}) || r.ResponseCodes[1] != (RCCount{"51", "insufficient funds", 20}) {
		t.Errorf("RCs %+v", r.ResponseCodes)
	}
	if len(r.TxTypes) != 2 || r.TxTypes[0].Type != "balance" || r.TxTypes[0].Requests+r.TxTypes[1].Requests != 1000 {
		t.Errorf("types %+v", r.TxTypes)
	}
}

func TestReportCheck(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Report)
		want   string
	}{
		{"ok", func(*Report) {}, ""},
		{"lost transaction", func(r *Report) { r.Requests++ }, "outcome counts sum to 1000 but there were 1001 requests (-1)"},
		{"double count", func(r *Report) { r.Outcomes[LinkFailed]++ }, "outcome counts sum to 1001"},
		{"negative", func(r *Report) { r.Outcomes[LinkFailed] = -1; r.Outcomes[Declined] += 5 }, "outcome link_failed has a negative count -1"},
		{"rc", func(r *Report) { r.ResponseCodes[0].Count-- }, "response code counts sum to 971"},
		{"types", func(r *Report) { r.TxTypes[0].Requests--; r.TxTypes[0].Outcomes[Approved]-- }, "tx type counts sum to 999"},
		{"type outcomes", func(r *Report) { r.TxTypes[1].Outcomes[Declined]++ }, `tx type "purchase": outcome counts sum to`},
		{"latency", func(r *Report) { r.Latency.Count = 997 }, "997 latency samples for 996 requests sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleReport(t)
			tt.mutate(r)
			err := r.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReportEmpty(t *testing.T) {
	r := NewReport(NewMetrics(time.Now()), 0, 0)
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	if r.OfferedRate != 0 || r.Throughput != 0 || r.SuccessRatio != 0 {
		t.Errorf("empty report %+v", r)
	}
	if s := r.String(); !strings.Contains(s, "Latency") {
		t.Errorf("text %q", s)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func TestReportJSON(t *testing.T) {
	r := sampleReport(t)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"units", "seed", "started_at", "duration", "elapsed", "send_lag", "errors_by_cause", "series", "late_after_drain", "requests", "offered_rate", "throughput",
		"success_ratio", "latency", "service_time", "outcomes", "response_codes", "tx_types", "late_sends",
		"max_in_flight", "reversals", "late_responses", "unmatched_responses", "faults", "notes"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	lat := raw["latency"].(map[string]any)
	for _, k := range []string{"count", "min", "mean", "p50", "p90", "p95", "p99", "p999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency JSON lacks %q", k)
		}
	}
	if lat["min"] != 1.0 || raw["duration"] != 1000.0 || raw["elapsed"] != 5901.0 {
		t.Errorf("min %v duration %v elapsed %v", lat["min"], raw["duration"], raw["elapsed"])
	}
	if u := raw["units"].(map[string]any); u["durations"] != "ms" {
		t.Errorf("units %v", u)
	}
	if _, ok := raw["seed"].(string); !ok {
		t.Errorf("seed %v (%T): want a string", raw["seed"], raw["seed"])
	}
	if o := raw["outcomes"].(map[string]any); o["timeout_reversal_pending"] != 10.0 {
		t.Errorf("outcomes %v", o)
	}

	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.MarshalIndent(&back, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Errorf("round trip differs:\n%s\n---\n%s", b, b2)
	}
	if back.Latency != r.Latency || back.Duration != r.Duration || back.Elapsed != r.Elapsed || !back.StartedAt.Equal(r.StartedAt) {
		t.Errorf("round trip: %+v vs %+v", back.Latency, r.Latency)
	}
}

func TestReportText(t *testing.T) {
	r := sampleReport(t)
	s := r.String()
	t.Log("\n" + s)
	for _, want := range []string{
		"Seed", "42",
		"Requests", "[total, offered, throughput]", "1000, 1000.00/s, 164.72/s",
		"Latency", "[min, mean, 50, 90, 95, 99, 99.9, max]", "1ms, ",
		"Service time", "Success", "97.20%",
		"[late, max in flight]", "5, 12",
		"Reversals", "20, 10",
		"timeout_reversal_pending", "insufficient funds",
		"purchase", "drop_response", "- dialect iso87ascii",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	// Columns line up: every line of the first block has its value at the
	// same offset.
	lines := strings.Split(s, "\n")
	col := strings.Index(lines[0], "42")
	for _, l := range lines[1:9] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("misaligned %q (value column %d)", l, col)
		}
	}
}
