package diagnose

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

func diag(t *testing.T, o Observation) Finding {
	t.Helper()
	f, bad := Diagnose(o)
	if !bad {
		t.Fatalf("%+v: no failure named", o)
	}
	if f.FixText() == "" || f.Explanation() == "" {
		t.Fatalf("%s without fix or explanation", f.Cause)
	}
	if _, ok := Lookup(f.Cause); !ok {
		t.Fatalf("cause %s not registered", f.Cause)
	}
	return f
}

// Neighbours a terminal tells apart with what it can see on its own link.
func TestRulesTellNeighboursApart(t *testing.T) {
	cases := []struct {
		name string
		o    Observation
		want ID
	}{
		{"slow network: even the sign-on was slow", Observation{MTI: "0200", Outcome: TimedOut, SignOnRTT: 820 * time.Millisecond, EchoRTT: 700 * time.Millisecond}, NetworkSlow},
		{"slow answer on a slow network is the network", Observation{MTI: "0200", Outcome: Answered, RC: "00", EchoRTT: 900 * time.Millisecond}, NetworkSlow},
		{"host alive, this answer never came: echo after the timeout answered", Observation{MTI: "0200", Outcome: TimedOut, Probe: ProbeAnswered, EchoRTT: 3 * time.Millisecond}, ResponseNeverSent},
		{"blackhole: echo after the timeout unanswered too", Observation{MTI: "0200", Outcome: TimedOut, Probe: ProbeUnanswered, AnsweredBefore: true}, NetworkBlackhole},
		{"half-open: idle first, then nothing", Observation{MTI: "0200", Outcome: TimedOut, Probe: ProbeUnanswered, AnsweredBefore: true, Idle: 10 * time.Minute}, LinkHalfOpen},
		{"late", Observation{MTI: "0200", Outcome: TimedOut, Late: 2 * time.Second}, ResponseLate},
		{"plain timeout without more evidence", Observation{MTI: "0200", Outcome: TimedOut}, ResponseTimeout},
		{"host closes at the first message: framing", Observation{MTI: "0800", Outcome: LinkFailed, LinkFail: link.FailPeerClosed}, FramingLengthHeader},
		{"host closes later: link closed", Observation{MTI: "0200", Outcome: LinkFailed, LinkFail: link.FailPeerClosed, AnsweredBefore: true}, LinkClosed},
		{"reset", Observation{MTI: "0200", Outcome: LinkFailed, LinkFail: link.FailPeerReset}, LinkReset},
		{"RC 63 without a MAC sent", Observation{MTI: "0200", Outcome: Answered, RC: "63"}, MACNotSent},
		{"RC 63 with a MAC sent", Observation{MTI: "0200", Outcome: Answered, RC: "63", SentMAC: true}, MACRejectedByHost},
		{"padding", Observation{MTI: "0200", Outcome: Answered, RC: "00", MACVerify: &mac.VerifyError{Kind: mac.WrongKey}, PaddingMismatch: true}, MACPaddingMismatch},
		{"wrong key", Observation{MTI: "0200", Outcome: Answered, RC: "00", MACVerify: &mac.VerifyError{Kind: mac.WrongKey}}, MACWrongKey},
		{"decline", Observation{MTI: "0200", Outcome: Answered, RC: "51"}, IssuerInsufficientFunds},
		{"no RC", Observation{MTI: "0200", Outcome: Answered}, ResponseMissingField},
		{"refused", Observation{Outcome: ConnectFailed, ConnectErr: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, HostRefused},
		{"unreachable", Observation{Outcome: ConnectFailed, ConnectErr: &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}}, HostUnreachable},
		{"no route", Observation{Outcome: ConnectFailed, ConnectErr: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}}, HostNoRoute},
		{"dns", Observation{Outcome: ConnectFailed, ConnectErr: &net.DNSError{Name: "pos.example", Err: "no such host", IsNotFound: true}}, HostNameUnresolved},
	}
	for _, c := range cases {
		if f := diag(t, c.o); f.Cause != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, f.Cause, f.Explanation(), c.want)
		}
	}
	if _, bad := Diagnose(Observation{MTI: "0200", Outcome: Answered, RC: "00", EchoRTT: 5 * time.Millisecond}); bad {
		t.Error("a fast approval named a cause")
	}
	if f := diag(t, Observation{MTI: "0200", Outcome: TimedOut, SignOnRTT: 820 * time.Millisecond}); f.FixText() != "the network, not the issuer, is slow: the sign-on took 820 ms — check the signal or the carrier" {
		t.Errorf("slow-network fix: %q", f.FixText())
	}
}

func frameOf(h iso.LengthHeader, tpdu bool) []byte {
	body := []byte("0800" + "8220000000000000" + "0400000000000000" + "1127101500000001TERM0001301")
	fr := iso.Framing{Length: h}
	if tpdu {
		fr.TPDU = []byte{0x60, 0, 3, 0, 0}
		fr.LengthCountsPrefix = true
	}
	b, err := fr.AppendFrame(nil, nil, body)
	if err != nil {
		panic(err)
	}
	return b
}

// What a failed frame looks like names the length format the peer uses.
func TestSniffAndFrameFinding(t *testing.T) {
	for _, h := range []iso.LengthHeader{iso.Binary2, iso.BCD2, iso.ASCII4} {
		for _, tpdu := range []bool{false, true} {
			b := frameOf(h, tpdu)
			s := Sniff(b)
			if s.Length == nil || *s.Length != h || s.TPDU != tpdu {
				t.Errorf("%s tpdu=%v: sniffed %+v", h, tpdu, s)
			}
		}
	}
	// A binary2 terminal reading an ascii4 answer: named, with the format.
	f := FrameFinding(frameOf(iso.ASCII4, false), 0, iso.Framing{Length: iso.Binary2}, "")
	if f.Cause != FramingLengthHeader || f.FixText() != "set the length header to ascii4 on the side that expects binary2" {
		t.Errorf("%s: %s / %s", f.Cause, f.Explanation(), f.FixText())
	}
	// Stray bytes after good frames are not a wrong length format.
	if f := FrameFinding([]byte("\r\n\x00\x00"), 3, iso.Framing{Length: iso.ASCII4}, ""); f.Cause != FramingTrailingBytes {
		t.Errorf("trailing bytes: %s", f.Cause)
	}
	// A TPDU where none was expected.
	b := frameOf(iso.Binary2, true)
	if f := FrameFinding(b, 0, iso.Framing{Length: iso.Binary2}, ""); f.Cause != FramingTPDU {
		t.Errorf("tpdu: %s", f.Cause)
	}
}

func TestConnectCauseUnknownError(t *testing.T) {
	if id, _ := ConnectCause(errors.New("weird")); id != LinkDown {
		t.Fatal(id)
	}
}

// Every cause says which merchant-checklist item would have helped, or
// why none would.
func TestEveryCauseMapsToTheChecklist(t *testing.T) {
	valid := map[Checklist]bool{CheckPower: true, CheckRestart: true, CheckNetwork: true, CheckSettings: true, CheckCard: true, CheckSoftware: true, CheckSupport: true}
	for _, c := range All() {
		if c.Checklist == CheckNone && c.ChecklistNote == "" {
			t.Errorf("%s: no checklist item and no note saying why none helps", c.ID)
		}
		if c.Checklist != CheckNone && !valid[c.Checklist] {
			t.Errorf("%s: checklist %q", c.ID, c.Checklist)
		}
	}
}

func TestStats(t *testing.T) {
	var r []time.Duration
	for i := 1; i <= 100; i++ {
		r = append(r, time.Duration(i)*time.Millisecond)
	}
	st := Stats(r)
	if st.Min != time.Millisecond || st.Median != 51*time.Millisecond || st.P99 != 99*time.Millisecond || st.Max != 100*time.Millisecond || st.Jit != time.Millisecond {
		t.Fatal(fmt.Sprint(st))
	}
}

// ObservationOf reads what a link Result says; Diagnose names it.
func TestObservationOfResults(t *testing.T) {
	d, _ := iso.Lookup("iso87ascii")
	req := d.NewMessage()
	req.MTI("0200")
	resp := d.NewMessage()
	resp.MTI("0210")
	_ = iso.Set(resp, 39, "63")
	now := time.Now()
	cases := []struct {
		r    link.Result
		want ID
	}{
		{link.Result{Resp: resp, Sent: now, Done: now}, MACNotSent},
		{link.Result{Err: link.ErrTimeout, Sent: now, Done: now.Add(time.Second)}, ResponseTimeout},
		{link.Result{Err: &link.LinkError{Kind: link.FailPeerReset}}, LinkReset},
		{link.Result{Err: link.ErrQueueFull}, TerminalQueueFull},
		{link.Result{Resp: resp, Err: fmt.Errorf("%w: sent 0200, got 0410", link.ErrWrongMTI)}, ResponseWrongMTI},
		{link.Result{Resp: resp, Err: &mac.VerifyError{Kind: mac.Corrupted}}, MACCorrupted},
	}
	for _, c := range cases {
		if f := diag(t, ObservationOf(d, req, c.r, time.Second)); f.Cause != c.want {
			t.Errorf("%v: %s, want %s", c.r.Err, f.Cause, c.want)
		}
	}
}
