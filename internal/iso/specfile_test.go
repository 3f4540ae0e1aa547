package iso

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moov-io/iso8583/specs"
)

// A spec exported from every built-in dialect reads back through moov's own
// importer and exports again byte for byte, and the imported spec packs a
// message to the same bytes as the built-in one.
func TestExportRoundTripsThroughMoov(t *testing.T) {
	for _, name := range Names() {
		d, _ := Lookup(name)
		a, err := ExportSpec(d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		imported, err := specs.ImportJSON(a)
		if err != nil {
			t.Fatalf("%s: moov cannot import the export: %v", name, err)
		}
		b, err := specs.ExportJSON(imported)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: export → import → export differs", name)
		}
		// Through possim's loader too (strict check, fast BCD).
		spec, ws, err := ParseSpec(name+".json", a)
		if err != nil || len(ws) != 0 {
			t.Fatalf("%s: %v %v", name, err, ws)
		}
		mine := sample(t, d)
		d2 := *d
		d2.Spec = spec
		theirs := sample(t, &d2)
		if !bytes.Equal(mine, theirs) {
			t.Fatalf("%s: the imported spec packs differently:\n%q\n%q", name, mine, theirs)
		}
		if macWireLen(spec) != d.MACWireLen {
			t.Fatalf("%s: MAC wire length %d, want %d", name, macWireLen(spec), d.MACWireLen)
		}
	}
}

func TestUserSpecWithPrivateFields(t *testing.T) {
	d, ws, err := LoadDialectFile("testdata/acme.yaml")
	if err != nil || len(ws) != 0 {
		t.Fatalf("%v %v", err, ws)
	}
	if d.Name != "acme" || d.Framing.Length != ASCII4 || d.MACField != 64 || d.MACWireLen != 16 {
		t.Fatalf("%+v", d)
	}
	m := d.NewMessage()
	m.MTI("0200")
	_ = Set(m, 11, "7")
	_ = Set(m, 48, "LOYALTY123")
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	// 48 as LLVAR: "10LOYALTY123" where the built-in dialect writes "010…".
	if !strings.HasSuffix(string(b), "10LOYALTY123") || strings.HasSuffix(string(b), "010LOYALTY123") {
		t.Fatalf("field 48 not LLVAR: %q", b)
	}
	std, _ := Lookup("iso87ascii")
	if got, err := std.Unpack(b); err == nil && Get(got, 48) == "LOYALTY123" {
		t.Fatal("the built-in dialect read ACME's field 48: the test spec does not differ")
	}
	back, err := d.Unpack(b)
	if err != nil || Get(back, 48) != "LOYALTY123" || Get(back, 11) != "000007" {
		t.Fatalf("%v %s", err, Summary(back))
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSpecErrorsNameFileLineAndField(t *testing.T) {
	base := `{"name": "x", "fields": {"0": {"type": "String", "length": 4, "enc": "ASCII", "prefix": "ASCII.Fixed"},
"1": {"type": "Bitmap", "length": 8, "enc": "HexToASCII", "prefix": "Hex.Fixed"},
`
	for _, tc := range []struct{ body, want string }{
		{base + `"2": {"type": "String", "lenght": 19, "enc": "ASCII", "prefix": "ASCII.LL"}}}`, `:3: field 2: unknown key "lenght" (did you mean "length"?)`},
		{base + `"2": {"type": "String", "length": 19, "enc": "ASCI", "prefix": "ASCII.LL"}}}`, `unknown encoding: ASCI for field: 2`},
		{base + `"2": {"type": "Strung", "length": 19, "enc": "ASCII", "prefix": "ASCII.LL"}}}`, `valid types:`},
		{base + `"2": {"type": "String", "length": "19", "enc": "ASCII", "prefix": "ASCII.LL"}}}`, `field 2: length: want a whole number`},
		{base + `"2": {"type": "String", "length": 19, "enc": "ASCII", "prefix": "ASCII.LL"}, "2": {}}}`, `key "2" given twice`},
		{base + `"2": {"type": "String", "length": 19, "enc": "ASCII", "prefix": "ASCII.LL", "padding": {"type": "Middle", "pad": "0"}}}}`, `unknown padding "Middle"`},
		{`{"name": "x", "fields": {"0": {"type": "String", "length": 4, "enc": "ASCII", "prefix": "ASCII.Fixed"}}}`, `field 1 (the bitmap) is not defined`},
		{`{"fields": [1]}`, `fields: want an object`},
		{`{"name": "x", `, `the file ends early`},
	} {
		p := writeFile(t, "bad.json", tc.body)
		_, _, err := LoadSpec(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s\n  got  %v\n  want …%s…", tc.body[len(tc.body)-40:], err, tc.want)
		}
	}
}

// A spec against DESIGN §3 is accepted with a warning saying what Wireshark
// and standard peers make of it.
func TestNonStandardSpecsWarn(t *testing.T) {
	d, _ := Lookup("iso87ascii")
	b, _ := ExportSpec(d)
	s := string(b)
	single := strings.Replace(s, `"length": 8,
			"description": "Bitmap"`, `"length": 16,
			"description": "Bitmap"`, 1)
	if single == s {
		t.Fatal("test did not change the bitmap")
	}
	_, ws, err := ParseSpec("single.json", []byte(single))
	if err != nil || len(ws) != 1 || ws[0].Field != 1 || !strings.Contains(ws[0].Text, "Wireshark") || !strings.Contains(ws[0].String(), "single.json: field 1:") {
		t.Fatalf("%v %v", err, ws)
	}
	i := strings.Index(s, `"64": {`)
	j := i + strings.Index(s[i:], `"length": 8`)
	mac4 := s[:j] + `"length": 4` + s[j+len(`"length": 8`):]
	spec, ws, err := ParseSpec("mac.json", []byte(mac4))
	if err != nil || len(ws) != 1 || ws[0].Field != 64 || !strings.Contains(ws[0].Text, "8 bytes") {
		t.Fatalf("%v %v", err, ws)
	}
	if macWireLen(spec) != 0 {
		t.Fatal("a 4-byte MAC field should not be usable for MACs")
	}
}

func TestDialectFileErrors(t *testing.T) {
	dir := t.TempDir()
	spec, _ := os.ReadFile("testdata/acme.json")
	_ = os.WriteFile(filepath.Join(dir, "acme.json"), spec, 0o600)
	for _, tc := range []struct{ body, want string }{
		{"spec: acme.json\nframing:\n  lenght_header: ascii4\n", `:3: unknown key "lenght_header" (did you mean "length_header"?)`},
		{"spec: acme.json\nframing:\n  length_header: ascii5\n", `:3: framing: length_header: unknown length header`},
		{"spec: acme.json\nversion: 2003\n", `:2: version:`},
		{"spec: nosuch.json\n", `:1: spec: spec file:`},
		{"base: iso99\n", `unknown dialect "iso99"`},
		{"name: x\n", `name a message spec`},
		{"spec: acme.json\nspec: acme.json\n", `:2: key "spec" given twice`},
		{"spec: acme.json\nmatch: tid,pan\n", `:2: match: matching key part "pan"`},
		{"spec: acme.json\nmac_field: 65\n", `:2: mac_field: want 64 or 128`},
	} {
		p := filepath.Join(dir, "d.yaml")
		_ = os.WriteFile(p, []byte(tc.body), 0o600)
		_, _, err := LoadDialectFile(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "d.yaml") {
			t.Errorf("%q\n  got  %v\n  want …%s…", tc.body, err, tc.want)
		}
	}
	// base alone: a built-in spec with other framing.
	p := filepath.Join(dir, "b.yaml")
	_ = os.WriteFile(p, []byte("base: iso93ascii\nframing: {length_header: bcd2}\n"), 0o600)
	d, _, err := LoadDialectFile(p)
	if err != nil || d.Version != V1993 || d.Framing.Length != BCD2 {
		t.Fatalf("%v %+v", err, d)
	}
}

func TestISO93(t *testing.T) {
	d, err := Lookup("iso93ascii")
	if err != nil {
		t.Fatal(err)
	}
	if d.MTI(FinancialRequest) != "1200" || d.MTI(NetworkRequest) != "1804" || d.MTI(ReversalRequest) != "1420" || d.MTI(AuthRequest) != "1100" {
		t.Fatal("1993 MTIs")
	}
	if r, _ := ResponseMTI("1804"); r != "1814" {
		t.Fatal(r)
	}
	if r, _ := ResponseMTI("1421"); r != "1430" {
		t.Fatal(r)
	}
	m := d.NewMessage()
	m.MTI(d.MTI(NetworkRequest))
	if err := d.SetNetworkCode(m, "001"); err != nil {
		t.Fatal(err)
	}
	_ = Set(m, 11, "1")
	_ = Set(m, 12, "261202101500")
	_ = Set(m, 22, "A10101A1B1C1")
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	back, err := d.Unpack(b)
	if err != nil || Get(back, 24) != "801" || d.NetworkCode(back) != "001" || Get(back, 12) != "261202101500" {
		t.Fatalf("%v %q", err, b)
	}
	resp := d.NewMessage()
	resp.MTI("1814")
	_ = d.SetRC(resp, "00")
	if Get(resp, 39) != "800" || d.RC(resp) != "00" {
		t.Fatal(Get(resp, 39))
	}
	resp.MTI("1210")
	for rc, ac := range map[string]string{"00": "000", "55": "117", "75": "106", "51": "116", "05": "100"} {
		_ = d.SetRC(resp, rc)
		if Get(resp, 39) != ac || d.RC(resp) != rc {
			t.Errorf("rc %s → %s → %s", rc, Get(resp, 39), d.RC(resp))
		}
	}
	old, _ := Lookup("iso87ascii")
	if old.MTI(FinancialRequest) != "0200" || old.NetworkField() != 70 || old.OriginalDataField() != 90 || d.OriginalDataField() != 56 {
		t.Fatal("1987 helpers")
	}
	// every 1993 field 2–128 is defined (DESIGN §3).
	if ws, err := CheckSpec("iso93ascii", d.Spec); err != nil || len(ws) != 0 {
		t.Fatal(err, ws)
	}
}
