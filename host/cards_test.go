package host

import (
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/emv"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/internal/pinblock"
)

func cardRequest(t *testing.T, d *iso.Dialect, stan, pc, pan, mode string) *iso8583.Message {
	t.Helper()
	m := d.NewMessage()
	m.MTI(d.MTI(iso.FinancialRequest))
	for id, v := range map[int]string{2: pan, 3: pc, 4: "1000", 7: "1202101500", 11: stan, 41: "TERM0001", 42: "MERCHANT", 49: "978"} {
		if err := iso.Set(m, id, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SetEntryMode(m, mode); err != nil {
		t.Fatal(err)
	}
	return m
}

// PIN transactions: field 52 decrypted under the PIN key of the sign-on,
// checked against the test card's PIN; three wrong in a row block the card.
func TestPINCheck(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii, Security: macSecurity(t)})
	c := dialMAC(t, h, mac.CodecOptions{}, nil)
	w := c.install(t, c.signOn(t, "TERM0001"))
	send := func(stan, pin string) string {
		m := cardRequest(t, ascii, stan, "000000", PINCard, "051")
		b, _ := emv.Build(emv.Request{Amount: 1000, Currency: "978", Country: "250", Date: "261202"})
		_ = iso.Set(m, 55, strings.ToUpper(hex.EncodeToString(b)))
		if pin != "" {
			clear, err := pinblock.Format0(pin, PINCard)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := w.EncryptPINBlock(clear[:])
			if err != nil {
				t.Fatal(err)
			}
			if err := m.BinaryField(52, enc); err != nil {
				t.Fatal(err)
			}
		}
		r := c.call(t, m)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		return iso.Get(r.Resp, 39)
	}
	for i, step := range []struct{ pin, rc string }{
		{TestPIN, "00"}, {"", "55"}, {"9999", "55"}, {TestPIN, "00"}, // a right PIN resets the count
		{"9999", "55"}, {"9998", "55"}, {"9997", "75"}, {TestPIN, "75"}, // blocked
	} {
		if rc := send(stanOf(i), step.pin); rc != step.rc {
			t.Fatalf("step %d (PIN %q): RC %s, want %s; events %q", i, step.pin, rc, step.rc, h.Events())
		}
	}
	if e := lastEvent(h, EventCard, "blocked"); e == "" || strings.Contains(e, PINCard) || strings.Contains(e, "9997") {
		t.Fatalf("event must name the masked card and never the PIN or PAN: %q", e)
	}
}

func stanOf(i int) string { return "0000" + string(rune('1'+i/10)) + string(rune('0'+i%10)) }

func TestPINWithoutKeysIsASystemError(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii})
	l := dialPlain(t, h, ascii)
	m := cardRequest(t, ascii, "000001", "000000", PINCard, "021")
	_ = m.BinaryField(52, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	r := l.Call(m, 5*time.Second)
	if r.Err != nil || iso.Get(r.Resp, 39) != "96" || lastEvent(h, EventCard, "--tmk") == "" {
		t.Fatalf("%v %s %q", r.Err, iso.Summary(r.Resp), h.Events())
	}
}

func dialPlain(t *testing.T, h *Host, d *iso.Dialect) *link.Link {
	t.Helper()
	nc, err := net.Dial("tcp", h.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	l := link.New(nc, link.Config{Dialect: d}).Start()
	t.Cleanup(func() { l.Close() })
	return l
}

func TestChipStripeFallbackAndBalance(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii})
	l := dialPlain(t, h, ascii)
	call := func(m *iso8583.Message) *iso8583.Message {
		r := l.Call(m, 5*time.Second)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		return r.Resp
	}
	chip := cardRequest(t, ascii, "000001", "000000", ChipCard, "051")
	if rc := iso.Get(call(chip), 39); rc != "30" {
		t.Fatalf("chip read without field 55: RC %s", rc)
	}
	b, _ := emv.Build(emv.Request{Amount: 1000, Currency: "978", Country: "250", Date: "261202"})
	_ = iso.Set(chip, 11, "000002")
	_ = iso.Set(chip, 55, strings.ToUpper(hex.EncodeToString(b)))
	if rc := iso.Get(call(chip), 39); rc != "00" {
		t.Fatalf("chip: RC %s", rc)
	}
	fb := cardRequest(t, ascii, "000003", "000000", FallbackCard, "801")
	fb.UnsetField(2)
	_ = iso.Set(fb, 35, FallbackCard+"=28122010000")
	if rc := iso.Get(call(fb), 39); rc != "00" {
		t.Fatalf("fallback: RC %s %q", rc, h.Events())
	}
	bal := call(cardRequest(t, ascii, "000004", "311000", SwipeCard, "901"))
	if iso.Get(bal, 39) != "00" || iso.Get(bal, 54) != "1002978C000000500000" {
		t.Fatalf("balance: %s 54=%q", iso.Summary(bal), iso.Get(bal, 54))
	}
}

func TestRuleSetsResponseFields(t *testing.T) {
	rs, err := ParseRules("set.yaml", []byte(`rules:
  - match: {pan: "4000000000000200"}
    respond: {rc: "00", set: {54: "1002978C000000000042", 44: "HELLO", 62: "PRIVATE"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	h := startHost(t, Config{Dialect: ascii, Rules: rs})
	l := dialPlain(t, h, ascii)
	r := l.Call(cardRequest(t, ascii, "000001", "311000", SwipeCard, "901"), 5*time.Second)
	if r.Err != nil || iso.Get(r.Resp, 54) != "1002978C000000000042" || iso.Get(r.Resp, 44) != "HELLO" || iso.Get(r.Resp, 62) != "PRIVATE" {
		t.Fatalf("%v %s", r.Err, iso.Summary(r.Resp))
	}
	for body, want := range map[string]string{
		`rules: [{match: {pan_prefix: "4"}, respond: {rc: "00", set: {11: "1"}}}]`:            "field 11 is the host's",
		`rules: [{match: {pan_prefix: "4"}, respond: {rc: "00", set: {200: "1"}}}]`:           "not a field number",
		`rules: [{match: {pan_prefix: "4"}, respond: {rc: "00", set: [54]}}]`:                 "want a mapping",
		`rules: [{match: {pan_prefix: "4"}, respond: {rc: "00", set: {54: "1", "54": "2"}}}]`: "given twice",
	} {
		if _, err := ParseRules("bad.yaml", []byte(body)); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "bad.yaml:1") {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// The host speaks ISO 8583:1993: 1804/1814 with function codes, 1200/1210
// with action codes, 1420/1430 reversals.
func TestHostSpeaks1993(t *testing.T) {
	d, _ := iso.Lookup("iso93ascii")
	h := startHost(t, Config{Dialect: d})
	l := dialPlain(t, h, d)
	so := d.NewMessage()
	so.MTI("1804")
	for id, v := range map[int]string{7: "1202101500", 11: "000001", 24: "801", 41: "TERM0001"} {
		_ = iso.Set(so, id, v)
	}
	r := l.Call(so, 5*time.Second)
	if r.Err != nil || iso.Get(r.Resp, 39) != "800" || iso.Get(r.Resp, 24) != "801" {
		t.Fatalf("sign-on: %v %s", r.Err, iso.Summary(r.Resp))
	}
	if mti, _ := r.Resp.GetMTI(); mti != "1814" {
		t.Fatal(mti)
	}
	fin := cardRequest(t, d, "000002", "000000", SwipeCard, "901")
	_ = iso.Set(fin, 12, "261202101500")
	r = l.Call(fin, 5*time.Second)
	if mti, _ := r.Resp.GetMTI(); r.Err != nil || mti != "1210" || iso.Get(r.Resp, 39) != "000" || d.RC(r.Resp) != "00" {
		t.Fatalf("1200: %v %s", r.Err, iso.Summary(r.Resp))
	}
	decl := cardRequest(t, d, "000003", "000000", "4000000000000002", "901")
	r = l.Call(decl, 5*time.Second)
	if r.Err != nil || iso.Get(r.Resp, 39) != "116" {
		t.Fatalf("insufficient funds as action code 116: %v %s", r.Err, iso.Summary(r.Resp))
	}
	rev := cardRequest(t, d, "000002", "000000", SwipeCard, "901")
	rev.MTI("1420")
	_ = iso.Set(rev, 56, "1200000002120210150000000000")
	r = l.Call(rev, 5*time.Second)
	if mti, _ := r.Resp.GetMTI(); r.Err != nil || mti != "1430" || iso.Get(r.Resp, 39) != "400" {
		t.Fatalf("1420: %v %s", r.Err, iso.Summary(r.Resp))
	}
	if c := h.Ledger().Counts(); c.Reversed != 1 {
		t.Fatalf("ledger: %+v", c)
	}
}
