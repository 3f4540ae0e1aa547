// End-to-end tests of MACs and working keys between our terminal and our
// host over real TCP. They configure both through Config.Security, which
// exists once the lead's patches to terminal.go and host.go are in: drop
// the macwip tag then.

package terminal_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/internal/testkit/hostkit"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/terminal"
)

const e2eTMK = "0123456789ABCDEFFEDCBA9876543210"

func tmkBytes(t testing.TB, s string) []byte {
	t.Helper()
	k, err := mac.ParseHexKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func macHost(t *testing.T, rules string, mod func(*host.Config)) *host.Host {
	t.Helper()
	cfg := host.Config{Dialect: ascii, Security: &host.Security{TMK: tmkBytes(t, e2eTMK)}}
	if rules != "" {
		cfg.Rules = hostkit.Rules(t, rules, false)
	}
	if mod != nil {
		mod(&cfg)
	}
	return hostkit.Start(t, cfg)
}

func macTerm(t *testing.T, h *host.Host, mod func(*terminal.Config)) *terminal.Terminal {
	t.Helper()
	return newTerm(t, h.Addr().String(), func(c *terminal.Config) {
		c.Security = &terminal.Security{TMK: tmkBytes(t, e2eTMK)}
		c.ReversalBackoff = 20 * time.Millisecond
		c.ReversalAttempts = 2
		if mod != nil {
			mod(c)
		}
	})
}

func faults(t *testing.T, specs ...string) *fault.RuleSet {
	t.Helper()
	return hostkit.Faults(t, ascii, specs...)
}

func connect(t *testing.T, term *terminal.Terminal) {
	t.Helper()
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func buy(term *terminal.Terminal) terminal.Outcome {
	return term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1000})
}

// wireLog checks that every 01xx/02xx/04xx seen carries its MAC field.
type wireLog struct {
	mu  sync.Mutex
	bad []string
	n   int
}

func (w *wireLog) observe(e link.Event) {
	if (e.Kind != link.EvSent && e.Kind != link.EvReceived) || e.Msg == nil {
		return
	}
	mti, _ := e.Msg.GetMTI()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch iso.Class(mti) {
	case '1', '2', '4':
		w.n++
		want := 64 // 128 with a secondary bitmap: the reversals' field 90
		if iso.Has(e.Msg, 90) {
			want = 128
		}
		if !iso.Has(e.Msg, want) || iso.Has(e.Msg, 192-want) {
			w.bad = append(w.bad, fmt.Sprintf("%s %s without a MAC in field %d", e.Kind, mti, want))
		}
	}
}

// A terminal and a host with the same TMK sign on, exchange keys, and every
// message after carries a MAC the other side verifies — through a key
// change on the live link and a timeout reversal too.
func TestMACSessionEndToEnd(t *testing.T) {
	var hw, tw wireLog
	h := macHost(t, slowRules, func(c *host.Config) { c.Observer = func(_ *link.Link, e link.Event) { hw.observe(e) } })
	term := macTerm(t, h, func(c *terminal.Config) { c.Observer = tw.observe; c.Timeout = 300 * time.Millisecond })
	connect(t, term)
	tk, ok := term.Keys()
	hk, _ := h.Keys("TERM0001")
	if !ok || tk.MACKCV != hk.MACKCV || tk.PINKCV != hk.PINKCV {
		t.Fatalf("terminal %v, host %v", tk, hk)
	}
	if o := buy(term); o.Class != terminal.Approved {
		t.Fatalf("purchase: %s", o)
	}
	info, err := h.RotateKeys("TERM0001", true)
	if err != nil {
		t.Fatal(err)
	}
	if tk, _ := term.Keys(); tk.MACKCV != info.MACKCV || tk.MACKCV == hk.MACKCV || !strings.Contains(tk.Via, "key change") {
		t.Fatalf("after the key change: terminal %v, host %v", tk, info)
	}
	if o := buy(term); o.Class != terminal.Approved {
		t.Fatalf("purchase after the key change: %s", o)
	}
	o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 77777}) // slow: timeout, reversal
	if o.Class != terminal.Reversed || !o.Reversal.Acked {
		t.Fatalf("timeout: %s", o)
	}
	if e := term.Do(terminal.Tx{Kind: terminal.Echo}); e.Class != terminal.Approved {
		t.Fatalf("echo: %s", e)
	}
	if h.MACFailures() != 0 {
		t.Fatalf("MAC failures: %v", h.Events())
	}
	for _, w := range []*wireLog{&hw, &tw} {
		w.mu.Lock()
		if len(w.bad) > 0 || w.n < 6 { // the host may not have reported its last 0410 yet
			t.Errorf("%d MACed messages seen; %v", w.n, w.bad)
		}
		w.mu.Unlock()
	}
	if c := h.Ledger().Counts(); c.Approved != 3 || c.Reversed != 1 {
		t.Fatalf("ledger %+v", c)
	}
}

// flipField flips the low bit of the last byte of field id in the 0200s the
// terminal writes: the message still unpacks, but its MAC no longer fits.
type flipField struct{ id int }

func (f flipField) Inbound(*iso8583.Message) link.Plan { return link.Plan{} }

func (f flipField) Outbound(m *iso8583.Message) link.Plan {
	if mti, _ := m.GetMTI(); mti != "0200" || m.GetField(f.id) == nil {
		return link.Plan{}
	}
	off := 4 + 16 // MTI and primary bitmap in iso87ascii
	for id := 2; id <= f.id; id++ {
		if fl := m.GetField(id); fl != nil {
			b, _ := fl.Pack()
			off += len(b)
		}
	}
	at := ascii.Framing.Length.Size() + ascii.Framing.PrefixLen() + off - 1
	return link.Plan{Frame: func(b []byte) []byte { b[at] ^= 1; return b }, Fired: []string{fmt.Sprintf("flip field %d", f.id)}}
}

// Flipping one bit anywhere in the MACed bytes is detected by the host.
func TestBitFlipInEveryFieldIsDetected(t *testing.T) {
	h := macHost(t, "", nil)
	for _, id := range []int{2, 3, 4, 7, 12, 13, 14, 22, 25, 42, 49} {
		term := macTerm(t, h, func(c *terminal.Config) { c.Interceptor = flipField{id} })
		connect(t, term)
		o := buy(term)
		if o.Class != terminal.Declined || o.RC != "63" {
			t.Fatalf("field %d flipped: %s", id, o)
		}
		if ev := hostkit.LastEvent(h, host.EventMAC, "STAN "+o.STAN); !strings.Contains(ev, "MAC mismatch with the current key") {
			t.Fatalf("field %d: %q", id, ev)
		}
		term.Close()
	}
	if h.Ledger().Counts().Approved != 0 {
		t.Fatal("a message with a flipped bit was approved")
	}
}

// Each key and MAC fault gives its own, correctly named symptom.
func TestKeyAndMACFaultSymptoms(t *testing.T) {
	type setup struct {
		hostFaults, termFaults []string
		before                 func(t *testing.T, h *host.Host, term *terminal.Terminal)
	}
	rotate := func(t *testing.T, h *host.Host, term *terminal.Terminal) {
		if _, err := h.RotateKeys("TERM0001", true); err != nil {
			t.Fatal(err)
		}
		if o := buy(term); o.Class != terminal.Approved { // uses the new key: the host knows the terminal has it
			t.Fatalf("after the key change: %s", o)
		}
	}
	cases := []struct {
		name     string
		s        setup
		class    terminal.Class
		why      string // in the terminal's outcome
		hostWhy  string // in the host's MAC failure event ("" for none)
		notInWhy string
	}{
		{"bad-mac upstream", setup{termFaults: []string{"bad-mac:mti=0200"}}, terminal.Declined, "",
			"MAC corrupted", ""},
		{"wrong key upstream", setup{termFaults: []string{"mac-wrong-key:mti=0200"}}, terminal.Declined, "",
			"MAC mismatch with the current key", ""},
		{"missing upstream", setup{termFaults: []string{"mac-missing:mti=0200"}}, terminal.Declined, "",
			"MAC missing: no field 64", ""},
		{"stale key upstream", setup{termFaults: []string{"mac-stale-key:mti=0200,nth=2"}, before: rotate}, terminal.Declined, "",
			"stale MAC key: made with the previous key", "key desync"},
		{"bad-mac downstream", setup{hostFaults: []string{"bad-mac:mti=0210"}}, terminal.Reversed,
			"MAC verification failed on the response: MAC corrupted", "", ""},
		{"wrong key downstream", setup{hostFaults: []string{"mac-wrong-key:mti=0210"}}, terminal.Reversed,
			"MAC verification failed on the response: MAC mismatch with the current key", "", ""},
		{"missing downstream", setup{hostFaults: []string{"mac-missing:mti=0210"}}, terminal.Reversed,
			"MAC verification failed on the response: MAC missing: no field 64", "", ""},
		{"stale key downstream", setup{hostFaults: []string{"mac-stale-key:mti=0210,nth=2"}, before: rotate}, terminal.Reversed,
			"MAC verification failed on the response: stale MAC key: made with the previous key", "", ""},
		{"key desync", setup{hostFaults: []string{"key-desync:mti=0210,nth=1"}, before: func(t *testing.T, _ *host.Host, term *terminal.Terminal) {
			if o := buy(term); o.Class != terminal.Approved { // signed, then the host changes keys silently
				t.Fatalf("before the desync: %s", o)
			}
		}}, terminal.ReversalPending,
			"MAC verification failed on the response: MAC mismatch with the current key", "key desync: MAC made with the previous key", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := macHost(t, "", func(cfg *host.Config) {
				if c.s.hostFaults != nil {
					cfg.Faults = faults(t, c.s.hostFaults...)
				}
			})
			term := macTerm(t, h, func(cfg *terminal.Config) {
				if c.s.termFaults != nil {
					cfg.Faults = faults(t, c.s.termFaults...)
				}
			})
			connect(t, term)
			if c.s.before != nil {
				c.s.before(t, h, term)
			}
			o := buy(term)
			if o.Class != c.class || !strings.Contains(o.Why(), c.why) {
				t.Fatalf("outcome %s\nwant class %s, why containing %q", o, c.class, c.why)
			}
			if c.class == terminal.Declined && o.RC != "63" {
				t.Fatalf("outcome %s: want RC 63", o)
			}
			ev := hostkit.LastEvent(h, host.EventMAC, "MAC failure from TID TERM0001")
			if c.hostWhy == "" && ev != "" {
				t.Fatalf("unexpected host MAC failure: %s", ev)
			}
			if !strings.Contains(ev, c.hostWhy) || c.notInWhy != "" && strings.Contains(ev, c.notInWhy) {
				t.Fatalf("host event %q, want %q", ev, c.hostWhy)
			}
			if c.hostWhy != "" && !strings.Contains(ev, "answered RC 63") {
				t.Fatalf("host event %q", ev)
			}
		})
	}
}

func TestKeyDesyncRecoversAtNextSignOn(t *testing.T) {
	h := macHost(t, "", func(c *host.Config) { c.Faults = faults(t, "key-desync:mti=0210,nth=1") })
	term := macTerm(t, h, nil)
	connect(t, term)
	if o := buy(term); o.Class != terminal.Approved {
		t.Fatal(o)
	}
	if o := buy(term); o.Class != terminal.ReversalPending {
		t.Fatal(o)
	}
	if o := term.Do(terminal.SignOnTx()); o.Class != terminal.Approved {
		t.Fatal(o)
	}
	if o := buy(term); o.Class != terminal.Approved {
		t.Fatalf("after a new sign-on: %s", o)
	}
	tk, _ := term.Keys()
	if hk, _ := h.Keys("TERM0001"); hk.MACKCV != tk.MACKCV {
		t.Fatal(tk, hk)
	}
}

func TestSignOnKeyFailures(t *testing.T) {
	// kcv-wrong on the sign-on answer.
	h := macHost(t, "", func(c *host.Config) { c.Faults = faults(t, "kcv-wrong:mti=0810") })
	term := macTerm(t, h, nil)
	err := term.Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "sign-on failed") || !strings.Contains(err.Error(), "KCV mismatch on the MAC key: got ") ||
		!strings.Contains(err.Error(), ", computed ") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := term.Keys(); ok {
		t.Fatal("keys installed despite the KCV mismatch")
	}
	// The PIN key's check value.
	h = macHost(t, "", func(c *host.Config) { c.Faults = faults(t, "kcv-wrong:key=pin") })
	term = macTerm(t, h, nil)
	if err := term.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), "KCV mismatch on the PIN key") {
		t.Fatalf("err = %v", err)
	}
	// A terminal with another TMK: the same symptom, naming the TMK's KCV.
	h = macHost(t, "", nil)
	term = macTerm(t, h, func(c *terminal.Config) {
		c.Security.TMK = tmkBytes(t, "89ABCDEF01234567FEDCBA9876543210")
	})
	if err := term.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), "KCV mismatch on the MAC key") {
		t.Fatalf("err = %v", err)
	}
	// Not signed on: nothing is sent without a key.
	term = macTerm(t, h, func(c *terminal.Config) { c.SignOnAtConnect = false; c.TID = "TERM0002" })
	connect(t, term)
	if o := buy(term); o.Class != terminal.NotSent || !strings.Contains(o.Why(), "no working MAC key") {
		t.Fatal(o)
	}
	// kcv-wrong on a key change: the terminal refuses, the host goes back.
	h = macHost(t, "", func(c *host.Config) { c.Faults = faults(t, "kcv-wrong:mti=0800") })
	term = macTerm(t, h, nil)
	connect(t, term)
	before, _ := term.Keys()
	_, err = h.RotateKeys("TERM0001", true)
	if err == nil || !strings.Contains(err.Error(), "refused the key change") || !strings.Contains(err.Error(), "RC 63") {
		t.Fatalf("err = %v", err)
	}
	if after, _ := term.Keys(); after.MACKCV != before.MACKCV {
		t.Fatal("the terminal took keys whose KCV did not match")
	}
	if o := buy(term); o.Class != terminal.Approved {
		t.Fatalf("after a refused key change: %s", o)
	}
}

// syncBuf is a bytes.Buffer safe for the link goroutines that log into it.
type syncBuf = testkit.SyncBuffer

// keyStream hands out odd-parity random bytes and remembers them: the
// working keys the host makes are exactly these bytes.
type keyStream struct {
	mu   sync.Mutex
	rnd  *rand.Rand
	seen []byte
}

func (k *keyStream) Read(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range p {
		p[i] = byte(k.rnd.UintN(256))
	}
	mac.SetOddParity(p)
	k.seen = append(k.seen, p...)
	return len(p), nil
}

func (k *keyStream) keys() [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out [][]byte
	for i := 0; i+16 <= len(k.seen); i += 16 {
		out = append(out, k.seen[i:i+16])
	}
	return out
}

// No key material — the TMK, any MAC key, any PIN key, in hex of either
// case or raw — appears in any transcript, describe, log, event, outcome or
// fault record of a MACed session with key changes and MAC failures.
func TestNoKeyMaterialInAnyOutput(t *testing.T) {
	var out syncBuf
	record := func(side string) func(link.Event) {
		return func(e link.Event) {
			fmt.Fprintf(&out, "%s %s %s %s\n", side, e.Kind, e.Detail, iso.Summary(e.Msg))
			if e.Msg != nil {
				_ = iso.Describe(&out, e.Msg)
			}
		}
	}
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ks := &keyStream{rnd: rand.New(rand.NewPCG(1, 2))}
	hostRS := faults(t, "bad-mac:mti=0210,nth=2", "key-desync:mti=0210,nth=4", "kcv-wrong:mti=0800,nth=2")
	termRS := faults(t, "mac-wrong-key:mti=0200,nth=3", "mac-stale-key:mti=0200,nth=2")
	hostRec := record("host")
	h := macHost(t, "", func(c *host.Config) {
		c.Security.Rand = ks
		c.Faults = hostRS
		c.Logger = logger
		c.Observer = func(_ *link.Link, e link.Event) { hostRec(e) }
	})
	term := macTerm(t, h, func(c *terminal.Config) {
		c.Observer = record("terminal")
		c.Logger = logger
		c.Faults = termRS
	})
	connect(t, term)
	var outcomes []string
	for i := range 6 {
		if i == 1 {
			_, err := h.RotateKeys("TERM0001", true)
			fmt.Fprintln(&out, err)
			_, err = h.RotateKeys("TERM0001", true) // refused: kcv-wrong
			fmt.Fprintln(&out, err)
		}
		outcomes = append(outcomes, buy(term).String())
	}
	outcomes = append(outcomes, term.Do(terminal.SignOnTx()).String(), buy(term).String())
	hk, _ := h.Keys("TERM0001")
	tk, _ := term.Keys()
	fmt.Fprintln(&out, strings.Join(outcomes, "\n"), strings.Join(h.Events(), "\n"), hk, tk,
		h.MACFailures(), (&host.Security{TMK: tmkBytes(t, e2eTMK)}).String(), (&terminal.Security{TMK: tmkBytes(t, e2eTMK)}).String())
	for _, f := range append(hostRS.Fired(), termRS.Fired()...) {
		fmt.Fprintf(&out, "%+v\n", f)
	}
	text := out.String()
	if h.MACFailures() == 0 || !strings.Contains(text, "MAC corrupted") || !strings.Contains(text, "key desync") ||
		!strings.Contains(text, "KCV mismatch") || !strings.Contains(text, "stale MAC key") {
		t.Fatalf("the session did not go through the failures it should have:\n%s", text)
	}
	secrets := append(ks.keys(), tmkBytes(t, e2eTMK))
	if len(secrets) < 8 {
		t.Fatalf("only %d keys made", len(secrets)-1)
	}
	lower := strings.ToLower(text)
	for _, k := range secrets {
		h := hex.EncodeToString(k)
		for i := 0; i+8 <= len(h); i += 2 { // any 4 consecutive key bytes
			if strings.Contains(lower, h[i:i+8]) {
				t.Fatalf("key material %s… in the output:\n%s", h[i:i+8], text)
			}
		}
		for i := 0; i+4 <= len(k); i++ {
			if strings.Contains(text, string(k[i:i+4])) {
				t.Fatal("raw key bytes in the output")
			}
		}
	}
	if testing.Verbose() {
		t.Log("\n" + text)
	}
}

// Wireshark's ISO 8583 dissector decodes a MACed session — the key block in
// field 62, MACs in 64 and (reversals, secondary bitmap) 128 — with zero
// malformed fields.
func TestWiresharkDecodesMACedSession(t *testing.T) {
	h := macHost(t, slowRules, nil)
	lines := liveCapture(t, h.Addr().String(), "iso8583.mti", "iso8583.bit11", "iso8583.bit62", "iso8583.bit64", "iso8583.bit128")

	term := macTerm(t, h, func(c *terminal.Config) { c.Timeout = 300 * time.Millisecond })
	connect(t, term)
	if o := buy(term); o.Class != terminal.Approved {
		t.Fatal(o)
	}
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 77777}); o.Class != terminal.Reversed {
		t.Fatal(o)
	}
	has := func(s string, tag string) string {
		if s == "" {
			return ""
		}
		return "+" + tag
	}
	got := decoded(t, lines, "TERM0001", 8, func(f []string) string {
		return f[1] + has(f[3], "62") + has(f[4], "64") + has(f[5], "128")
	})
	want := "0800 0810+62 0200+64 0210+64 0200+64 0400+128 0410+128 0210+64"
	if strings.Join(got, " ") != want {
		t.Fatalf("Wireshark decoded\n  %s\nwant\n  %s", strings.Join(got, " "), want)
	}
}
