package fault

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

func resp(t testing.TB, stan int) *iso8583.Message {
	t.Helper()
	m := req(t, "T1", stan)
	m.MTI("0210")
	_ = iso.Set(m, 38, "A1B2C3")
	_ = iso.Set(m, 39, "00")
	return m
}

// frameOf encodes m the way the link does (length header + message).
func frameOf(t testing.TB, m *iso8583.Message) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	f, err := ascii.Framing.AppendFrame(nil, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// outbound returns the host's plan for m under one rule.
func outbound(t testing.TB, spec string, m *iso8583.Message) link.Plan {
	t.Helper()
	return mustNew(t, Options{Seed: 7}, spec).Interceptor(Host).Outbound(m)
}

func TestPlans(t *testing.T) {
	m := resp(t, 5)
	orig := frameOf(t, m)
	check := func(spec string, ok func(p link.Plan) bool) {
		t.Helper()
		p := outbound(t, spec, m)
		if !ok(p) {
			t.Errorf("%s: plan %+v", spec, p)
		}
		if len(p.Fired) != 1 || !strings.HasPrefix(p.Fired[0], strings.SplitN(spec, ":", 2)[0]) {
			t.Errorf("%s: fired %v", spec, p.Fired)
		}
		if !bytes.Equal(frameOf(t, m), orig) {
			t.Fatalf("%s changed the caller's message", spec)
		}
	}
	check("drop", func(p link.Plan) bool { return p.Drop })
	check("delay:delay=2s", func(p link.Plan) bool { return p.Delay == 2*time.Second })
	check("delay:delay=2s,jitter=1s", func(p link.Plan) bool { return p.Delay >= time.Second && p.Delay <= 3*time.Second })
	check("duplicate:copies=2", func(p link.Plan) bool { return p.Copies == 2 })
	check("reorder", func(p link.Plan) bool { return p.Hold })
	check("stan-mismatch", func(p link.Plan) bool { return iso.Get(p.Msg, 11) == "000006" })
	check("stan-mismatch:value=123", func(p link.Plan) bool { return iso.Get(p.Msg, 11) == "000123" })
	check("tid-mismatch", func(p link.Plan) bool { return strings.TrimSpace(iso.Get(p.Msg, 41)) == "T2" })
	check("wrong-mti", func(p link.Plan) bool { mti, _ := p.Msg.GetMTI(); return mti == "0110" })
	check("wrong-mti:value=0410", func(p link.Plan) bool { mti, _ := p.Msg.GetMTI(); return mti == "0410" })
	check("rc", func(p link.Plan) bool { return iso.Get(p.Msg, 39) == "91" && !iso.Has(p.Msg, 38) })
	check("rc:rc=00", func(p link.Plan) bool { return iso.Get(p.Msg, 39) == "00" && iso.Get(p.Msg, 38) == "A1B2C3" })
	check("rc:rc=05", func(p link.Plan) bool { return iso.Get(p.Msg, 39) == "05" && iso.Get(p.Msg, 38) == "" })
	check("remove-field:field=39", func(p link.Plan) bool { return !iso.Has(p.Msg, 39) && iso.Has(p.Msg, 11) })
	check("corrupt-field:field=4,value=999", func(p link.Plan) bool { return iso.Get(p.Msg, 4) == "000000000999" })
	check("corrupt-field:field=4", func(p link.Plan) bool {
		v := iso.Get(p.Msg, 4)
		return len(v) == 12 && v != iso.Get(m, 4) && strings.Trim(v, "0123456789") == ""
	})
	check("corrupt-field:field=41", func(p link.Plan) bool {
		v := iso.Get(p.Msg, 41)
		_, err := p.Msg.Pack()
		return len(v) == len(iso.Get(m, 41)) && v != iso.Get(m, 41) && err == nil
	})
	check("corrupt-field:field=39,mode=unpackable", func(p link.Plan) bool {
		f := p.Frame(append([]byte(nil), orig...))
		n, _ := ascii.Framing.Length.Get(f)
		_, err := ascii.Unpack(f[2:])
		return len(f) < len(orig) && n == len(f)-2 && err != nil && strings.Contains(err.Error(), "39")
	})
	check("bad-length:delta=-3", func(p link.Plan) bool {
		f := p.Frame(append([]byte(nil), orig...))
		n, _ := ascii.Framing.Length.Get(f)
		return n == len(orig)-2-3 && len(f) == len(orig)
	})
	check("bad-length", func(p link.Plan) bool {
		n, _ := ascii.Framing.Length.Get(p.Frame(append([]byte(nil), orig...)))
		return n == len(orig)-2+1
	})
	check("garbage:bytes=5", func(p link.Plan) bool {
		f := p.Frame(append([]byte(nil), orig...))
		return len(f) == len(orig)+5 && bytes.Equal(f[:len(orig)], orig) && f[len(orig)] >= 0xF0
	})
	check("bad-mac", func(p link.Plan) bool {
		f := p.Frame(append([]byte(nil), orig...))
		diff := 0
		for i := range f {
			if f[i] != orig[i] {
				diff++
				if i < len(f)-16 {
					return false
				}
			}
		}
		return diff == 1
	})

	// Rules that do not apply: responses only, field present, requests only.
	rq := req(t, "T1", 1)
	for _, spec := range []string{"rc", "stan-mismatch", "tid-mismatch", "wrong-mti", "remove-field:field=39",
		"corrupt-field:field=39", "duplicate-request"} {
		p := mustNew(t, Options{Seed: 1}, spec).Interceptor(Host).Outbound(rq)
		if p.Msg != nil || len(p.Fired) != 0 {
			t.Errorf("%s fired on a request: %+v", spec, p)
		}
	}
	if p := mustNew(t, Options{Seed: 1}, "duplicate-request").Interceptor(Terminal).Outbound(rq); p.Copies != 1 {
		t.Errorf("duplicate-request on a terminal: %+v", p)
	}
}

func TestBadMACOnTheWire(t *testing.T) {
	mac := []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	withMAC := func(m *iso8583.Message) *iso8583.Message {
		_ = m.BinaryField(64, mac)
		return m
	}
	// ASCII: one hex digit changes; the message still unpacks.
	m := withMAC(resp(t, 1))
	orig := frameOf(t, m)
	for seed := uint64(1); seed < 40; seed++ {
		p := mustNew(t, Options{Seed: seed}, "bad-mac").Interceptor(Host).Outbound(m)
		f := p.Frame(append([]byte(nil), orig...))
		got, err := ascii.Unpack(f[2:])
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		b, _ := got.GetBytes(64)
		diff := 0
		for i := range b {
			x := b[i] ^ mac[i]
			if x&0xF0 != 0 {
				diff++
			}
			if x&0x0F != 0 {
				diff++
			}
		}
		if diff != 1 || iso.Get(got, 11) != "000001" {
			t.Fatalf("seed %d: MAC %X, %d digits differ", seed, b, diff)
		}
	}
	// Binary dialect: exactly one bit of the last 8 bytes.
	bin, _ := iso.Lookup("iso87bin")
	bm := bin.NewMessage()
	bm.MTI("0210")
	_ = iso.Set(bm, 11, "000001")
	_ = bm.BinaryField(64, mac)
	body, _ := bm.Pack()
	frame, _ := bin.Framing.AppendFrame(nil, nil, body)
	p := mustNew(t, Options{Seed: 3, Dialect: bin}, "bad-mac").Interceptor(Host).Outbound(bm)
	f := p.Frame(append([]byte(nil), frame...))
	bits := 0
	for i := range f {
		for x := f[i] ^ frame[i]; x != 0; x &= x - 1 {
			bits++
			if i < len(f)-8 {
				t.Fatalf("byte %d changed, outside the MAC", i)
			}
		}
	}
	if bits != 1 {
		t.Fatalf("%d bits flipped", bits)
	}
}

func TestMatchingAndCounting(t *testing.T) {
	count := func(spec string, msgs func(i int) *iso8583.Message, n int) []int {
		rs := mustNew(t, Options{Seed: 1}, spec)
		ic := rs.Interceptor(Host)
		var fired []int
		for i := 1; i <= n; i++ {
			if p := ic.Outbound(msgs(i)); len(p.Fired) > 0 {
				fired = append(fired, i)
			}
		}
		return fired
	}
	r := func(i int) *iso8583.Message { return resp(t, i) }
	eq := func(spec string, got, want []int) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: fired on %v, want %v", spec, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: fired on %v, want %v", spec, got, want)
			}
		}
	}
	eq("nth", count("drop:nth=3", r, 10), []int{3})
	eq("every", count("drop:every=4", r, 10), []int{4, 8})
	eq("count", count("drop:count=2", r, 10), []int{1, 2})
	eq("every+count", count("drop:every=2,count=2", r, 10), []int{2, 4})
	eq("mti", count("drop:mti=0200|0110", r, 3), nil)
	eq("mti hit", count("drop:mti=0200|0210", r, 2), []int{1, 2})
	eq("field", count("drop:field.11=000002", r, 3), []int{2})
	eq("field missing", count("drop:field.38=ABC", r, 3), nil)
	eq("tid", count("drop:tid=T1", r, 2), []int{1, 2})
	eq("tid other", count("drop:tid=T9", r, 2), nil)
	eq("pc", count("drop:pc=00", r, 1), []int{1})
	eq("pc other", count("drop:pc=01", r, 1), nil)
	eq("stream", count("drop:stream=upstream", r, 2), nil)
	eq("p=0", count("drop:p=0", r, 50), nil)
	// nth counts only the messages the type applies to.
	mixed := func(i int) *iso8583.Message {
		if i%2 == 1 {
			return req(t, "T1", i)
		}
		return resp(t, i)
	}
	eq("rc nth", count("rc:nth=2", mixed, 10), []int{4})

	// after/until windows, on a clock we move.
	now := time.Unix(1000, 0)
	rs := mustNew(t, Options{Seed: 1, Now: func() time.Time { return now }}, "drop:after=10s,until=20s")
	ic := rs.Interceptor(Host)
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{0, false}, {9 * time.Second, false}, {10 * time.Second, true}, {19 * time.Second, true}, {20 * time.Second, false}} {
		now = time.Unix(1000, 0).Add(c.at)
		if got := ic.Outbound(resp(t, 1)).Drop; got != c.want {
			t.Errorf("at %v: drop %v", c.at, got)
		}
	}
}

func TestSidesAndStreams(t *testing.T) {
	m := resp(t, 1)
	rq := req(t, "T1", 1)
	rs := mustNew(t, Options{Seed: 1}, "drop", "delay:delay=1s")
	// Host: drop (downstream) and delay (out: downstream) act on what it sends.
	if p := rs.Interceptor(Host).Outbound(m); !p.Drop {
		t.Errorf("host outbound %+v", p)
	}
	if p := rs.Interceptor(Host).Inbound(rq); p.Drop || p.Delay != 0 {
		t.Errorf("host inbound %+v", p)
	}
	// Terminal: drop still means the response (downstream, inbound there);
	// delay (out) delays its requests.
	if p := rs.Interceptor(Terminal).Inbound(m); !p.Drop {
		t.Errorf("terminal inbound %+v", p)
	}
	if p := rs.Interceptor(Terminal).Outbound(rq); p.Drop || p.Delay != time.Second {
		t.Errorf("terminal outbound %+v", p)
	}
	// Proxy: only what each link writes, downstream by default.
	if p := rs.Interceptor(ProxyDownstream).Outbound(m); !p.Drop {
		t.Errorf("proxy downstream %+v", p)
	}
	if p := rs.Interceptor(ProxyUpstream).Outbound(rq); p.Drop || p.Delay != 0 {
		t.Errorf("proxy upstream %+v", p)
	}
	if p := rs.Interceptor(ProxyUpstream).Inbound(m); p.Drop {
		t.Errorf("proxy inbound acted: %+v", p)
	}
	// Inbound-capable rewrite on the terminal: rc.
	if p := mustNew(t, Options{Seed: 1}, "rc:rc=05").Interceptor(Terminal).Inbound(m); iso.Get(p.Msg, 39) != "05" {
		t.Errorf("terminal rc %+v", p)
	}
	var nilRS *RuleSet
	if nilRS.Interceptor(Host) != nil || nilRS.Dies(rq) || nilRS.WrapConn(nil, Host) != nil || nilRS.Seed() != 0 ||
		nilRS.Remove(1) || nilRS.Reset() != 0 || nilRS.Rules() != nil || nilRS.Trigger(1, nil) || nilRS.Unsolicited() != nil ||
		nilRS.Crashes() != nil || nilRS.Stats() != nil || nilRS.Fired() != nil || nilRS.WrapListener(nil) != nil {
		t.Error("nil rule set")
	}
}

func TestDeterminism(t *testing.T) {
	specs := []string{"drop:p=0.1", "delay:p=0.3,delay=1s,jitter=500ms", "corrupt-field:field=4,p=0.2", "bad-mac:p=0.5"}
	run := func(seed uint64) string {
		rs := mustNew(t, Options{Seed: seed}, specs...)
		ic := rs.Interceptor(Host)
		var b strings.Builder
		for i := 1; i <= 1000; i++ {
			m := resp(t, i)
			p := ic.Outbound(m)
			b.WriteString(strings.Join(p.Fired, "+"))
			if p.Msg != nil {
				b.WriteString(iso.Get(p.Msg, 4))
			}
			if p.Frame != nil {
				b.Write(p.Frame(frameOf(t, m)))
			}
			b.WriteString(p.Delay.String() + ";")
		}
		return b.String()
	}
	a, b, c := run(42), run(42), run(43)
	if a != b {
		t.Fatal("same seed, different decisions")
	}
	if a == c {
		t.Fatal("different seeds, same decisions")
	}
	if rs := mustNew(t, Options{}); rs.Seed() == 0 {
		t.Fatal("no seed picked")
	}
}

// Integration: each message fault over a real loopback link pair, with the
// symptom asserted at the terminal.

func TestLinkDrop(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "drop:mti=0210"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), 100*time.Millisecond); r.Err != link.ErrTimeout {
		t.Fatalf("got %v", r.Err)
	}
	contains(t, st.hev.next(t, link.EvFault).Detail, "drop#1")
}

func TestLinkDelayIsLate(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "delay:delay=300ms"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), 50*time.Millisecond); r.Err != link.ErrTimeout {
		t.Fatalf("got %v", r.Err)
	}
	if e := st.ev.next(t, link.EvLate); e.Late <= 0 {
		t.Fatalf("late event %+v", e)
	}
}

// The copy of an answer is told apart from an answer that matches nothing:
// the link remembers recently answered keys.
func TestLinkDuplicateIsReportedAsDuplicate(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "duplicate"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), wait); r.Err != nil {
		t.Fatal(r.Err)
	}
	st.ev.next(t, link.EvDuplicate)
}

func TestLinkReorder(t *testing.T) {
	// Watch the wire with a raw client: a terminal link hands responses to
	// its pool, so callbacks may run in either order.
	rs := mustNew(t, Options{Seed: 1}, "reorder:nth=1")
	cc, sc := conns(t)
	defer cc.Close()
	hev := make(events, 16)
	s := link.New(sc, link.Config{Dialect: ascii, Handler: echo(), Interceptor: rs.Interceptor(Host), Observer: hev.observe}).Start()
	defer s.Close()
	if _, err := cc.Write(frameOf(t, req(t, "T1", 1))); err != nil {
		t.Fatal(err)
	}
	hev.next(t, link.EvSent) // the first response is held (sent is reported once the link holds it)
	if _, err := cc.Write(frameOf(t, req(t, "T1", 2))); err != nil {
		t.Fatal(err)
	}
	_ = cc.SetReadDeadline(time.Now().Add(wait))
	var stans []string
	for range 2 {
		m := readFrame(t, cc)
		stans = append(stans, iso.Get(m, 11))
	}
	if stans[0] != "000002" || stans[1] != "000001" {
		t.Fatalf("order %v", stans)
	}
}

// readFrame reads one iso87ascii frame from c.
func readFrame(t testing.TB, c io.Reader) *iso8583.Message {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n, _ := ascii.Framing.Length.Get(hdr[:])
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	m, err := ascii.Unpack(body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLinkSTANMismatch(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "stan-mismatch"), Host, echo())
	st.c.Send(req(t, "T1", 1), wait, func(link.Result) {})
	contains(t, st.ev.next(t, link.EvUnmatched).Detail, "STAN differs: got 000002")
}

func TestLinkTIDMismatch(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "tid-mismatch"), Host, echo())
	st.c.Send(req(t, "T1", 1), wait, func(link.Result) {})
	contains(t, st.ev.next(t, link.EvUnmatched).Detail, `TID differs: got "T2"`)
}

func TestLinkWrongMTI(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "wrong-mti"), Host, echo())
	r := st.c.Call(req(t, "T1", 1), wait)
	if !errors.Is(r.Err, link.ErrWrongMTI) {
		t.Fatalf("got %v", r.Err)
	}
	contains(t, r.Err.Error(), "sent 0200, got 0110")
}

func TestLinkRC(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "rc:rc=91,mti=0210"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), wait); r.Err != nil || iso.Get(r.Resp, 39) != "91" {
		t.Fatalf("%v rc %q", r.Err, iso.Get(r.Resp, 39))
	}
}

func TestLinkRCOnTerminalSide(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "rc:rc=05"), Terminal, echo())
	if r := st.c.Call(req(t, "T1", 1), wait); r.Err != nil || iso.Get(r.Resp, 39) != "05" {
		t.Fatalf("%v rc %q", r.Err, iso.Get(r.Resp, 39))
	}
}

func TestLinkCorruptField(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "corrupt-field:field=4"), Host, echo())
	r := st.c.Call(req(t, "T1", 1), wait)
	if r.Err != nil || iso.Get(r.Resp, 4) == iso.Get(r.Req, 4) || len(iso.Get(r.Resp, 4)) != 12 {
		t.Fatalf("%v amount %q", r.Err, iso.Get(r.Resp, 4))
	}
}

func TestLinkCorruptFieldUnpackable(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "corrupt-field:field=39,mode=unpackable"), Host, echo())
	st.c.Send(req(t, "T1", 1), wait, func(link.Result) {})
	e := st.ev.next(t, link.EvBadMessage)
	contains(t, e.Detail, "cannot unpack")
	contains(t, e.Detail, "39")
	// Framing is intact: the link is still up and the next request works.
	rs2 := st.c
	if r := rs2.Call(req(t, "T1", 2), 100*time.Millisecond); r.Err != link.ErrTimeout {
		t.Fatalf("%v", r.Err) // the rule fires on every response: a timeout, not a dead link
	}
	select {
	case <-st.c.Done():
		t.Fatal("link died: framing was lost")
	default:
	}
}

func TestLinkRemoveField(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "remove-field:field=39"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), wait); r.Err != nil || iso.Has(r.Resp, 39) {
		t.Fatalf("%v %s", r.Err, iso.Summary(r.Resp))
	}
}

func TestLinkBadLength(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "bad-length:delta=-4"), Host, echo())
	st.c.Send(req(t, "T1", 1), wait, func(link.Result) {})
	contains(t, st.ev.next(t, link.EvBadMessage).Detail, "cannot unpack")
}

func TestLinkBadLengthLong(t *testing.T) {
	// +N: the terminal waits for bytes that are the next frame's: the first
	// request times out, and the stream never recovers.
	st := start(t, mustNew(t, Options{Seed: 1}, "bad-length:delta=+500,nth=1"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), 100*time.Millisecond); r.Err != link.ErrTimeout {
		t.Fatalf("%v", r.Err)
	}
}

func TestLinkGarbage(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "garbage"), Host, echo())
	st.c.Send(req(t, "T1", 1), wait, func(link.Result) {})
	<-st.c.Done()
	var le *link.LinkError
	if !errors.As(st.c.Err(), &le) || le.Kind != link.FailFraming {
		t.Fatalf("%v", st.c.Err())
	}
}

func TestLinkBadMAC(t *testing.T) {
	mac := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	h := link.HandlerFunc(func(l *link.Link, in *link.Inbound) {
		r := answer(in, "00")
		_ = r.BinaryField(64, mac)
		_ = l.Reply(in, r)
	})
	st := start(t, mustNew(t, Options{Seed: 9}, "bad-mac"), Host, h)
	r := st.c.Call(req(t, "T1", 1), wait)
	got, _ := r.Resp.GetBytes(64)
	if r.Err != nil || len(got) != 8 || bytes.Equal(got, mac) {
		t.Fatalf("%v MAC %X", r.Err, got)
	}
}

func TestLinkDuplicateRequest(t *testing.T) {
	var n atomic.Int32
	seen := make(chan string, 4)
	h := link.HandlerFunc(func(l *link.Link, in *link.Inbound) {
		n.Add(1)
		seen <- iso.Get(in.Msg, 11)
		_ = l.Reply(in, answer(in, "00"))
	})
	st := start(t, mustNew(t, Options{Seed: 1}, "duplicate-request"), Terminal, h)
	if r := st.c.Call(req(t, "T1", 7), wait); r.Err != nil {
		t.Fatal(r.Err)
	}
	if a, b := <-seen, <-seen; a != "000007" || b != "000007" {
		t.Fatalf("host saw %s, %s", a, b)
	}
	st.ev.next(t, link.EvDuplicate) // the second answer, to an answered request
}

func TestDies(t *testing.T) {
	rs := mustNew(t, Options{Seed: 1}, "die:mti=0200,nth=2")
	var got []bool
	for i := 1; i <= 3; i++ {
		got = append(got, rs.Dies(req(t, "T1", i)))
	}
	if got[0] || !got[1] || got[2] {
		t.Fatalf("%v", got)
	}
	if rs.Dies(resp(t, 1)) {
		t.Fatal("died on a response")
	}
	f := rs.Fired()
	if len(f) != 1 || f[0].Type != "die" || f[0].STAN != "000002" || f[0].MTI != "0200" {
		t.Fatalf("%+v", f)
	}
}

func TestHostActions(t *testing.T) {
	now := time.Unix(1000, 0)
	rs := mustNew(t, Options{Seed: 1, Now: func() time.Time { return now }},
		"unsolicited:code=101,after=10s,every=30s,count=2", "crash:after=1m,down=5s", "drop")
	u := rs.Unsolicited()
	if len(u) != 1 || u[0].Code != "101" || u[0].Every != 30*time.Second || !u[0].At.Equal(now.Add(10*time.Second)) || u[0].Count != 2 {
		t.Fatalf("%+v", u)
	}
	c := rs.Crashes()
	if len(c) != 1 || c[0].Down != 5*time.Second || !c[0].At.Equal(now.Add(time.Minute)) {
		t.Fatalf("%+v", c)
	}
	// Each Trigger call counts: the first two fire, the third does not.
	first, second, third := rs.Trigger(u[0].Rule, nil), rs.Trigger(u[0].Rule, nil), rs.Trigger(u[0].Rule, nil)
	if !first || !second || third {
		t.Fatal("count=2 not honoured")
	}
	if rs.Trigger(999, nil) || rs.Trigger(3, nil) {
		t.Fatal("triggered a missing rule or a message rule")
	}
	if !rs.Trigger(c[0].Rule, nil) {
		t.Fatal("crash did not trigger")
	}
	st := rs.Stats()
	if st[0].Fired != 2 || st[1].Fired != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestStatsAndFired(t *testing.T) {
	rs := mustNew(t, Options{Seed: 1, Memory: 5}, "rc:name=ninety-one", "delay:delay=1ms")
	ic := rs.Interceptor(Host)
	for i := 1; i <= 8; i++ {
		p := ic.Outbound(resp(t, i))
		if len(p.Fired) != 2 || !strings.HasPrefix(p.Fired[0], "ninety-one (RC 00→91)") {
			t.Fatalf("%v", p.Fired)
		}
	}
	f := rs.Fired()
	if len(f) != 5 || rs.TotalFired() != 16 {
		t.Fatalf("%d kept, %d total", len(f), rs.TotalFired())
	}
	last := f[4]
	if last.Type != "delay" || last.STAN != "000008" || last.MTI != "0210" || last.Stream != Downstream || last.TID != "T1" {
		t.Fatalf("%+v", last)
	}
	if f[3].Label != "ninety-one" || f[3].Detail != "RC 00→91" {
		t.Fatalf("%+v", f[3])
	}
	rs.Remove(1)
	s := rs.Stats()
	if len(s) != 2 || s[0].Fired != 8 || s[0].Active || !s[1].Active || s[1].Seen != 8 {
		t.Fatalf("%+v", s)
	}
}
