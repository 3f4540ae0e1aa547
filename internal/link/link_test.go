package link

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/internal/testkit/isokit"
)

func TestMain(m *testing.M) { testkit.VerifyMain(m) }

var ascii, _ = iso.Lookup("iso87ascii")

func req(t testing.TB, tid string, stan int) *iso8583.Message {
	t.Helper()
	return isokit.Sale(t, ascii, tid, stan)
}

func answer(in *Inbound, rc string) *iso8583.Message { return isokit.Answer(ascii, in.MTI, in.Msg, rc) }

// pair returns two started links over real loopback TCP.
func pair(t testing.TB, client, server Config) (*Link, *Link) {
	t.Helper()
	cc, sc := testkit.Pair(t)
	client.Dialect, server.Dialect = ascii, ascii
	return New(cc, client).Start(), New(sc, server).Start()
}

// observe hands c's first event of kind to the channel it returns.
func observe(c *Link, kind EventKind) <-chan Event {
	ch := make(chan Event, 1)
	c.cfg.Observer = func(e Event) {
		if e.Kind == kind {
			select {
			case ch <- e:
			default:
			}
		}
	}
	return ch
}

func echoHandler(rc string) Handler {
	return HandlerFunc(func(l *Link, in *Inbound) { _ = l.Reply(in, answer(in, rc)) })
}

func TestRoundTripsConcurrent(t *testing.T) {
	c, s := pair(t, Config{}, Config{Handler: echoHandler("00")})
	defer s.Close()
	defer c.Close()
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 500 {
		wg.Add(1)
		c.Send(req(t, "TERM0001", i+1), 5*time.Second, func(r Result) {
			defer wg.Done()
			if r.Err != nil || iso.Get(r.Resp, 39) != "00" || iso.Get(r.Resp, 11) != iso.Get(r.Req, 11) {
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d bad results", bad.Load())
	}
	st := c.Stats()
	if st.FramesOut != 500 || st.Writes > st.FramesOut {
		t.Fatalf("stats %+v", st)
	}
}

func TestTimeoutThenLate(t *testing.T) {
	release := make(chan *Inbound, 1)
	c, s := pair(t, Config{}, Config{Handler: HandlerFunc(func(l *Link, in *Inbound) { release <- in })})
	defer s.Close()
	defer c.Close()
	late := observe(c, EvLate)
	r := c.Call(req(t, "T1", 7), 50*time.Millisecond)
	if r.Err != ErrTimeout {
		t.Fatalf("want timeout, got %v", r.Err)
	}
	in := <-release
	_ = s.Reply(in, answer(in, "00"))
	e := <-late
	if e.Late <= 0 || c.Stats().Late != 1 {
		t.Fatalf("late event %+v", e)
	}
}

func TestUnmatchedSaysWhichPartDiffered(t *testing.T) {
	c, s := pair(t, Config{}, Config{Handler: HandlerFunc(func(l *Link, in *Inbound) {
		r := answer(in, "00")
		_ = iso.Set(r, 11, "999999")
		_ = l.Reply(in, r)
	})})
	defer s.Close()
	defer c.Close()
	ev := observe(c, EvUnmatched)
	done := make(chan Result, 1)
	c.Send(req(t, "T1", 1), time.Minute, func(r Result) { done <- r })
	e := <-ev
	if want := "STAN differs: got 999999, in flight for TID T1: STAN 000001"; e.Detail != "unmatched response: "+want {
		t.Fatalf("detail %q", e.Detail)
	}
	c.Close()
	if r := <-done; r.Err == nil {
		t.Fatal("close did not answer the pending request")
	}
}

func TestWrongMTI(t *testing.T) {
	c, s := pair(t, Config{}, Config{Handler: HandlerFunc(func(l *Link, in *Inbound) {
		r := answer(in, "00")
		r.MTI("0110")
		_ = l.Reply(in, r)
	})})
	defer s.Close()
	defer c.Close()
	r := c.Call(req(t, "T1", 1), time.Minute)
	if r.Resp == nil || r.Err == nil {
		t.Fatalf("want wrong MTI, got %v", r.Err)
	}
}

// The link must never hang when it breaks: 1 000 requests in flight whose
// deadlines expire at the moment the link is killed, 100 times. Every
// caller gets exactly one answer; goleak checks nothing is left running.
func TestKillWithThousandInFlight(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	for round := range 100 {
		c, s := pair(t, Config{Pool: pool}, Config{Pool: pool, Handler: HandlerFunc(func(*Link, *Inbound) {})})
		var answered atomic.Int32
		var wg sync.WaitGroup
		deadline := 20 * time.Millisecond
		for i := range 1000 {
			wg.Add(1)
			var once atomic.Bool
			c.Send(req(t, "T", i+1), deadline, func(r Result) {
				if !once.CompareAndSwap(false, true) {
					t.Errorf("request answered twice")
				}
				if r.Err == nil {
					t.Errorf("request got a response from a silent host")
				}
				answered.Add(1)
				wg.Done()
			})
		}
		time.Sleep(time.Until(time.Now().Add(deadline)) - time.Duration(round%5)*time.Millisecond)
		// Kill both ends while deadlines expire; alternate who goes first.
		if round%2 == 0 {
			s.Abort(fmt.Errorf("killed"))
			c.Abort(fmt.Errorf("killed"))
		} else {
			c.Abort(fmt.Errorf("killed"))
			s.Abort(fmt.Errorf("killed"))
		}
		waitOrFail(t, &wg, round)
		c.Close()
		s.Close()
		if answered.Load() != 1000 {
			t.Fatalf("round %d: %d answers", round, answered.Load())
		}
	}
}

func waitOrFail(t *testing.T, wg *sync.WaitGroup, round int) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("round %d: callers still waiting 10 s after the link died", round)
	}
}

func TestPeerCloseIsClassified(t *testing.T) {
	c, s := pair(t, Config{}, Config{Handler: HandlerFunc(func(l *Link, in *Inbound) { l.Abort(fmt.Errorf("bye")) })})
	defer s.Close()
	defer c.Close()
	r := c.Call(req(t, "T1", 1), time.Minute)
	var le *LinkError
	if !asLinkError(r.Err, &le) || (le.Kind != FailPeerClosed && le.Kind != FailPeerReset) {
		t.Fatalf("want peer closed/reset, got %v", r.Err)
	}
}

func asLinkError(err error, le **LinkError) bool {
	e, ok := err.(*LinkError)
	if ok {
		*le = e
	}
	return ok
}

func TestOversizeFrameLosesFraming(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	got := make(chan *Link, 1)
	go func() {
		sc, _ := ln.Accept()
		got <- New(sc, Config{Dialect: ascii, MaxFrame: 1000}).Start()
	}()
	raw, _ := net.Dial("tcp", ln.Addr().String())
	defer raw.Close()
	s := <-got
	defer s.Close()
	_, _ = raw.Write([]byte("0200")) // ASCII length where binary is expected: 0x3032 = 12338 bytes
	<-s.Done()
	var le *LinkError
	if !asLinkError(s.Err(), &le) || le.Kind != FailFraming {
		t.Fatalf("want framing lost, got %v", s.Err())
	}
}
