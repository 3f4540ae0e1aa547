package proxy_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/proxy"
	"github.com/possim/possim/terminal"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/possim/possim/internal/link.NewPool.func1"),
		goleak.IgnoreTopFunction("time.Sleep"))
}

var ascii, _ = iso.Lookup("iso87ascii")

// With no fault the proxy is byte-transparent in both directions, even for
// frames it cannot read.
func TestTransparentByteForByte(t *testing.T) {
	hostLn, _ := net.Listen("tcp", "127.0.0.1:0")
	defer hostLn.Close()
	p, err := proxy.Start(proxy.Config{Listen: "127.0.0.1:0", Upstream: hostLn.Addr().String(), Dialect: ascii})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	term, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	hc, err := hostLn.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
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
	h, err := host.New(host.Config{Listen: "127.0.0.1:0", Dialect: ascii})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
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
