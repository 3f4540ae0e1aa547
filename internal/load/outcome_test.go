package load

import (
	"encoding/json"
	"testing"
	"unsafe"
)

func TestOutcomeNames(t *testing.T) {
	want := []string{"approved", "declined", "timeout_reversed", "timeout_reversal_pending", "timed_out", "link_failed", "not_sent", "failed"}
	if len(want) != NumOutcomes {
		t.Fatalf("NumOutcomes = %d", NumOutcomes)
	}
	for i, w := range want {
		o := Outcome(i)
		if o.String() != w {
			t.Errorf("Outcome(%d) = %q, want %q", i, o, w)
		}
		p, err := ParseOutcome(w)
		if err != nil || p != o {
			t.Errorf("ParseOutcome(%q) = %v, %v", w, p, err)
		}
		b, err := json.Marshal(o)
		if err != nil || string(b) != `"`+w+`"` {
			t.Errorf("json(%v) = %s, %v", o, b, err)
		}
		var back Outcome
		if err := json.Unmarshal(b, &back); err != nil || back != o {
			t.Errorf("unmarshal %s = %v, %v", b, back, err)
		}
	}
	if Outcome(99).Valid() || Outcome(99).String() != "outcome(99)" {
		t.Errorf("Outcome(99) = %q", Outcome(99))
	}
	if _, err := ParseOutcome("timeout"); err == nil {
		t.Error("ParseOutcome(timeout): no error")
	}
	if _, err := json.Marshal(Outcome(99)); err == nil {
		t.Error("marshal invalid outcome: no error")
	}
}

func TestOutcomeClasses(t *testing.T) {
	for i := range NumOutcomes {
		o := Outcome(i)
		answered := o == Approved || o == Declined
		timedOut := o == TimedOutReversed || o == TimedOutReversalPending || o == TimedOutNoReversal
		if o.Answered() != answered || o.TimedOut() != timedOut {
			t.Errorf("%v: Answered %v TimedOut %v", o, o.Answered(), o.TimedOut())
		}
	}
	c := OutcomeCounts{10, 5, 3, 2, 2, 1, 4}
	if c.Total() != 27 || c.Answered() != 15 || c.TimedOut() != 7 || c.Errors() != 12 {
		t.Errorf("counts %v: total %d answered %d timedout %d errors %d", c, c.Total(), c.Answered(), c.TimedOut(), c.Errors())
	}
}

func TestOutcomeCountsJSON(t *testing.T) {
	c := OutcomeCounts{10, 5, 3, 2, 0, 1, 0}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"approved":10,"declined":5,"timeout_reversed":3,"timeout_reversal_pending":2,"timed_out":0,"link_failed":1,"not_sent":0,"failed":0}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	var back OutcomeCounts
	if err := json.Unmarshal(b, &back); err != nil || back != c {
		t.Errorf("round trip: %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"bogus":1}`), &back); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestRC(t *testing.T) {
	if MakeRC("05") != (RC{'0', '5'}) || MakeRC("05").String() != "05" {
		t.Error("MakeRC(05)")
	}
	for _, bad := range []string{"", "5", "005"} {
		if !MakeRC(bad).IsZero() {
			t.Errorf("MakeRC(%q) not zero", bad)
		}
	}
	if (RC{}).String() != "" {
		t.Error("zero RC string")
	}
	if v, ok := MakeRC("91").numeric(); !ok || v != 91 {
		t.Error("numeric 91")
	}
	if _, ok := MakeRC("N7").numeric(); ok {
		t.Error("N7 numeric")
	}
	if RCMeaning("51") != "insufficient funds" || RCMeaning("96") != "system malfunction" || RCMeaning("ZZ") != "" {
		t.Error("RCMeaning")
	}
}

// Result must stay a small value: it is passed by value once per
// transaction.
func TestResultSize(t *testing.T) {
	if s := unsafe.Sizeof(Result{}); s > 64 {
		t.Errorf("sizeof(Result) = %d, want ≤ 64", s)
	}
}
