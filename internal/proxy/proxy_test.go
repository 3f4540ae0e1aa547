package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/proxy"
	"github.com/possim/possim/internal/testkit/hostkit"
	"github.com/possim/possim/terminal"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/possim/possim/internal/link.NewPool.func1"),
		goleak.IgnoreTopFunction("time.Sleep"))
}

var ascii, _ = iso.Lookup("iso87ascii")

// proxied starts a proxy (cfg with its listen, upstream and dialect filled
// in) in front of a bare listener, connects a terminal through it and
// returns the terminal's connection and the host's end; all are closed
// when the test ends.
func proxied(t *testing.T, cfg proxy.Config) (term, hostConn net.Conn) {
	t.Helper()
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hostLn.Close() })
	cfg.Listen, cfg.Upstream, cfg.Dialect = "127.0.0.1:0", hostLn.Addr().String(), ascii
	p, err := proxy.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if term, err = net.Dial("tcp", p.Addr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	if hostConn, err = hostLn.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hostConn.Close() })
	return term, hostConn
}

// With no fault the proxy is byte-transparent in both directions, even for
// frames it cannot read.
func TestTransparentByteForByte(t *testing.T) {
	term, hc := proxied(t, proxy.Config{})
	m := ascii.NewMessage()
	m.MTI("0200")
	_ = iso.Set(m, 11, "000001")
	_ = iso.Set(m, 41, "T1")
	body, _ := m.Pack()
	up, _ := ascii.Framing.AppendFrame(nil, nil, body)
	up = append(up, 0, 0)                          // keepalive
	up = append(up, 0, 5, 'h', 'e', 'l', 'l', 'o') // unreadable
	down := []byte{0, 3, 'a', 'b', 'c'}
	check := func(w, r net.Conn, data []byte) {
		t.Helper()
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(data))
		_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("proxy changed the bytes:\n sent % X\n got  % X", data, got)
		}
	}
	check(term, hc, up)
	check(hc, term, down)
}

// Between an unmodified terminal and host, message faults apply per message.
func TestMessageFaultsThroughProxy(t *testing.T) {
	h := hostkit.Start(t, host.Config{Dialect: ascii})
	rs, err := fault.Parse([]string{"rc:mti=0210,nth=1,rc=91", "drop:mti=0210,nth=2"}, fault.Options{Seed: 1, Dialect: ascii})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []proxy.Line
	p, err := proxy.Start(proxy.Config{Listen: "127.0.0.1:0", Upstream: h.Addr().String(), Dialect: ascii, Faults: rs,
		OnLine: func(l proxy.Line) { mu.Lock(); lines = append(lines, l); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	term, err := terminal.New(terminal.Config{Target: p.Addr().String(), Dialect: ascii, Timeout: 300 * time.Millisecond, ReversalBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100}); o.Class != terminal.Declined || o.RC != "91" {
		t.Fatalf("first purchase: %s", o)
	}
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100}); o.Class != terminal.Reversed {
		t.Fatalf("second purchase: %s", o)
	}
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100}); o.Class != terminal.Approved {
		t.Fatalf("third purchase: %s", o)
	}
	mu.Lock()
	defer mu.Unlock()
	var fired, dropped int
	for _, l := range lines {
		if l.Fault != "" {
			fired++
		}
		if l.Dropped {
			dropped++
		}
	}
	if fired != 2 || dropped != 1 {
		t.Fatalf("transcript: %d fired, %d dropped: %+v", fired, dropped, lines)
	}
}

// An upstream that is the proxy's own address is refused at start, before
// any connection could loop back into the proxy.
func TestSelfUpstreamRefused(t *testing.T) {
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().(*net.TCPAddr)
	free.Close()
	port := strconv.Itoa(addr.Port)
	for _, c := range []struct{ listen, upstream string }{
		{"127.0.0.1:" + port, "127.0.0.1:" + port},
		{"127.0.0.1:" + port, "localhost:" + port},
		{":" + port, "127.0.0.1:" + port},
	} {
		p, err := proxy.Start(proxy.Config{Listen: c.listen, Upstream: c.upstream, Dialect: ascii})
		if err == nil {
			p.Close()
			t.Fatalf("listen %s upstream %s: started", c.listen, c.upstream)
		}
		if !errors.Is(err, proxy.ErrSelfUpstream) {
			if strings.Contains(err.Error(), "cannot listen") {
				t.Skipf("port taken meanwhile: %v", err)
			}
			t.Fatalf("listen %s upstream %s: %v, want ErrSelfUpstream", c.listen, c.upstream, err)
		}
	}
	// Another port on the same machine is a real upstream.
	p, err := proxy.Start(proxy.Config{Listen: "127.0.0.1:0", Upstream: "127.0.0.1:" + port, Dialect: ascii})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}

// A terminal that stops reading does not stall the proxy for ever: the
// link writer's deadline ends the connection, and the host sees it close.
func TestWriteDeadlineEndsStalledTerminal(t *testing.T) {
	_, hc := proxied(t, proxy.Config{WriteTimeout: 200 * time.Millisecond}) // the terminal never reads
	frame := append([]byte{0x10, 0x00}, bytes.Repeat([]byte{'x'}, 0x1000)...)
	done := make(chan error, 1)
	go func() {
		_ = hc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		for {
			if _, err := hc.Write(frame); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the proxy never gave up on the stalled terminal: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("host writes never failed")
	}
}

// A delayed answer goes out from the link's scheduler, after the frames
// that were not delayed, and a duplicated one arrives twice: the plan is
// carried out by the link's writer, not by a timer per frame.
func TestDelayAndDuplicateThroughLinkWriter(t *testing.T) {
	rs, err := fault.Parse([]string{"delay:mti=0210,p=1,delay=300ms", "duplicate:mti=0110,p=1"}, fault.Options{Seed: 1, Dialect: ascii})
	if err != nil {
		t.Fatal(err)
	}
	term, hc := proxied(t, proxy.Config{Faults: rs})
	frame := func(mti string) []byte {
		m := ascii.NewMessage()
		m.MTI(mti)
		_ = iso.Set(m, 11, "000001")
		_ = iso.Set(m, 41, "T1")
		body, _ := m.Pack()
		f, _ := ascii.Framing.AppendFrame(nil, nil, body)
		return f
	}
	f210, f110 := frame("0210"), frame("0110")
	start := time.Now()
	if _, err := hc.Write(append(append([]byte(nil), f210...), f110...)); err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte(nil), f110...), f110...), f210...)
	got := make([]byte, len(want))
	_ = term.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(term, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("want 0110 twice, then the delayed 0210:\n want % X\n got  % X", want, got)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("the delayed 0210 arrived after %v, before its 300ms", el)
	}
}
