package fault

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/possim/possim/internal/link"
)

func TestFrameTracker(t *testing.T) {
	var stream []byte
	for i := 1; i <= 3; i++ {
		stream = append(stream, frameOf(t, req(t, "T1", i))...)
	}
	stream = append(stream, 0, 0) // a keepalive
	fr := ascii.Framing
	for _, step := range []int{1, 2, 3, 7, len(stream)} {
		tr := frameTracker{lh: fr.Length, hs: 2, fr: fr}
		var bounds []int64
		for i := 0; i < len(stream); i += step {
			p := stream[i:min(i+step, len(stream))]
			tr.find(p, func(off int, done int64) bool {
				if off > 0 || len(bounds) == 0 || bounds[len(bounds)-1] != done {
					bounds = append(bounds, done)
				}
				return false
			})
		}
		if tr.done != 4 || tr.lost || len(bounds) != 5 {
			t.Fatalf("step %d: done %d bounds %v", step, tr.done, bounds)
		}
	}
	tr := frameTracker{lh: fr.Length, hs: 2, fr: fr}
	if o := tr.find(stream, func(_ int, done int64) bool { return done == 2 }); o != 2*len(frameOf(t, req(t, "T1", 1))) {
		t.Fatalf("third frame at %d", o)
	}
}

// recConn records the size of every socket write.
type recConn struct {
	net.Conn
	mu     sync.Mutex
	writes []int
}

func (r *recConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, len(p))
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func readN(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConnLatency(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "latency:latency=150ms"), Terminal, echo())
	r := st.c.Call(req(t, "T1", 1), wait)
	if r.Err != nil || r.Done.Sub(r.Sent) < 150*time.Millisecond {
		t.Fatalf("%v after %v", r.Err, r.Done.Sub(r.Sent))
	}
}

func TestConnBandwidth(t *testing.T) {
	cc, sc := conns(t)
	defer sc.Close()
	w := mustNew(t, Options{Seed: 1}, "bandwidth:rate=2000").WrapConn(cc, Terminal)
	defer w.Close()
	t0 := time.Now()
	go func() { _, _ = w.Write(make([]byte, 600)) }()
	readN(t, sc, 600)
	if el := time.Since(t0); el < 200*time.Millisecond {
		t.Fatalf("600 bytes at 2000 B/s took %v", el)
	}
}

func TestConnSlowDrip(t *testing.T) {
	cc, sc := conns(t)
	defer sc.Close()
	rec := &recConn{Conn: cc}
	w := mustNew(t, Options{Seed: 1}, "slow-drip:size=3,delay=1ms").WrapConn(rec, Terminal)
	defer w.Close()
	frame := frameOf(t, req(t, "T1", 1))
	if n, err := w.Write(frame); n != len(frame) || err != nil {
		t.Fatal(n, err)
	}
	readN(t, sc, len(frame))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.writes[0] != 3 || len(rec.writes) != (len(frame)+2)/3 {
		t.Fatalf("writes %v", rec.writes)
	}
}

func TestConnSlowDripOverLink(t *testing.T) {
	// Pieces of 1 byte split the length header: the host still reads frames.
	st := start(t, mustNew(t, Options{Seed: 1}, "slow-drip:size=1,delay=0s"), Terminal, echo())
	if r := st.c.Call(req(t, "T1", 1), wait); r.Err != nil {
		t.Fatal(r.Err)
	}
}

func TestConnBlackhole(t *testing.T) {
	rs := mustNew(t, Options{Seed: 1}, "blackhole")
	st := start(t, rs, Host, echo())
	if r := st.c.Call(req(t, "T1", 1), 100*time.Millisecond); r.Err != link.ErrTimeout {
		t.Fatalf("%v", r.Err)
	}
	select {
	case <-st.c.Done():
		t.Fatal("a blackhole closed the link")
	default:
	}
	// Removing the rule lets bytes through again on the open connection.
	if !rs.Remove(1) {
		t.Fatal("no rule 1")
	}
	if r := st.c.Call(req(t, "T1", 2), wait); r.Err != nil {
		t.Fatal(r.Err)
	}
}

func linkErr(t testing.TB, l *link.Link) *link.LinkError {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(wait):
		t.Fatal("link still up")
	}
	var le *link.LinkError
	if !errors.As(l.Err(), &le) {
		t.Fatalf("%v", l.Err())
	}
	return le
}

func TestConnResetAfterMessages(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "reset:after=1"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), wait); r.Err != nil {
		t.Fatal(r.Err)
	}
	r := st.c.Call(req(t, "T1", 2), wait)
	var le *link.LinkError
	if !errors.As(r.Err, &le) || le.Kind != link.FailPeerReset {
		t.Fatalf("%v", r.Err)
	}
	contains(t, linkErr(t, st.s).Error(), "fault reset#1: connection reset (RST) after 1 messages")
}

func TestConnCloseAfterMessages(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "close:after=1"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), wait); r.Err != nil {
		t.Fatal(r.Err)
	}
	r := st.c.Call(req(t, "T1", 2), wait)
	var le *link.LinkError
	if !errors.As(r.Err, &le) || le.Kind != link.FailPeerClosed {
		t.Fatalf("%v", r.Err)
	}
}

func TestConnResetAfterTime(t *testing.T) {
	fired := make(chan Firing, 1)
	st := start(t, mustNew(t, Options{Seed: 1, OnFire: func(f Firing) { fired <- f }}, "reset:after=50ms"), Host, echo())
	if le := linkErr(t, st.c); le.Kind != link.FailPeerReset && le.Kind != link.FailPeerClosed {
		t.Fatalf("%v", le)
	}
	contains(t, (<-fired).Detail, "reset (RST) after 50ms")
}

func TestConnResetAtOnce(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "reset"), Host, echo())
	if le := linkErr(t, st.c); le.Kind != link.FailPeerReset && le.Kind != link.FailPeerClosed {
		t.Fatalf("%v", le)
	}
}

func TestConnTruncate(t *testing.T) {
	st := start(t, mustNew(t, Options{Seed: 1}, "truncate:after=1"), Host, echo())
	if r := st.c.Call(req(t, "T1", 1), wait); r.Err != nil {
		t.Fatal(r.Err)
	}
	st.c.Send(req(t, "T1", 2), wait, func(link.Result) {})
	le := linkErr(t, st.c)
	if le.Kind != link.FailFraming {
		t.Fatalf("%v", le)
	}
	contains(t, le.Error(), "truncated")
}

func TestConnTruncateBytes(t *testing.T) {
	cc, sc := conns(t)
	defer sc.Close()
	w := mustNew(t, Options{Seed: 1}, "truncate:bytes=5").WrapConn(cc, Terminal)
	defer w.Close()
	n, err := w.Write(make([]byte, 20))
	var ce *ConnError
	if n != 5 || !errors.As(err, &ce) {
		t.Fatalf("%d %v", n, err)
	}
	_ = sc.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(sc)
	if len(b) != 5 || err != nil {
		t.Fatalf("peer read %d bytes, %v", len(b), err)
	}
}

func TestConnHalfOpen(t *testing.T) {
	cc, sc := conns(t)
	defer cc.Close()
	_ = sc.(*net.TCPConn).SetReadBuffer(4096)
	_ = cc.(*net.TCPConn).SetWriteBuffer(4096)
	rs := mustNew(t, Options{Seed: 1}, "half-open")
	w := rs.WrapConn(sc, Host)
	defer w.Close()
	// The peer writes until the buffers are full, then its write times out.
	_ = cc.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
	total := 0
	chunk := make([]byte, 64<<10)
	var err error
	for total < 64<<20 && err == nil {
		var n int
		n, err = cc.Write(chunk)
		total += n
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("peer wrote %d bytes: %v", total, err)
	}
	// Removing the rule: this side reads again.
	rs.Remove(1)
	readN(t, w, 1000)
}

func TestConnCloseUnblocks(t *testing.T) {
	cc, sc := conns(t)
	defer sc.Close()
	w := mustNew(t, Options{Seed: 1}, "latency:latency=1h", "half-open").WrapConn(cc, Terminal)
	werr, rerr := make(chan error, 1), make(chan error, 1)
	go func() { _, err := w.Write([]byte("x")); werr <- err }()
	go func() { _, err := w.Read(make([]byte, 1)); rerr <- err }()
	_, _ = sc.Write([]byte("data the half-open side will not read"))
	// Close with the write asleep and the read held.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write: %v", err)
	}
	if err := <-rerr; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read: %v", err)
	}
	_ = w.Close() // idempotent
}

func TestConnWriteDeadline(t *testing.T) {
	cc, sc := conns(t)
	defer sc.Close()
	w := mustNew(t, Options{Seed: 1}, "latency:latency=1h").WrapConn(cc, Terminal)
	defer w.Close()
	_ = w.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
	if _, err := w.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%v", err)
	}
}

func TestConnTimersStopOnClose(t *testing.T) {
	// goleak (TestMain) checks that no timer goroutine outlives this.
	cc, sc := conns(t)
	defer sc.Close()
	w := mustNew(t, Options{Seed: 1}, "reset:after=1h", "truncate:after=1h").WrapConn(cc, Terminal)
	_ = w.Close()
	fc := w.(*faultConn)
	for _, e := range *fc.effects.Load() {
		if e.timer.Stop() {
			t.Fatal("timer still running after Close")
		}
	}
}

func TestConnRuleAddedAtRunTime(t *testing.T) {
	cc, sc := conns(t)
	defer sc.Close()
	rs := mustNew(t, Options{Seed: 1})
	w := rs.WrapConn(cc, Terminal)
	defer w.Close()
	r, err := rs.AddSpec("close")
	if err != nil {
		t.Fatal(err)
	}
	// The open connection was closed (FIN) at once.
	_ = sc.SetReadDeadline(time.Now().Add(wait))
	if _, err := sc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("peer read: %v", err)
	}
	var ce *ConnError
	if _, err := w.Write([]byte("x")); !errors.As(err, &ce) || ce.Label != "close#1" {
		t.Fatalf("%v", err)
	}
	if r.ID != 1 || rs.Stats()[0].Fired != 1 {
		t.Fatalf("%+v %+v", r, rs.Stats())
	}
}

func TestConnProbabilityPerConnection(t *testing.T) {
	rs := mustNew(t, Options{Seed: 5}, "latency:latency=1ms,p=0.5,count=3")
	hit := 0
	for range 20 {
		cc, sc := conns(t)
		w := rs.WrapConn(cc, Terminal)
		if len(*w.(*faultConn).effects.Load()) > 0 {
			hit++
		}
		w.Close()
		sc.Close()
	}
	if hit != 3 {
		t.Fatalf("%d connections got the fault, want 3 (count)", hit)
	}
	if len(rs.liveConns()) != 0 {
		t.Fatal("closed connections still tracked")
	}
	// A host-side rule with stream=upstream does not touch a host's writes.
	cc, sc := conns(t)
	defer sc.Close()
	w := mustNew(t, Options{Seed: 1}, "blackhole:stream=upstream").WrapConn(cc, Host)
	defer w.Close()
	if len(*w.(*faultConn).effects.Load()) != 0 {
		t.Fatal("upstream rule attached to a host connection")
	}
}

func TestRefuse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := mustNew(t, Options{Seed: 1}, "refuse:count=1")
	wl := rs.WrapListener(ln)
	defer wl.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := wl.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	// The first connection is accepted and reset at once.
	// (The RST may even beat connect's completion.)
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err == nil {
		defer c1.Close()
		_ = c1.SetReadDeadline(time.Now().Add(wait))
		_, err = c1.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("first connection: %v", err)
	}
	// The second gets through (count=1).
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	defer s.Close()
	if s.RemoteAddr().String() != c2.LocalAddr().String() {
		t.Fatalf("accepted %v, want %v", s.RemoteAddr(), c2.LocalAddr())
	}
	f := rs.Fired()
	if len(f) != 1 || f[0].Type != "refuse" || !strings.Contains(f[0].Detail, "reset at accept") {
		t.Fatalf("%+v", f)
	}
}

func TestRefuseWindow(t *testing.T) {
	now := time.Unix(0, 0)
	rs := mustNew(t, Options{Seed: 1, Now: func() time.Time { return now }}, "refuse:after=10s,for=5s")
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{0, false}, {10 * time.Second, true}, {14 * time.Second, true}, {15 * time.Second, false}} {
		now = time.Unix(0, 0).Add(c.at)
		if got := rs.refuses() != nil; got != c.want {
			t.Errorf("at %v: refused %v", c.at, got)
		}
	}
}
