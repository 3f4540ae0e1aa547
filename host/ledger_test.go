package host

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func approved(tid, stan string) Tx {
	return Tx{TID: tid, STAN: stan, RRN: "612345000001", MTI: "0200", ProcCode: "000000",
		Amount: "000000001000", RC: "00", PANMasked: "400000******0002", State: Approved, At: time.Now()}
}

func declined(tid, stan, rc string) Tx {
	tx := approved(tid, stan)
	tx.RC, tx.State = rc, Declined
	return tx
}

func f90(mti, stan string) string { return buildField90(mti, stan, "0102150405", "123456", "") }

func TestRecordLookup(t *testing.T) {
	l := NewLedger()
	in := approved("TERM0001", "000123")
	l.Record(in)
	got, ok := l.Lookup("TERM0001", "000123")
	if !ok {
		t.Fatal("not found")
	}
	in.At = time.Unix(0, in.At.UnixNano()) // stored as wall-clock nanoseconds
	if got != in {
		t.Errorf("Lookup\n got %+v\nwant %+v", got, in)
	}
	// The key is normalised: padded TIDs and unpadded STANs name the same
	// transaction.
	if _, ok := l.Lookup("TERM0001    ", "123"); !ok {
		t.Error("padded TID / short STAN: not found")
	}
	if _, ok := l.Lookup("TERM0002", "000123"); ok {
		t.Error("other terminal: found")
	}
	// State derived from RC when not given.
	l.Record(Tx{TID: "T", STAN: "1", RC: "51"})
	if tx, _ := l.Lookup("T", "1"); tx.State != Declined || tx.At.IsZero() {
		t.Errorf("derived: %+v", tx)
	}
	l.Record(Tx{TID: "T", STAN: "2", RC: "00"})
	if tx, _ := l.Lookup("T", "2"); tx.State != Approved {
		t.Errorf("derived: %+v", tx)
	}
	c := l.Counts()
	if c.Approved != 2 || c.Declined != 1 || c.Stored != 3 {
		t.Errorf("counts %+v", c)
	}
}

func TestLedgerKeepsOnlyMaskedPAN(t *testing.T) {
	l := NewLedger()
	for _, tc := range []struct{ in, want string }{
		{"400000******0002", "400000******0002"},
		{"4000000000000002", "400000******0002"}, // a caller's mistake must not keep a full PAN
		{"4000000000000000002", "400000*********0002"},
		{"****1234", "****1234"},
		{"", ""},
	} {
		tx := approved("T", "1")
		tx.PANMasked = tc.in
		l.Record(tx)
		got, _ := l.Lookup("T", "1")
		if got.PANMasked != tc.want {
			t.Errorf("PANMasked %q stored as %q, want %q", tc.in, got.PANMasked, tc.want)
		}
	}
}

func TestReverse(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(l *Ledger)
		tid, stan   string // the reversal's TID and own STAN
		field90     string
		repeat      bool
		found, dup  bool
		state       TxState
		reason      string // substring; "" means Reason must be empty
		wantCounts  Counts
		ignoreCount bool
	}{
		{
			name:  "approved original by field 90",
			setup: func(l *Ledger) { l.Record(approved("TERM0001", "000010")) },
			tid:   "TERM0001", stan: "000011", field90: f90("0200", "000010"),
			found: true, state: Reversed,
			wantCounts: Counts{Approved: 1, Reversed: 1, ReversalsReceived: 1, Stored: 1},
		},
		{
			name:  "approved original, no field 90: the reversal's own STAN",
			setup: func(l *Ledger) { l.Record(approved("TERM0001", "000010")) },
			tid:   "TERM0001", stan: "000010",
			found: true, state: Reversed,
			wantCounts: Counts{Approved: 1, Reversed: 1, ReversalsReceived: 1, Stored: 1},
		},
		{
			name:  "first reversal to arrive is a repeat",
			setup: func(l *Ledger) { l.Record(approved("TERM0001", "000010")) },
			tid:   "TERM0001", stan: "000011", field90: f90("0200", "000010"), repeat: true,
			found: true, state: Reversed, reason: "first attempt never arrived",
			wantCounts: Counts{Approved: 1, Reversed: 1, ReversalsReceived: 1, Stored: 1},
		},
		{
			name:  "declined original: nothing to undo",
			setup: func(l *Ledger) { l.Record(declined("TERM0001", "000010", "51")) },
			tid:   "TERM0001", stan: "000011", field90: f90("0200", "000010"),
			found: true, state: Declined, reason: "original was declined (RC 51 insufficient funds): nothing to undo",
			wantCounts: Counts{Declined: 1, ReversalsReceived: 1, ReversalsOfDeclined: 1, Stored: 1},
		},
		{
			name: "unknown original",
			tid:  "TERM0001", stan: "000011", field90: f90("0200", "000010"),
			reason:     "no original for TID TERM0001 STAN 000010: acknowledged",
			wantCounts: Counts{ReversalsReceived: 1, ReversalsWithoutOriginal: 1, Stored: 1},
		},
		{
			name:  "other terminal's STAN is not the original",
			setup: func(l *Ledger) { l.Record(approved("TERM0002", "000010")) },
			tid:   "TERM0001", stan: "000011", field90: f90("0200", "000010"),
			reason:     "no original",
			wantCounts: Counts{Approved: 1, ReversalsReceived: 1, ReversalsWithoutOriginal: 1, Stored: 2},
		},
		{
			name:  "unreadable field 90 falls back to the reversal's STAN",
			setup: func(l *Ledger) { l.Record(approved("TERM0001", "000010")) },
			tid:   "TERM0001", stan: "000010", field90: "0200",
			found: true, state: Reversed, reason: "field 90 unreadable (field 90 has 4 characters, want 42), looked up the reversal's own STAN 000010",
			wantCounts: Counts{Approved: 1, Reversed: 1, ReversalsReceived: 1, Stored: 1},
		},
		{
			name:  "field 90 names another MTI: noted, still reversed",
			setup: func(l *Ledger) { l.Record(approved("TERM0001", "000010")) },
			tid:   "TERM0001", stan: "000011", field90: f90("0100", "000010"),
			found: true, state: Reversed, reason: "field 90 names original MTI 0100 but the ledger has 0200",
			wantCounts: Counts{Approved: 1, Reversed: 1, ReversalsReceived: 1, Stored: 1},
		},
		{
			name: "field 90 repeat digit is not a mismatch",
			setup: func(l *Ledger) {
				tx := approved("TERM0001", "000010")
				tx.MTI = "0201"
				l.Record(tx)
			},
			tid: "TERM0001", stan: "000011", field90: f90("0200", "000010"),
			found: true, state: Reversed, ignoreCount: true,
		},
		{
			name: "no TID",
			tid:  "", stan: "000011",
			reason:     "cannot name a transaction",
			wantCounts: Counts{ReversalsReceived: 1, ReversalsWithoutOriginal: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLedger()
			if tc.setup != nil {
				tc.setup(l)
			}
			out := l.Reverse(tc.tid, tc.stan, tc.field90, tc.repeat)
			if out.Found != tc.found || out.AlreadyReversed != tc.dup {
				t.Errorf("Found %v AlreadyReversed %v, want %v %v (%+v)", out.Found, out.AlreadyReversed, tc.found, tc.dup, out)
			}
			if tc.found && (out.Original.State != tc.state || out.Original.Reversals != 1) {
				t.Errorf("original %+v, want state %v and 1 reversal", out.Original, tc.state)
			}
			if tc.reason == "" && out.Reason != "" || !strings.Contains(out.Reason, tc.reason) {
				t.Errorf("reason %q, want %q", out.Reason, tc.reason)
			}
			if c := l.Counts(); !tc.ignoreCount && c != tc.wantCounts {
				t.Errorf("counts\n got %+v\nwant %+v", c, tc.wantCounts)
			}
		})
	}
}

// A terminal that gets no answer to its 0400 repeats it as 0401, maybe many
// times; a careless one sends the same 0400 again. Only the first has an
// effect.
func TestReverseRepeatsAreIdempotent(t *testing.T) {
	l := NewLedger()
	l.Record(approved("TERM0001", "000010"))
	l.Record(declined("TERM0001", "000020", "05"))
	field90 := f90("0200", "000010")
	first := l.Reverse("TERM0001", "000011", field90, false)
	if !first.Found || first.AlreadyReversed || first.Reason != "" {
		t.Fatalf("first: %+v", first)
	}
	for i := range 3 {
		out := l.Reverse("TERM0001", "000011", field90, true)
		if !out.Found || !out.AlreadyReversed || !strings.Contains(out.Reason, "repeat of a reversal already received") {
			t.Fatalf("repeat %d: %+v", i, out)
		}
		if out.Original.Reversals != i+2 {
			t.Errorf("repeat %d: Reversals %d", i, out.Original.Reversals)
		}
	}
	again := l.Reverse("TERM0001", "000011", field90, false)
	if !again.AlreadyReversed || !strings.Contains(again.Reason, "without the repeat flag") {
		t.Errorf("same again: %+v", again)
	}
	// Repeats of a declined original's reversal are duplicates too, and
	// never make it reversed.
	l.Reverse("TERM0001", "000021", f90("0200", "000020"), false)
	dup := l.Reverse("TERM0001", "000021", f90("0200", "000020"), true)
	if dup.AlreadyReversed || dup.Original.State != Declined || !strings.Contains(dup.Reason, "repeat") {
		t.Errorf("declined repeat: %+v", dup)
	}
	// Repeats of a reversal without original.
	l.Reverse("TERM0009", "000031", f90("0200", "000030"), false)
	orphan := l.Reverse("TERM0009", "000031", f90("0200", "000030"), true)
	if orphan.Found || !orphan.AlreadyReversed || !strings.Contains(orphan.Reason, "never seen") {
		t.Errorf("orphan repeat: %+v", orphan)
	}
	want := Counts{
		Approved: 1, Declined: 1, Reversed: 1,
		ReversalsReceived: 9, DuplicateReversals: 6, ReversalsOfDeclined: 1, ReversalsWithoutOriginal: 1,
		Stored: 3,
	}
	if c := l.Counts(); c != want {
		t.Errorf("counts\n got %+v\nwant %+v", c, want)
	}
	if tx, _ := l.Lookup("TERM0001", "000010"); tx.State != Reversed || tx.Reversals != 5 {
		t.Errorf("original after repeats: %+v", tx)
	}
	if _, ok := l.Lookup("TERM0009", "000030"); ok {
		t.Error("Lookup found a reversal without original")
	}
}

// The reversal can overtake its original (the request held up on the way
// past the terminal's timeout): the original then stands reversed.
func TestOriginalAfterReversal(t *testing.T) {
	l := NewLedger()
	out := l.Reverse("TERM0001", "000011", f90("0200", "000010"), false)
	if out.Found {
		t.Fatal("found before the original")
	}
	l.Record(approved("TERM0001", "000010"))
	tx, ok := l.Lookup("TERM0001", "000010")
	if !ok || tx.State != Reversed || tx.Reversals != 1 {
		t.Errorf("late original: %+v %v", tx, ok)
	}
	// A repeat now finds it, already reversed.
	if out := l.Reverse("TERM0001", "000011", f90("0200", "000010"), true); !out.Found || !out.AlreadyReversed {
		t.Errorf("repeat after late original: %+v", out)
	}
	// A STAN reused long after an orphan reversal is a new transaction.
	l.Reverse("TERM0001", "", f90("0200", "000050"), false)
	tx = approved("TERM0001", "000050")
	tx.At = time.Now().Add(orphanWindow + time.Minute)
	l.Record(tx)
	if got, _ := l.Lookup("TERM0001", "000050"); got.State != Approved {
		t.Errorf("reused STAN after the window: %v", got.State)
	}
	c := l.Counts()
	if c.OriginalsAfterReversal != 1 || c.Reversed != 1 || c.ReversalsWithoutOriginal != 2 || c.DuplicateReversals != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestRecordReplacesReusedSTAN(t *testing.T) {
	l := NewLedger()
	l.Record(approved("T", "000001"))
	l.Reverse("T", "000002", f90("0200", "000001"), false)
	l.Record(declined("T", "000001", "05")) // STAN wrapped round
	if tx, _ := l.Lookup("T", "000001"); tx.State != Declined || tx.Reversals != 0 {
		t.Errorf("reused STAN: %+v", tx)
	}
}

func TestUnkeyed(t *testing.T) {
	l := NewLedger()
	l.Record(approved("TERMINAL99", "1"))
	l.Record(declined("T", "", "05"))
	l.Record(approved("T", "12345678"))
	c := l.Counts()
	if c.Unkeyed != 3 || c.Approved != 2 || c.Declined != 1 || c.Stored != 0 {
		t.Errorf("counts %+v", c)
	}
}

// Many link workers record and reverse at once (run with -race).
func TestLedgerConcurrent(t *testing.T) {
	const terminals, perTerminal = 32, 300
	l := NewLedger()
	var wg sync.WaitGroup
	for term := range terminals {
		wg.Go(func() {
			tid := fmt.Sprintf("TERM%04d", term)
			for i := 1; i <= perTerminal; i++ {
				stan := fmt.Sprintf("%06d", i)
				if i%3 == 0 {
					l.Record(declined(tid, stan, "51"))
				} else {
					l.Record(approved(tid, stan))
				}
			}
		})
	}
	wg.Wait()
	// Every terminal reverses each fifth transaction twice, from two
	// goroutines racing each other, and reverses 10 it never sent.
	for term := range terminals {
		for range 2 {
			wg.Go(func() {
				tid := fmt.Sprintf("TERM%04d", term)
				for i := 5; i <= perTerminal; i += 5 {
					l.Reverse(tid, "999999", f90("0200", fmt.Sprintf("%06d", i)), true)
					l.Lookup(tid, fmt.Sprintf("%06d", i))
					_ = l.Counts()
				}
			})
		}
		wg.Go(func() {
			tid := fmt.Sprintf("TERM%04d", term)
			for i := range 10 {
				l.Reverse(tid, "999999", f90("0200", fmt.Sprintf("%06d", 500000+i)), false)
			}
		})
	}
	wg.Wait()
	reversedPerTerm, declinedReversedPerTerm := 0, 0
	for i := 5; i <= perTerminal; i += 5 {
		if i%3 == 0 {
			declinedReversedPerTerm++
		} else {
			reversedPerTerm++
		}
	}
	perTermReversals := perTerminal / 5
	want := Counts{
		Approved:                 terminals * (perTerminal - perTerminal/3),
		Declined:                 terminals * perTerminal / 3,
		Reversed:                 uint64(terminals * reversedPerTerm),
		ReversalsReceived:        uint64(terminals * (2*perTermReversals + 10)),
		DuplicateReversals:       uint64(terminals * perTermReversals),
		ReversalsWithoutOriginal: terminals * 10,
		ReversalsOfDeclined:      uint64(terminals * declinedReversedPerTerm),
		Stored:                   terminals * (perTerminal + 10),
	}
	if c := l.Counts(); c != want {
		t.Errorf("counts\n got %+v\nwant %+v", c, want)
	}
	for term := range terminals {
		tid := fmt.Sprintf("TERM%04d", term)
		for i := 5; i <= perTerminal; i += 5 {
			tx, _ := l.Lookup(tid, fmt.Sprintf("%06d", i))
			if tx.Reversals != 2 || (i%3 != 0) != (tx.State == Reversed) {
				t.Fatalf("%s %d: %+v", tid, i, tx)
			}
		}
	}
}

func TestField90(t *testing.T) {
	s := buildField90("0200", "123", "0102150405", "123456", "")
	if s != "0200000123010215040500000123456"+"00000000000" {
		t.Fatalf("built %q", s)
	}
	if len(s) != 42 {
		t.Fatalf("len %d", len(s))
	}
	mti, stan, dt, err := ParseField90(s)
	if err != nil || mti != "0200" || stan != "000123" || dt != "0102150405" {
		t.Errorf("round trip: %q %q %q %v", mti, stan, dt, err)
	}
	// Too-long parts keep their rightmost digits; the layout never shifts.
	if s := buildField90("0100", "1000123", "0102150405", "999912345678901", "1"); len(s) != 42 || s[4:10] != "000123" || s[20:31] != "12345678901" || s[31:] != "00000000001" {
		t.Errorf("long parts: %q", s)
	}
	for _, bad := range []struct{ in, want string }{
		{"", "has 0 characters"},
		{strings.Repeat("0", 41), "has 41 characters"},
		{"0200ABCDEF" + strings.Repeat("0", 32), "not all digits"},
		{"0200000000" + strings.Repeat("0", 32), "no original STAN"},
	} {
		if _, _, _, err := ParseField90(bad.in); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseField90(%q): %v, want %q", bad.in, err, bad.want)
		}
	}
}

func TestTxStateString(t *testing.T) {
	for s, want := range map[TxState]string{Approved: "approved", Declined: "declined", Reversed: "reversed", 0: "unknown"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

func BenchmarkLedgerRecord(b *testing.B) {
	l := NewLedger()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		tx := approved("TERM0001", "")
		stans := make([]string, 1000)
		for i := range stans {
			stans[i] = fmt.Sprintf("%06d", i)
		}
		i := 0
		for pb.Next() {
			tx.STAN = stans[i%len(stans)]
			i++
			l.Record(tx)
		}
	})
}

// Field 90 comes from the network: no input may panic, and whatever parses
// must build back to itself.
func FuzzParseField90(f *testing.F) {
	f.Add(f90("0200", "000123"))
	f.Add(strings.Repeat("9", 42))
	f.Add("0200")
	f.Fuzz(func(t *testing.T, s string) {
		mti, stan, dt, err := ParseField90(s)
		if err != nil {
			return
		}
		if got := buildField90(mti, stan, dt, s[20:31], s[31:]); got != s {
			t.Errorf("%q rebuilt as %q", s, got)
		}
	})
}

// A load test must not grow the host without end: the ledger forgets its
// oldest entries when full, and counts them.
func TestLedgerIsBounded(t *testing.T) {
	l := NewLedgerMax(shardCount * 4) // 4 per shard
	for i := range 10_000 {
		l.Record(Tx{TID: "TERM0001", STAN: fmt.Sprintf("%06d", i+1), RC: "00"})
	}
	c := l.Counts()
	if c.Stored > shardCount*4 || c.Evicted != uint64(10_000-c.Stored) || c.Approved != 10_000 {
		t.Fatalf("counts %+v", c)
	}
	// The newest are still there; a reversal of a forgotten one is taken as without original.
	if _, ok := l.Lookup("TERM0001", "010000"); !ok {
		t.Fatal("newest entry forgotten")
	}
	if out := l.Reverse("TERM0001", "999999", buildField90("0200", "000001", "1127101500", "", ""), false); out.Found {
		t.Fatalf("evicted original still found: %+v", out)
	}
}

// buildField90 lays out field 90 for a reversal of the transaction sent as
// mti with STAN stan at dateTime (field 7, MMDDhhmmss), acquired by acq
// (field 32) and forwarded by fwd (field 33, "" if none). Each part is
// zero-padded on the left to its width; a longer value keeps its rightmost
// digits. The host only reads field 90 (ParseField90); the tests build it.
func buildField90(mti, stan, dateTime, acq, fwd string) string {
	var b strings.Builder
	b.Grow(f90Len)
	put := func(v string, w int) {
		if len(v) > w {
			v = v[len(v)-w:]
		}
		for i := len(v); i < w; i++ {
			b.WriteByte('0')
		}
		b.WriteString(v)
	}
	put(mti, 4)
	put(stan, 6)
	put(dateTime, 10)
	put(acq, 11)
	put(fwd, 11)
	return b.String()
}
