// End-to-end tests of the host's MACs and key exchange over real TCP. They
// build the host through Config.Security, which exists once the lead's
// patch to host.go is in: drop the macwip tag then.

package host

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/internal/testkit"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

const macTMK = "0123456789ABCDEFFEDCBA9876543210"

func macSecurity(t testing.TB) *Security {
	t.Helper()
	tmk, err := mac.ParseHexKey(macTMK)
	if err != nil {
		t.Fatal(err)
	}
	return &Security{TMK: tmk}
}

// macClient is a bare link to the host with a MAC codec over its own key
// slot: what a terminal does, without the terminal package.
type macClient struct {
	l    *link.Link
	slot mac.KeySlot
	kek  *mac.KEK
	req  chan *link.Inbound // host-initiated requests
}

func dialMAC(t *testing.T, h *Host, opts mac.CodecOptions, answer func(*link.Inbound) string) *macClient {
	t.Helper()
	nc, err := net.Dial("tcp", h.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := &macClient{req: make(chan *link.Inbound, 8)}
	c.kek, _ = mac.NewKEK(macSecurity(t).TMK)
	codec, err := mac.NewCodec(link.DialectCodec{D: ascii}, ascii, &c.slot, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.l = link.New(nc, link.Config{Dialect: ascii, Codec: codec, Handler: link.HandlerFunc(func(l *link.Link, in *link.Inbound) {
		rc := "00"
		if answer != nil {
			rc = answer(in)
		}
		r := ascii.NewMessage()
		mti, _ := iso.ResponseMTI(in.MTI)
		r.MTI(mti)
		for _, id := range []int{7, 11, 41, 70} {
			if v := iso.Get(in.Msg, id); v != "" {
				_ = iso.Set(r, id, v)
			}
		}
		_ = iso.Set(r, 39, rc)
		_ = l.Reply(in, r)
		c.req <- in
	})}).Start()
	t.Cleanup(func() { c.l.Close() })
	return c
}

func (c *macClient) signOn(t *testing.T, tid string) *iso8583.Message {
	t.Helper()
	m := ascii.NewMessage()
	m.MTI("0800")
	for id, v := range map[int]string{7: "1127101500", 11: "000001", 41: tid, 70: "001"} {
		_ = iso.Set(m, id, v)
	}
	r := c.l.Call(m, 5*time.Second)
	if r.Err != nil || iso.Get(r.Resp, 39) != "00" {
		t.Fatalf("sign-on: %v %s", r.Err, iso.Summary(r.Resp))
	}
	return r.Resp
}

// install opens the key block of a sign-on answer or key change.
func (c *macClient) install(t *testing.T, m *iso8583.Message) *mac.WorkingKeys {
	t.Helper()
	blk, err := mac.ParseKeyBlock(iso.Get(m, mac.KeyBlockField))
	if err != nil {
		t.Fatal(err)
	}
	w, err := mac.OpenKeys(c.kek, mac.Alg3, mac.Pad1, blk)
	if err != nil {
		t.Fatal(err)
	}
	w.Confirmed = true
	return c.slot.Install(w)
}

func (c *macClient) call(t *testing.T, m *iso8583.Message) link.Result {
	t.Helper()
	return c.l.Call(m, 5*time.Second)
}

// lastEvent is the text of h's newest event of kind that contains substr,
// or "" (hostkit.LastEvent, which package host cannot import).
func lastEvent(h *Host, kind EventKind, substr string) string {
	e, _ := testkit.LastOf(h.EventLog(), func(e Event) bool { return e.Kind == kind && strings.Contains(e.Text, substr) })
	return e.Text
}

func TestHostIssuesKeysAtSignOnAndVerifies(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii, Security: macSecurity(t)})
	c := dialMAC(t, h, mac.CodecOptions{}, nil)
	resp := c.signOn(t, "TERM0001")
	w := c.install(t, resp)
	info, ok := h.Keys("TERM0001")
	if !ok || info.MACKCV != w.MACKCV || info.PINKCV != w.PINKCV || info.Via != "sign-on" {
		t.Fatalf("host %v, terminal %v", info, w)
	}
	if iso.Has(resp, 64) {
		t.Fatal("the sign-on answer is MACed (the terminal cannot have the key yet)")
	}
	if !strings.Contains(lastEvent(h, EventKeys, "working keys issued"), "KCV "+w.MACKCV) {
		t.Fatal(h.Events())
	}
	// A MACed purchase: approved, and the answer carries a MAC that verified.
	r := c.call(t, financial(t, "0200", "000002", "4761739001010010", "1000"))
	if r.Err != nil || iso.Get(r.Resp, 39) != "00" || !iso.Has(r.Resp, 64) {
		t.Fatalf("purchase: %v %s", r.Err, iso.Summary(r.Resp))
	}
	if info, _ := h.Keys("TERM0001"); !info.Confirmed {
		t.Fatal("a verified request did not confirm the keys")
	}
	// A second sign-on gives new keys; the old ones are the previous.
	w2 := c.install(t, c.signOn(t, "TERM0001"))
	if info, _ := h.Keys("TERM0001"); info.MACKCV != w2.MACKCV || info.PrevKCV != w.MACKCV || info.Gen != 2 {
		t.Fatalf("%v", info)
	}
	if h.MACFailures() != 0 {
		t.Fatal(h.Events())
	}
}

func TestHostAnswersMACFailures(t *testing.T) {
	sec := macSecurity(t)
	sec.FailRC = "N7"
	h := startHost(t, Config{Dialect: ascii, Security: sec})
	c := dialMAC(t, h, mac.CodecOptions{}, nil)
	c.install(t, c.signOn(t, "TERM0001"))

	// No MAC at all, from a client that does not MAC.
	plain := dialMAC(t, h, mac.CodecOptions{Classes: "5"}, nil)
	r := plain.call(t, financial(t, "0200", "000003", "4761739001010010", "1000"))
	if r.Err != nil || iso.Get(r.Resp, 39) != "N7" {
		t.Fatalf("%v %s", r.Err, iso.Summary(r.Resp))
	}
	ev := lastEvent(h, EventMAC, "MAC failure")
	for _, s := range []string{"MAC failure from TID TERM0001", "0200", "STAN 000003", "MAC missing: no field 64", "answered RC N7"} {
		if !strings.Contains(ev, s) {
			t.Errorf("event %q lacks %q", ev, s)
		}
	}
	if tx, ok := h.Ledger().Lookup("TERM0001", "000003"); !ok || tx.RC != "N7" || tx.State != Declined {
		t.Fatalf("ledger %+v %v", tx, ok)
	}
	// A terminal that never signed on: no key; the answer goes unsigned.
	other := dialMAC(t, h, mac.CodecOptions{}, nil)
	other.slot.Install(c.slot.Keys(""))
	m := financial(t, "0200", "000004", "4761739001010010", "1000")
	_ = iso.Set(m, 41, "NOKEY001")
	r = other.call(t, m)
	if iso.Get(r.Resp, 39) != "N7" || iso.Has(r.Resp, 64) {
		t.Fatalf("%v %s", r.Err, iso.Summary(r.Resp))
	}
	if _, ok := mac.AsVerifyError(r.Err); !ok {
		t.Fatalf("the unsigned answer was trusted: %v", r.Err)
	}
	if ev := lastEvent(h, EventMAC, "MAC failure"); !strings.Contains(ev, "no working MAC key for TID NOKEY001") {
		t.Fatal(ev)
	}
	// A reversal whose MAC fails is answered, not applied.
	rev := financial(t, "0400", "000005", "4761739001010010", "1000")
	_ = iso.Set(rev, 90, buildField90("0200", "000002", "1127101500", "", ""))
	r = plain.call(t, rev)
	if mti, _ := r.Resp.GetMTI(); mti != "0410" || iso.Get(r.Resp, 39) != "N7" {
		t.Fatalf("%s", iso.Summary(r.Resp))
	}
	if h.Ledger().Counts().ReversalsReceived != 0 {
		t.Fatal("a reversal with a bad MAC reached the ledger")
	}
	if h.MACFailures() != 3 {
		t.Fatalf("%d failures: %v", h.MACFailures(), h.Events())
	}
}

func TestHostKeyChange(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii, Security: macSecurity(t)})
	var c *macClient
	refuse := false
	c = dialMAC(t, h, mac.CodecOptions{}, func(in *link.Inbound) string {
		if iso.Get(in.Msg, 70) != "101" {
			return "00"
		}
		if refuse {
			return "63"
		}
		c.install(t, in.Msg)
		return "00"
	})
	w1 := c.install(t, c.signOn(t, "TERM0001"))

	info, err := h.RotateKeys("TERM0001", true)
	if err != nil {
		t.Fatal(err)
	}
	<-c.req
	if info.MACKCV == w1.MACKCV || info.MACKCV != c.slot.Keys("").MACKCV || !info.Confirmed || info.PrevKCV != w1.MACKCV {
		t.Fatalf("host %v, terminal %v", info, c.slot.Keys(""))
	}
	if r := c.call(t, financial(t, "0200", "000002", "4761739001010010", "1000")); r.Err != nil || iso.Get(r.Resp, 39) != "00" {
		t.Fatalf("after the key change: %v %s", r.Err, iso.Summary(r.Resp))
	}
	// The terminal refuses: the host goes back to the keys it has.
	refuse = true
	before := c.slot.Keys("").MACKCV
	_, err = h.RotateKeys("TERM0001", true)
	<-c.req
	if err == nil || !strings.Contains(err.Error(), "refused the key change") || !strings.Contains(err.Error(), "went back to MAC key KCV "+before) {
		t.Fatalf("err = %v", err)
	}
	if info, _ := h.Keys("TERM0001"); info.MACKCV != before {
		t.Fatalf("host on %v, terminal on %s", info, before)
	}
	if r := c.call(t, financial(t, "0200", "000003", "4761739001010010", "1000")); r.Err != nil || iso.Get(r.Resp, 39) != "00" {
		t.Fatalf("after a refused key change: %v %s", r.Err, iso.Summary(r.Resp))
	}
	// SendNetwork("101") reaches every signed-on terminal with keys.
	refuse = false
	if n := h.SendNetwork("101", 5*time.Second); n != 1 {
		t.Fatalf("%d key changes sent", n)
	}
	in := <-c.req
	if iso.Get(in.Msg, 70) != "101" || !iso.Has(in.Msg, mac.KeyBlockField) || strings.TrimSpace(iso.Get(in.Msg, 41)) != "TERM0001" {
		t.Fatal(iso.Summary(in.Msg))
	}
	// Silent rotation, then a request under the old key: key desync.
	if r := c.call(t, financial(t, "0200", "000004", "4761739001010010", "1000")); r.Err != nil || iso.Get(r.Resp, 39) != "00" {
		t.Fatalf("after SendNetwork(101): %v %s", r.Err, iso.Summary(r.Resp))
	}
	if _, err := h.RotateKeys("TERM0001", false); err != nil {
		t.Fatal(err)
	}
	r := c.call(t, financial(t, "0200", "000005", "4761739001010010", "1000"))
	if iso.Get(r.Resp, 39) != "63" {
		t.Fatal(iso.Summary(r.Resp))
	}
	if ev := lastEvent(h, EventMAC, "MAC failure"); !strings.Contains(ev, "key desync: MAC made with the previous key") {
		t.Fatal(ev)
	}
	if _, err := h.RotateKeys("NOBODY01", true); err == nil {
		t.Fatal("key change for an unknown terminal")
	}
}

func TestHostMACFaults(t *testing.T) {
	rs, err := fault.Parse([]string{"key-desync:mti=0210,nth=1", "mac-missing:mti=0210,nth=3"}, fault.Options{Seed: 1, Dialect: ascii})
	if err != nil {
		t.Fatal(err)
	}
	h := startHost(t, Config{Dialect: ascii, Security: macSecurity(t), Faults: rs})
	c := dialMAC(t, h, mac.CodecOptions{}, nil)
	w := c.install(t, c.signOn(t, "TERM0001"))
	// 1st answer: signed with the old key, then the keys change silently.
	if r := c.call(t, financial(t, "0200", "000002", "4761739001010010", "1000")); r.Err != nil {
		t.Fatal(r.Err)
	}
	info, _ := h.Keys("TERM0001")
	if info.MACKCV == w.MACKCV || !strings.Contains(info.Via, "fault key-desync#1") {
		t.Fatal(info)
	}
	// 2nd: the host sees the old key (desync) and answers 63 under the new one.
	r := c.call(t, financial(t, "0200", "000003", "4761739001010010", "1000"))
	if ve, ok := mac.AsVerifyError(r.Err); !ok || ve.Kind != mac.WrongKey || iso.Get(r.Resp, 39) != "63" {
		t.Fatalf("%v %s", r.Err, iso.Summary(r.Resp))
	}
	if ev := lastEvent(h, EventMAC, "MAC failure"); !strings.Contains(ev, "key desync") {
		t.Fatal(ev)
	}
	// After a new sign-on, the 3rd answer comes without its MAC.
	c.install(t, c.signOn(t, "TERM0001"))
	r = c.call(t, financial(t, "0200", "000004", "4761739001010010", "1000"))
	if ve, ok := mac.AsVerifyError(r.Err); !ok || ve.Kind != mac.Missing {
		t.Fatalf("%v", r.Err)
	}
	if ev := lastEvent(h, EventFault, "fault mac-missing"); ev == "" {
		t.Fatal(h.Events())
	}
}

func TestHostSecurityConfig(t *testing.T) {
	for _, s := range []*Security{
		{TMK: make([]byte, 8)},
		{TMK: make([]byte, 16), FailRC: "063"},
		{TMK: make([]byte, 16), Alg: "md5"},
		{TMK: make([]byte, 16), Pad: 3},
		{TMK: make([]byte, 16), Field: 65},
	} {
		if _, err := New(Config{Dialect: ascii, Security: s}); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	s := macSecurity(t)
	if str := s.String(); !strings.Contains(str, "TMK KCV 08D7B4") || strings.Contains(str, "0123456789") || !strings.Contains(str, "RC 63") {
		t.Fatal(str)
	}
	// MACs off: no keys, sign-on answers carry none.
	h := startHost(t, Config{Dialect: ascii})
	c := dialMAC(t, h, mac.CodecOptions{Classes: "5"}, nil)
	if resp := c.signOn(t, "TERM0001"); iso.Has(resp, mac.KeyBlockField) {
		t.Fatal("keys issued with MACs off")
	}
	if _, ok := h.Keys("TERM0001"); ok || h.MACFailures() != 0 {
		t.Fatal("keys with MACs off")
	}
	if _, err := h.RotateKeys("TERM0001", true); err == nil {
		t.Fatal("RotateKeys with MACs off")
	}
}
