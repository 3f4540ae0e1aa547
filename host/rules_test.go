package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/testkit/isokit"
)

// req builds a request on the ASCII dialect from "id=value" pairs, id 0 the
// MTI.
func req(t testing.TB, fields map[int]string) *iso8583.Message {
	t.Helper()
	d, err := iso.Lookup("iso87ascii")
	if err != nil {
		t.Fatal(err)
	}
	return isokit.Message(t, d, fields)
}

// purchase is a 0200 with the given PAN and amount from TERM0001.
func purchase(t testing.TB, pan, amount string) *iso8583.Message {
	return req(t, map[int]string{0: "0200", 2: pan, 3: "000000", 4: amount, 11: "000001", 41: "TERM0001"})
}

func mustParse(t *testing.T, y string) *RuleSet {
	t.Helper()
	rs, err := ParseRules("test.yaml", []byte(y))
	if err != nil {
		t.Fatalf("ParseRules: %v", err)
	}
	return rs
}

func TestDecideSelectors(t *testing.T) {
	rs := mustParse(t, `
rules:
  - name: auth only
    match: {mti: "0100"}
    respond: {rc: "01"}
  - name: refunds
    match: {processing_code: "20"}
    respond: {rc: "57"}
  - name: mid amounts
    match: {amount: "50000..99999999"}
    respond: {rc: "13", delay: 250ms}
  - name: small
    match: {amount: "..100"}
    respond: {rc: "00", approval_code: "A1B2C3"}
  - name: huge
    match: {amount: "100000000.."}
    respond: {rc: "61"}
  - name: bin
    match: {pan_prefix: ["5100", "5200"]}
    respond: {rc: "62"}
  - name: card
    match: {pan: "4111111111111111"}
    respond: {rc: "43"}
  - name: terminal
    match: {tid: ["TERM0002", "TERM0003"]}
    respond: {rc: "58"}
  - match:
      mti: ["0200"]
      processing_code: "31"
    respond: {rc: "12"}
default: {rc: "05"}
`)
	base := func() map[int]string {
		return map[int]string{0: "0200", 2: "4000000000001000", 3: "000000", 4: "1000", 11: "000001", 41: "TERM0001"}
	}
	with := func(kv map[int]string) map[int]string {
		f := base()
		for k, v := range kv {
			f[k] = v
		}
		return f
	}
	tests := []struct {
		name   string
		fields map[int]string
		rule   string
		rc     string
	}{
		{"nothing matches: default", base(), "default", "05"},
		{"mti", with(map[int]string{0: "0100"}), "auth only", "01"},
		{"mti is exact (0101 is not 0100)", with(map[int]string{0: "0101"}), "default", "05"},
		{"processing code prefix", with(map[int]string{3: "200000"}), "refunds", "57"},
		{"processing code prefix, other account", with(map[int]string{3: "203000"}), "refunds", "57"},
		{"amount at min", with(map[int]string{4: "50000"}), "mid amounts", "13"},
		{"amount at max", with(map[int]string{4: "99999999"}), "mid amounts", "13"},
		{"amount below min", with(map[int]string{4: "49999"}), "default", "05"},
		{"open min, at max", with(map[int]string{4: "100"}), "small", "00"},
		{"open min, zero", with(map[int]string{4: "0"}), "small", "00"},
		{"open min, above", with(map[int]string{4: "101"}), "default", "05"},
		{"open max, at min", with(map[int]string{4: "100000000"}), "huge", "61"},
		{"open max, field max", with(map[int]string{4: "999999999999"}), "huge", "61"},
		{"just above a range", with(map[int]string{4: "100000000"}), "huge", "61"},
		{"no amount: amount rules skip", map[int]string{0: "0200", 2: "4000000000001000", 3: "000000", 11: "1", 41: "TERM0001"}, "default", "05"},
		{"pan prefix first", with(map[int]string{2: "5100000000000008"}), "bin", "62"},
		{"pan prefix second", with(map[int]string{2: "5200000000000007"}), "bin", "62"},
		{"pan prefix miss", with(map[int]string{2: "5300000000000006"}), "default", "05"},
		{"full pan", with(map[int]string{2: "4111111111111111"}), "card", "43"},
		{"full pan is exact", with(map[int]string{2: "41111111111111112"}), "default", "05"},
		{"pan from track 2", map[int]string{0: "0200", 3: "000000", 4: "1000", 11: "1", 35: "4111111111111111=25121010000000000000", 41: "TERM0001"}, "card", "43"},
		{"pan from track 2, D separator", map[int]string{0: "0200", 3: "000000", 4: "1000", 11: "1", 35: "4111111111111111D2512101", 41: "TERM0001"}, "card", "43"},
		{"tid", with(map[int]string{41: "TERM0003"}), "terminal", "58"},
		{"tid short, space padded", with(map[int]string{41: "TERM0002"}), "terminal", "58"},
		{"unnamed rule: all selectors", with(map[int]string{3: "310000"}), "rule 9", "12"},
		{"unnamed rule: one selector misses", with(map[int]string{0: "0220", 3: "310000"}), "default", "05"},
		{"first match wins (amount before pan)", with(map[int]string{2: "4111111111111111", 4: "60000"}), "mid amounts", "13"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := rs.Decide(req(t, tc.fields))
			if d.Rule != tc.rule || d.RC != tc.rc {
				t.Errorf("got rule %q rc %s, want rule %q rc %s", d.Rule, d.RC, tc.rule, tc.rc)
			}
		})
	}
	if d := rs.Decide(req(t, with(map[int]string{4: "60000"}))); d.Delay != 250*time.Millisecond {
		t.Errorf("delay %v, want 250ms", d.Delay)
	}
	if d := rs.Decide(req(t, with(map[int]string{4: "1"}))); d.ApprovalCode != "A1B2C3" {
		t.Errorf("approval code %q", d.ApprovalCode)
	}
}

// A message as the host sees it, unpacked from the wire: fixed fields come
// back without padding, TID matched either way.
func TestDecideUnpacked(t *testing.T) {
	rs := mustParse(t, `
rules:
  - match: {tid: "T1", amount: "5"}
    respond: {rc: "58"}
`)
	d, _ := iso.Lookup("iso87ascii")
	b, err := d.Pack(req(t, map[int]string{0: "0100", 2: "4000000000001000", 3: "0", 4: "5", 11: "7", 41: "T1"}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.Unpack(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Decide(m); got.RC != "58" {
		t.Errorf("unpacked: rc %s (%s), want 58", got.RC, got.Rule)
	}
}

func TestDefaultWhenAbsent(t *testing.T) {
	rs := mustParse(t, "rules: []\n")
	if d := rs.Decide(purchase(t, "4000000000001000", "1")); d.RC != "00" || d.Rule != "default" {
		t.Errorf("got %+v, want default 00", d)
	}
	rs = mustParse(t, `
rules:
  - match: {pan_prefix: "4"}
    respond: {rc: "51"}
  - respond: {rc: "96"}
`)
	if d := rs.Decide(purchase(t, "5100000000000008", "1")); d.RC != "96" || d.Rule != "rule 2" {
		t.Errorf("catch-all last rule: got %+v", d)
	}
}

func TestLongListsUseSets(t *testing.T) {
	var y strings.Builder
	y.WriteString("rules:\n  - match:\n      pan:\n")
	for i := range 20 {
		y.WriteString("        - \"40000000000010" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + "\"\n")
	}
	y.WriteString("    respond: {rc: \"62\"}\n")
	rs := mustParse(t, y.String())
	if rs.steps[0].panIdx == nil {
		t.Fatal("20 PANs: want a map")
	}
	if d := rs.Decide(purchase(t, "4000000000001019", "1")); d.RC != "62" {
		t.Errorf("listed PAN: rc %s", d.RC)
	}
	if d := rs.Decide(purchase(t, "4000000000001020", "1")); d.RC != "00" {
		t.Errorf("unlisted PAN: rc %s", d.RC)
	}
}

// Runs of PAN-only rules are merged into one lookup; the merge must keep
// first-match-wins, within a run and around other rules.
func TestPANRunsKeepOrder(t *testing.T) {
	rs := mustParse(t, `
rules:
  - name: a
    match: {pan: "4000000000000002"}
    respond: {rc: "51"}
  - name: b
    match: {pan: ["4000000000000002", "4000000000000010"]}
    respond: {rc: "54"}
  - name: big
    match: {amount: "1000.."}
    respond: {rc: "61"}
  - name: c
    match: {pan: "4000000000000028"}
    respond: {rc: "14"}
  - name: d
    match: {pan: "4000000000000036"}
    respond: {rc: "41"}
`)
	if len(rs.steps) != 3 {
		t.Fatalf("%d steps, want 3 (run, amount, run)", len(rs.steps))
	}
	for _, tc := range []struct{ pan, amount, rule string }{
		{"4000000000000002", "1", "a"},
		{"4000000000000010", "1", "b"},
		{"4000000000000002", "5000", "a"}, // the run before the amount rule wins
		{"4000000000000028", "5000", "big"},
		{"4000000000000028", "1", "c"},
		{"4000000000000036", "1", "d"},
		{"4000000000000044", "1", "default"},
	} {
		if d := rs.Decide(purchase(t, tc.pan, tc.amount)); d.Rule != tc.rule {
			t.Errorf("pan %s amount %s: rule %q, want %q", tc.pan, tc.amount, d.Rule, tc.rule)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "rules: []\ndefaults: {rc: \"00\"}\n",
			`test.yaml:2: the rules file: unknown key "defaults" (did you mean "default"?) (known keys: rules, default)`},
		{"unknown rule key", "rules:\n  - name: x\n    respond: {rc: \"00\"}\n    comment: hi\n",
			`test.yaml:4: rule 1 ("x"): unknown key "comment"`},
		{"unknown match key, deep", "rules:\n  - name: a\n    match: {pan: \"4000000000000002\"}\n    respond: {rc: \"51\"}\n  - name: big amounts\n    match:\n      amount: \"10..\"\n      colour: red\n    respond: {rc: \"61\"}\n",
			`test.yaml:8: rule 2 ("big amounts"): match: unknown key "colour" (known keys: mti, processing_code, amount, pan, pan_prefix, tid)`},
		{"unknown respond key", "rules:\n  - match: {tid: T}\n    respond:\n      rc: \"00\"\n      dealy: 1s\n",
			`test.yaml:5: rule 1: respond: unknown key "dealy"`},
		{"duplicate key", "rules:\n  - match: {tid: T}\n    respond: {rc: \"00\"}\n    respond: {rc: \"05\"}\n",
			`test.yaml:4: rule 1: key "respond" given twice (first at line 3)`},
		{"bad range", "rules:\n  - name: big amounts\n    match: {amount: \"10..x\"}\n    respond: {rc: \"61\"}\n",
			`test.yaml:3: rule 1 ("big amounts"): match: amount range "10..x": max "x" is not a whole number`},
		{"decimal amount", "rules:\n  - match: {amount: \"10.50\"}\n    respond: {rc: \"61\"}\n",
			`minor units: write 1000.00 as 100000`},
		{"min > max", "rules:\n  - match: {amount: \"200..100\"}\n    respond: {rc: \"61\"}\n",
			`test.yaml:2: rule 1: match: amount range "200..100": min 200 is greater than max 100`},
		{"empty range", "rules:\n  - match: {amount: \"..\"}\n    respond: {rc: \"61\"}\n",
			`needs at least one bound`},
		{"amount too long", "rules:\n  - match: {amount: \"1234567890123\"}\n    respond: {rc: \"61\"}\n",
			`field 4 has 12 digits`},
		{"rc one digit (unquoted 5)", "rules:\n  - match: {tid: T}\n    respond: {rc: 5}\n",
			`test.yaml:3: rule 1: respond: rc "5": want 2 letters or digits`},
		{"rc three chars", "default: {rc: \"000\"}\n", `test.yaml:1: default: rc "000"`},
		{"rc missing", "rules:\n  - match: {tid: T}\n    respond: {delay: 1s}\n", `test.yaml:3: rule 1: respond: missing rc`},
		{"respond missing", "rules:\n  - name: r\n    match: {tid: T}\n", `test.yaml:2: rule 1 ("r"): missing respond`},
		{"bad delay", "rules:\n  - match: {tid: T}\n    respond: {rc: \"00\", delay: 5 seconds}\n",
			`test.yaml:3: rule 1: respond: delay "5 seconds": want a Go duration`},
		{"negative delay", "rules:\n  - match: {tid: T}\n    respond: {rc: \"00\", delay: -1s}\n", `must not be negative`},
		{"mti not 4 digits", "rules:\n  - match: {mti: [\"0200\", \"200\"]}\n    respond: {rc: \"00\"}\n",
			`test.yaml:2: rule 1: match: mti "200": want 4 digits`},
		{"mti reversal", "rules:\n  - match: {mti: \"0400\"}\n    respond: {rc: \"00\"}\n", `the host answers responses, reversals and network management itself`},
		{"mti network", "rules:\n  - match: {mti: \"0800\"}\n    respond: {rc: \"00\"}\n", `mti "0800": rules decide only`},
		{"empty match not last", "rules:\n  - name: everything\n    respond: {rc: \"00\"}\n  - match: {tid: T}\n    respond: {rc: \"05\"}\n",
			`test.yaml:2: rule 1 ("everything"): empty match matches every request, so the 1 rule(s) after it could never match: only the last rule may have an empty match`},
		{"empty match {} not last", "rules:\n  - match: {}\n    respond: {rc: \"00\"}\n  - match: {tid: T}\n    respond: {rc: \"05\"}\n",
			`only the last rule may have an empty match`},
		{"catch-all and default", "rules:\n  - respond: {rc: \"00\"}\ndefault: {rc: \"05\"}\n",
			`test.yaml:3: default: never used, because rule 1 (test.yaml:2) has an empty match`},
		{"empty list", "rules:\n  - match: {tid: []}\n    respond: {rc: \"00\"}\n", `tid: an empty list matches nothing`},
		{"pan too short", "rules:\n  - match: {pan: \"400000\"}\n    respond: {rc: \"00\"}\n", `use pan_prefix for a prefix`},
		{"pan and prefix", "rules:\n  - match: {pan: \"4000000000000002\", pan_prefix: \"4\"}\n    respond: {rc: \"00\"}\n", `give pan or pan_prefix, not both`},
		{"processing code letters", "rules:\n  - match: {processing_code: \"AB\"}\n    respond: {rc: \"00\"}\n", `processing_code "AB": want 1 to 6 digits`},
		{"tid too long", "rules:\n  - match: {tid: \"TERMINAL9\"}\n    respond: {rc: \"00\"}\n", `tid "TERMINAL9": want 1 to 8 characters`},
		{"approval code on decline", "rules:\n  - match: {tid: T}\n    respond: {rc: \"51\", approval_code: \"A1B2C3\"}\n",
			`approval_code given but rc 51 (insufficient funds) is not an approval`},
		{"approval code short", "default: {rc: \"00\", approval_code: \"AB\"}\n", `approval_code "AB": want 6 letters or digits`},
		{"rules not a list", "rules: {rc: \"00\"}\n", `test.yaml:1: rules: want a list of rules, got a mapping`},
		{"rule not a mapping", "rules:\n  - just text\n", `test.yaml:2: rule 1: want a mapping (key: value), got "just text"`},
		{"mti nested list", "rules:\n  - match: {mti: [[\"0100\"]]}\n    respond: {rc: \"00\"}\n", `list items must be single values`},
		{"yaml syntax", "rules:\n  - match: {tid: T\n    respond: {rc: \"00\"}\n", `test.yaml:`},
		{"empty file", "", `test.yaml: empty rules file`},
		{"only a comment", "# nothing\n", `test.yaml: empty rules file`},
		{"two documents", "default: {rc: \"00\"}\n---\ndefault: {rc: \"05\"}\n", `test.yaml:2: a rules file holds one YAML document`},
		{"top is a list", "- rc: 00\n", `test.yaml:1: the rules file: want a mapping`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRules("test.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	// Unquoted numbers keep their text, single values stand for lists, and
	// aliases resolve.
	rs := mustParse(t, `
rules:
  - match: {mti: 0200, processing_code: 00, amount: 99999, tid: &t TERM0001}
    respond: {rc: 05}
  - match: {tid: *t}
    respond: {rc: "00", approval_code: ABC123, delay: 0s}
`)
	r := rs.Rules()[0]
	if r.MTI[0] != "0200" || r.ProcessingCode[0] != "00" || *r.Amount != (AmountRange{99999, 99999}) || r.Respond.RC != "05" {
		t.Errorf("rule 1 = %+v", r)
	}
	if got := rs.Rules()[1].TID; len(got) != 1 || got[0] != "TERM0001" {
		t.Errorf("alias: tid %v", got)
	}
	if r.Pos != "test.yaml:3" {
		t.Errorf("pos %q", r.Pos)
	}
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "host.yaml")
	if err := os.WriteFile(path, []byte("rules:\n  - match: {tid: T}\n    respond: {rc: \"0\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadRules(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":3: ") {
		t.Errorf("error %v, want it to start with %s:3:", err, path)
	}
	if _, err := LoadRules(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
	if err := os.WriteFile(path, []byte("default: {rc: \"05\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := LoadRules(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := rs.Decide(purchase(t, "4000000000001000", "1")); d.RC != "05" {
		t.Errorf("rc %s", d.RC)
	}
}

func TestDefaultRules(t *testing.T) {
	rs := DefaultRules()
	if rs != DefaultRules() {
		t.Error("DefaultRules parses more than once")
	}
	tests := []struct {
		pan, amount, rc string
		delay           time.Duration
	}{
		{"4000000000000002", "1000", "51", 0},
		{"4000000000000069", "1000", "54", 0},
		{"4000000000000119", "1000", "14", 0},
		{"4000000000000127", "1000", "55", 0},
		{"4000000000000036", "1000", "41", 0},
		{"4000000000000093", "1000", "91", 0},
		{"4000000000000101", "1000", "96", 0},
		{"4000000000000010", "1000", "00", 2 * time.Second},
		{"4000000000000044", "1000", "00", 45 * time.Second},
		{"4111111111111111", "100000000", "61", 0},
		{"4111111111111111", "999999999999", "61", 0},
		{"4111111111111111", "99999999", "00", 0},
		{"4111111111111111", "99999", "05", 0},
		{"4111111111111111", "99998", "00", 0},
		{"4111111111111111", "100000", "00", 0},
		{"4111111111111111", "1", "00", 0},
		{"4000000000000002", "99999", "51", 0},     // the card wins over the magic amount
		{"4000000000000002", "100000000", "51", 0}, // and over the limit
	}
	for _, tc := range tests {
		d := rs.Decide(purchase(t, tc.pan, tc.amount))
		if d.RC != tc.rc || d.Delay != tc.delay {
			t.Errorf("pan %s amount %s: rc %s delay %v (rule %q), want rc %s delay %v", tc.pan, tc.amount, d.RC, d.Delay, d.Rule, tc.rc, tc.delay)
		}
	}
	// Every documented card is Luhn-valid so a terminal that checks will
	// send it.
	for _, r := range rs.Rules() {
		for _, p := range r.PAN {
			if !luhn(p) {
				t.Errorf("%s: PAN %s fails the Luhn check", r.Name, p)
			}
		}
	}
}

func luhn(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestDefaultRulesYAMLDocumentsEveryCard(t *testing.T) {
	// The header comment is the trainer's reference: it must list every
	// test card the rules use.
	for _, r := range DefaultRules().Rules() {
		for _, p := range r.PAN {
			if strings.Count(string(defaultRulesYAML), p) < 2 {
				t.Errorf("PAN %s (%s) is not documented in the header comment", p, r.Name)
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	out := DefaultRules().Describe()
	for _, want := range []string{
		"first match wins",
		"insufficient funds",
		"pan 4000000000000002",
		"amount >= 100000000",
		"amount = 99999",
		"45s",
		"no rule matched",
		"reversals (04xx) and network management (08xx)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Describe lacks %q:\n%s", want, out)
		}
	}
	out = mustParse(t, `
rules:
  - match: {mti: ["0100", "0200"], processing_code: "20", amount: "10..20", pan_prefix: "51", tid: T1}
    respond: {rc: "57"}
  - match: {amount: "..5"}
    respond: {rc: "13"}
  - respond: {rc: "05"}
`).Describe()
	for _, want := range []string{
		"mti 0100|0200, processing code 20*, amount 10..20, pan 51*, tid T1",
		"amount <= 5",
		"any request",
		"rule 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Describe lacks %q:\n%s", want, out)
		}
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	rs := DefaultRules()
	m := purchase(t, "4111111111111111", "1000")
	if n := testing.AllocsPerRun(100, func() { rs.Decide(m) }); n != 0 {
		t.Errorf("Decide allocates %v times per call", n)
	}
}

func BenchmarkDecide(b *testing.B) {
	rs := DefaultRules()
	cases := []struct {
		name string
		m    *iso8583.Message
	}{
		// An ordinary card walks every rule to the default: the worst case.
		{"default", purchase(b, "4111111111111111", "1000")},
		{"first-rule", purchase(b, "4000000000000002", "1000")},
		{"magic-amount", purchase(b, "4111111111111111", "99999")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs.Decide(c.m)
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			// One message per goroutine, as on the host: a shared one
			// would measure contention on the message's own mutex.
			m := purchase(b, "4111111111111111", "1000")
			for pb.Next() {
				rs.Decide(m)
			}
		})
	})
}

// Rules files are written by hand: no input may panic the loader, and
// whatever loads must describe and decide.
func FuzzParseRules(f *testing.F) {
	f.Add(string(defaultRulesYAML))
	f.Add("rules:\n  - match: {mti: [\"0100\"], amount: \"..5\", tid: *a}\n    respond: {rc: \"00\"}\n")
	f.Add("rules: &a [*a]\n")
	f.Add("default: {rc: \"00\", delay: 1s}\nrules:\n  - respond: {rc: \"05\"}\n")
	m := purchase(f, "4000000000000002", "99999")
	f.Fuzz(func(t *testing.T, y string) {
		rs, err := ParseRules("fuzz.yaml", []byte(y))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error without position: %v", err)
			}
			return
		}
		_ = rs.Describe()
		if d := rs.Decide(m); len(d.RC) != 2 {
			t.Errorf("decided rc %q", d.RC)
		}
	})
}
