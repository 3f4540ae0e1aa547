package fault

import (
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/mac"
)

var macTypes = []string{"mac-wrong-key", "mac-stale-key", "mac-missing", "key-desync", "kcv-wrong"}

func TestMACFaultTypesRegistered(t *testing.T) {
	for _, n := range macTypes {
		ti, ok := Lookup(n)
		if !ok {
			t.Fatalf("%s not registered", n)
		}
		if ti.Level != LevelMessage || ti.Symptom == "" {
			t.Errorf("%s: %+v", n, ti)
		}
		r, err := ParseSpec(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New([]Rule{r}, Options{Seed: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Parse([]string{"key-desync:stream=upstream"}, Options{Seed: 1}); err == nil {
		t.Fatal("key-desync upstream accepted")
	}
	if _, err := Parse([]string{"kcv-wrong:key=tmk"}, Options{Seed: 1}); err == nil {
		t.Fatal("kcv-wrong key=tmk accepted")
	}
}

func TestMACFaultsDecisions(t *testing.T) {
	m := req(t, "T1", 1)
	// Signing choices: the first rule that fires wins; stale needs a
	// previous key and is not counted without one.
	rs := mustNew(t, Options{Seed: 5}, "mac-stale-key:nth=2", "mac-missing:mti=0200,count=1", "mac-wrong-key")
	a := rs.MACFaults(m, Terminal, false) // stale skipped (no previous key), missing fires
	if a.Sign != mac.SignOmit || len(a.Fired) != 1 || !strings.HasPrefix(a.Fired[0], "mac-missing#2 (MAC field left out") || a.Desync {
		t.Fatalf("%+v", a)
	}
	a = rs.MACFaults(m, Terminal, true) // stale's first counted message: not its nth=2
	if a.Sign != mac.SignWrong || a.Seed == 0 {
		t.Fatalf("%+v", a)
	}
	a = rs.MACFaults(m, Terminal, true)
	if a.Sign != mac.SignPrevious || len(a.Fired) != 1 {
		t.Fatalf("%+v", a)
	}
	// The same seed gives the same wrong key seed.
	s1 := mustNew(t, Options{Seed: 9}, "mac-wrong-key").MACFaults(m, Host, false).Seed
	s2 := mustNew(t, Options{Seed: 9}, "mac-wrong-key").MACFaults(m, Host, false).Seed
	if s1 != s2 || s1 == 0 {
		t.Fatal("wrong-key seed not reproducible")
	}

	// key-desync acts on what the host signs, alongside a signing choice.
	rs = mustNew(t, Options{Seed: 5}, "key-desync:mti=0210", "mac-wrong-key:stream=downstream")
	r := resp(t, 1)
	if a := rs.MACFaults(r, Terminal, true); len(a.Fired) != 0 {
		t.Fatalf("terminal side: %+v", a)
	}
	a = rs.MACFaults(r, Host, false)
	if !a.Desync || a.Sign != mac.SignWrong || len(a.Fired) != 2 {
		t.Fatalf("%+v", a)
	}
	if a := rs.MACFaults(m, Host, false); a.Desync { // mti=0200 does not match
		t.Fatal("key-desync ignored mti=")
	}
	fired := rs.Fired()
	if len(fired) != 3 || fired[0].Type != "key-desync" || fired[0].STAN != "000001" || fired[0].Stream != Downstream {
		t.Fatalf("%+v", fired)
	}

	// Streams: a host rule set's rule for upstream never fires on what the
	// host signs.
	if a := mustNew(t, Options{Seed: 1}, "mac-missing:stream=upstream").MACFaults(r, Host, false); len(a.Fired) != 0 {
		t.Fatal(a)
	}
	// Nothing on a nil rule set or a proxy, and never in the interceptor.
	var none *RuleSet
	if a := none.MACFaults(m, Host, true); len(a.Fired) != 0 {
		t.Fatal(a)
	}
	rs = mustNew(t, Options{Seed: 1}, "mac-missing", "mac-wrong-key", "mac-stale-key", "key-desync")
	if a := rs.MACFaults(m, ProxyDownstream, true); len(a.Fired) != 0 {
		t.Fatal(a)
	}
	if p := rs.Interceptor(Host).Outbound(r); len(p.Fired) != 0 || p.Msg != nil {
		t.Fatalf("interceptor acted: %+v", p)
	}
	for _, st := range rs.Stats() {
		if st.Seen != 0 {
			t.Fatalf("%s counted by the interceptor", st.Label)
		}
	}
}

func signOnAnswer(t *testing.T) (*iso8583.Message, mac.KeyBlock) {
	t.Helper()
	kek, err := mac.NewKEK([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	_, blk, err := mac.IssueKeys(kek, mac.Alg3, mac.Pad1, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := ascii.NewMessage()
	m.MTI("0810")
	for id, v := range map[int]string{11: "000001", 41: "T1", 39: "00", 70: "001", 62: blk.Field()} {
		if err := iso.Set(m, id, v); err != nil {
			t.Fatal(err)
		}
	}
	return m, blk
}

func TestKCVWrong(t *testing.T) {
	m, blk := signOnAnswer(t)
	before := iso.Get(m, 62)
	for _, key := range []string{"mac", "pin"} {
		p := mustNew(t, Options{Seed: 3}, "kcv-wrong:key="+key).Interceptor(Host).Outbound(m)
		if len(p.Fired) != 1 || p.Msg == nil {
			t.Fatalf("%s: %+v", key, p)
		}
		if iso.Get(m, 62) != before {
			t.Fatal("the caller's message changed")
		}
		got, err := mac.ParseKeyBlock(iso.Get(p.Msg, 62))
		if err != nil {
			t.Fatal(err)
		}
		switch key {
		case "mac":
			if got.MACKCV == blk.MACKCV || got.PINKCV != blk.PINKCV || string(got.MACKey) != string(blk.MACKey) {
				t.Fatalf("%s: %s → %s", key, blk, got)
			}
			contains(t, p.Fired[0], "MAC key KCV "+blk.MACKCV+" replaced by "+got.MACKCV)
		case "pin":
			if got.PINKCV == blk.PINKCV || got.MACKCV != blk.MACKCV {
				t.Fatalf("%s: %s → %s", key, blk, got)
			}
		}
	}
	// Only key blocks; and on the terminal, on what it receives.
	rs := mustNew(t, Options{Seed: 3}, "kcv-wrong")
	if p := rs.Interceptor(Host).Outbound(resp(t, 2)); len(p.Fired) != 0 {
		t.Fatal("kcv-wrong acted on a message without a key block")
	}
	if p := rs.Interceptor(Terminal).Inbound(m); len(p.Fired) != 1 {
		t.Fatal("kcv-wrong did not act on the terminal's received 0810")
	}
	if p := rs.Interceptor(Terminal).Outbound(m); len(p.Fired) != 0 {
		t.Fatal("kcv-wrong acted upstream")
	}
}
