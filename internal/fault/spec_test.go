package fault

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseSpec(t *testing.T) {
	r, err := ParseSpec("delay:mti=0200|0210,pc=00,tid=T1,field.39=05,every=3,p=0.1,count=5,after=1s,until=1m,delay=35s,jitter=1s,name=slow")
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "delay" || len(r.Match.MTI) != 2 || r.Match.PC != "00" || r.Match.TID != "T1" || r.Match.Fields[39] != "05" ||
		r.Match.Every != 3 || r.P() != 0.1 || r.Count != 5 || r.After != time.Second || r.Until != time.Minute ||
		r.Attrs["delay"] != "35s" || r.Attrs["jitter"] != "1s" || r.Name != "slow" {
		t.Fatalf("%+v", r)
	}
	back, err := ParseSpec(r.String())
	if err != nil || back.String() != r.String() {
		t.Fatalf("round trip %q → %q (%v)", r.String(), back.String(), err)
	}
	if r, err := ParseSpec("drop"); err != nil || r.Type != "drop" || r.P() != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := ParseSpec("reset:after=3"); err != nil || r.Attrs["after"] != "3" || r.After != 0 {
		t.Fatalf("link after is the type's attribute: %+v %v", r, err)
	}
	if r, err := ParseSpec("unsolicited:code=002,every=30s,after=10s"); err != nil || r.Attrs["every"] != "30s" || r.After != 10*time.Second {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestParseSpecErrors(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"delay:mti=0210,p=1.5", `fault "delay:mti=0210,p=1.5": p=1.5: probability must be between 0 and 1`},
		{"dely", `unknown fault type "dely" (did you mean "delay"? see possim faults)`},
		{"zzzzzzzz", `unknown fault type "zzzzzzzz" (see possim faults`},
		{"delay:foo=1", `foo=1: unknown key for delay: valid keys are name, stream, mti`},
		{"delay:delay=35", `delay=35: not a duration`},
		{"delay:after=soon", `after=soon: not a duration`},
		{"delay:mti=210", `mti=210: "210": want 4 digits ("0200")`},
		{"delay:mti", `"mti": want key=value`},
		{"drop:nth=0", `nth=0: nth must be a whole number from 1`},
		{"drop:nth=2,every=3", `give one or the other`},
		{"drop:count=-1", `count must be a whole number`},
		{"drop:stream=sideways", `stream must be upstream, downstream or both`},
		{"drop:p=2,p=1", `p=2: probability`},
		{"drop:p=1,p=1", `p given twice`},
		{"drop:field.1=x", `field.1=x: want a field number 2..128 (use mti= for the MTI)`},
		{"drop:after=10s,until=5s", `until=5s: must be later than after=10s`},
		{"rc:rc=123", `rc=123: a response code is 2 characters`},
		{"corrupt-field", `corrupt-field needs field=`},
		{"corrupt-field:field=200", `field=200: want a field number 2..128`},
		{"corrupt-field:field=4,mode=broken", `mode=broken: must be one of value, unpackable`},
		{"duplicate-request:stream=downstream", `duplicate-request acts on upstream only`},
		{"reset:mti=0210", `reset does not take mti`},
		{"reset:after=forever", `after=forever: want a number of messages (3) or a duration (5s)`},
		{"unsolicited:code=999", `code=999: must be one of 301, 002, 101`},
		{"crash:stream=upstream", `crash does not take stream`},
		{"bad-length:delta=0", `delta=0: must not be 0`},
		{"stan-mismatch:value=12ab", `value=12ab: digits only`},
		{":p=1", `no type`},
	} {
		_, err := ParseSpec(c.spec)
		if err == nil {
			t.Errorf("%s: no error", c.spec)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", c.spec, err, c.want)
		}
	}
	// Errors at build time too (a Rule literal).
	p := 2.0
	if _, err := New([]Rule{{Type: "drop", Probability: &p}}, Options{Seed: 1}); err == nil ||
		!strings.Contains(err.Error(), "probability must be between 0 and 1") {
		t.Fatal(err)
	}
	if _, err := New([]Rule{{Type: "corrupt-field", Attrs: map[string]string{"field": "4", "value": "1", "mode": "unpackable"}}}, Options{Seed: 1}); err == nil {
		t.Fatal("value with mode=unpackable accepted")
	}
}

func TestCatalogue(t *testing.T) {
	cat := Catalogue()
	want := []string{"drop", "delay", "duplicate", "reorder", "stan-mismatch", "tid-mismatch", "wrong-mti", "corrupt-field",
		"remove-field", "bad-length", "rc", "bad-mac", "garbage", "duplicate-request", "latency", "bandwidth", "blackhole",
		"reset", "close", "half-open", "slow-drip", "truncate", "refuse", "unsolicited", "crash", "die",
		"mac-wrong-key", "mac-stale-key", "mac-missing", "key-desync", "kcv-wrong"}
	names := map[string]TypeInfo{}
	for _, ti := range cat {
		names[ti.Name] = ti
		if ti.Symptom == "" || ti.Level == "" {
			t.Errorf("%s: no symptom or level", ti.Name)
		}
		for _, a := range ti.Attributes {
			if a.Doc == "" || a.Kind == "" {
				t.Errorf("%s.%s: no doc or kind", ti.Name, a.Name)
			}
		}
	}
	for _, n := range want {
		if _, ok := names[n]; !ok {
			t.Errorf("%s not registered", n)
		}
	}
	if len(cat) != len(want) {
		t.Errorf("%d types, want %d", len(cat), len(want))
	}
	var b bytes.Buffer
	if err := WriteCatalogueWidth(&b, 100); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"delay  (message fault", "delay=1s", "link fault", "host action", "terminal action", "possim faults TYPE"} {
		contains(t, b.String(), s)
	}
	// Wrapped to the width asked for, whatever the symptom's length.
	for _, width := range []int{60, 100} {
		var nb bytes.Buffer
		if err := WriteCatalogueWidth(&nb, width); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(nb.String(), "\n") {
			if n := utf8.RuneCountInString(l); n > width && strings.Contains(strings.TrimSpace(l), " ") {
				t.Errorf("width %d: a %d-column line: %q", width, n, l)
			}
		}
	}
	var one bytes.Buffer
	if err := WriteType(&one, "crash", 80); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"crash  (host action)", "Carried out by the host", "Attributes:", "down (", "Example:"} {
		contains(t, one.String(), s)
	}
	if err := WriteType(&one, "dely", 80); err == nil || !strings.Contains(err.Error(), `did you mean "delay"`) {
		t.Errorf("unknown type: %v", err)
	}
	if testing.Verbose() {
		t.Log("\n" + b.String())
	}
}
