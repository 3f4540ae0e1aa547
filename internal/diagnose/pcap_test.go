package diagnose_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/capture"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/proxy"
	"github.com/possim/possim/internal/testkit/hostkit"
	"github.com/possim/possim/internal/testkit/isokit"
)

var ascii, _ = iso.Lookup("iso87ascii")

// client is a bare terminal link: what the terminal engine sends, without
// the engine, so each scenario controls its timeouts exactly.
type client struct {
	t    *testing.T
	l    *link.Link
	stan int
	tid  string
}

func dialClient(t *testing.T, addr, tid string, wrap func(net.Conn) net.Conn) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		nc = wrap(nc)
	}
	c := &client{t: t, tid: tid, l: newLink(nc)}
	t.Cleanup(func() { c.l.Close() })
	return c
}

func newLink(nc net.Conn) *link.Link { return link.New(nc, link.Config{Dialect: ascii}).Start() }

func (c *client) msg(mti string, kv ...any) *iso8583.Message {
	c.stan++
	m := ascii.NewMessage()
	m.MTI(mti)
	_ = iso.Set(m, 7, time.Now().UTC().Format("0102150405"))
	_ = iso.Set(m, 11, fmt.Sprintf("%06d", c.stan))
	_ = iso.Set(m, 41, c.tid)
	for i := 0; i+1 < len(kv); i += 2 {
		_ = iso.Set(m, kv[i].(int), kv[i+1].(string))
	}
	return m
}

func (c *client) signOn() link.Result {
	return c.l.Call(c.msg("0800", 70, "001"), 2*time.Second)
}

// purchase sends a 0200; on timeout it sends the 0400 reversal, as a
// terminal does.
func (c *client) purchase(timeout time.Duration) (link.Result, *link.Result) {
	m := c.msg("0200", 2, "4761739001010010", 3, "000000", 4, "000000001000", 49, "978", 42, "MERCHANT0000001")
	r := c.l.Call(m, timeout)
	if r.Err == nil {
		return r, nil
	}
	rv := c.msg("0400", 2, "4761739001010010", 3, "000000", 4, "000000001000", 49, "978", 42, "MERCHANT0000001",
		90, "0200"+iso.Get(m, 11)+iso.Get(m, 7)+strings.Repeat("0", 22))
	rr := c.l.Call(rv, 2*time.Second)
	return r, &rr
}

// liveCapture runs tshark on lo for the given ports, writing a pcapng. It
// returns stop, which captures a marker connection on the last port (so
// everything before it is in the file), stops tshark and returns the file.
// Skips when tshark is missing or cannot capture.
func liveCapture(t *testing.T, ports []int) (stop func() string) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark; .ci/run installs it): live-capture diagnosis not checked")
	}
	marker, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := marker.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	mport := marker.Addr().(*net.TCPAddr).Port
	var filter []string
	for _, p := range append(ports, mport) {
		filter = append(filter, fmt.Sprintf("tcp port %d", p))
	}
	path := filepath.Join(t.TempDir(), "live.pcapng")
	cmd := exec.Command(tshark, "-i", "lo", "-f", strings.Join(filter, " or "), "-w", path, "-P", "-l")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start tshark: %v", err)
	}
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); marker.Close() })
	// waitMarker opens a connection to the marker port and waits until
	// tshark shows its FIN: every packet before it is then in the file.
	waitMarker := func() {
		deadline := time.After(20 * time.Second)
		for {
			c, err := net.Dial("tcp", marker.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprint(c.LocalAddr().(*net.TCPAddr).Port)
			c.Close()
			tick := time.After(500 * time.Millisecond)
		wait:
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Skip("tshark could not capture on lo (no permission?)")
					}
					if strings.Contains(l, want) && strings.Contains(l, "FIN") {
						return
					}
				case <-tick:
					break wait
				case <-deadline:
					t.Skip("tshark showed no packet within 20 s")
				}
			}
		}
	}
	waitMarker()
	return func() string {
		waitMarker()
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		return path
	}
}

func analyze(t *testing.T, path string, port int) *diagnose.Report {
	t.Helper()
	r, err := diagnose.AnalyzeCaptureFile(path, diagnose.CaptureConfig{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("port %d:\n%s", port, text(r))
	return r
}

func hasCause(r *diagnose.Report, id diagnose.ID) *diagnose.Finding {
	for _, f := range r.Findings() {
		if f.Cause == id {
			return &f
		}
	}
	return nil
}

func mustCause(t *testing.T, r *diagnose.Report, id diagnose.ID, not ...diagnose.ID) {
	t.Helper()
	if hasCause(r, id) == nil {
		t.Errorf("no finding %s in %v", id, causes(r))
	}
	for _, n := range not {
		if hasCause(r, n) != nil {
			t.Errorf("finding %s should not be there: %v", n, causes(r))
		}
	}
}

func causes(r *diagnose.Report) []diagnose.ID {
	var out []diagnose.ID
	for _, f := range r.Findings() {
		out = append(out, f.Cause)
	}
	return out
}

func listenHost(t *testing.T, cfg host.Config) (*host.Host, int) {
	t.Helper()
	h := hostkit.Start(t, cfg)
	return h, h.Addr().(*net.TCPAddr).Port
}

func startProxy(t *testing.T, upstream string, specs ...string) (*proxy.Proxy, int) {
	t.Helper()
	p, err := proxy.Start(proxy.Config{Listen: "127.0.0.1:0", Upstream: upstream, Dialect: ascii, Faults: hostkit.Faults(t, ascii, specs...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, p.Addr().(*net.TCPAddr).Port
}

// Real loopback traffic captured by tshark, one scenario per host port,
// each diagnosed from the one capture file.
func TestDiagnoseLiveCaptures(t *testing.T) {
	// Lost request / lost response: a proxy between terminal and host drops
	// the 0200 (it never reaches the host) or the 0210 (the host answered).
	hA, hostA := listenHost(t, host.Config{Dialect: ascii})
	_, proxyA := startProxy(t, hA.Addr().String(), "drop:mti=0200,stream=upstream")
	hB, hostB := listenHost(t, host.Config{Dialect: ascii})
	_, proxyB := startProxy(t, hB.Addr().String(), "drop:mti=0210,stream=downstream")
	// Late answer: the 0210 comes after the terminal's reversal.
	_, late := listenHost(t, host.Config{Dialect: ascii, Faults: hostkit.Faults(t, ascii, "delay:mti=0210,delay=600ms")})
	// Duplicate answer.
	_, dup := listenHost(t, host.Config{Dialect: ascii, Faults: hostkit.Faults(t, ascii, "duplicate:mti=0210")})
	// Reset with the purchase in flight (the host's second write resets).
	_, reset := listenHost(t, host.Config{Dialect: ascii, Faults: hostkit.Faults(t, ascii, "reset:after=1")})
	// Framing mismatch: a terminal sending 4 ASCII digits to a binary2 host.
	_, framing := listenHost(t, host.Config{Dialect: ascii})

	// Zero window: a host that accepts and never reads, with a small
	// receive buffer, and a terminal that keeps writing.
	zw := stuckListener(t)
	zero := zw.Addr().(*net.TCPAddr).Port

	stop := liveCapture(t, []int{hostA, proxyA, hostB, proxyB, late, dup, reset, framing, zero})

	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	c := dialClient(t, addr(proxyA), "TERMLOSQ", nil)
	c.signOn()
	if r, rv := c.purchase(300 * time.Millisecond); r.Err == nil || rv == nil || rv.Err != nil {
		t.Fatalf("lost request: %v %v", r.Err, rv)
	}
	c = dialClient(t, addr(proxyB), "TERMLOSR", nil)
	c.signOn()
	if r, _ := c.purchase(300 * time.Millisecond); r.Err == nil {
		t.Fatal("lost response: answered")
	}
	c = dialClient(t, addr(late), "TERMLATE", nil)
	c.signOn()
	if r, _ := c.purchase(200 * time.Millisecond); r.Err == nil {
		t.Fatal("late: answered in time")
	}
	// Wait for the late answer to be on the wire: the link reports it.
	waitLate(t, c)
	c = dialClient(t, addr(dup), "TERMDUPL", nil)
	c.signOn()
	c.purchase(time.Second)
	waitEvent(t, c, func(s link.Stats) uint64 { return s.Duplicates }) // a second answer to an answered request
	c = dialClient(t, addr(reset), "TERMRSET", nil)
	c.signOn()
	if r, _ := c.purchase(time.Second); r.Err == nil {
		t.Fatal("reset: answered")
	}
	func() {
		nc, err := net.Dial("tcp", addr(framing))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		body, _ := echo(t, "TERMFRAM").Pack()
		fr := iso.Framing{Length: iso.ASCII4}
		frame, _ := fr.AppendFrame(nil, nil, body)
		_, _ = nc.Write(frame)
		_ = nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = nc.Read(make([]byte, 10)) // the host closes
	}()
	fillUntilBlocked(t, zw.Addr().String())
	path := stop()

	t.Run("lost request", func(t *testing.T) {
		mustCause(t, analyze(t, path, proxyA), diagnose.RequestNeverArrived, diagnose.ResponseLostOnPath)
	})
	t.Run("lost response", func(t *testing.T) {
		mustCause(t, analyze(t, path, proxyB), diagnose.ResponseLostOnPath, diagnose.RequestNeverArrived)
	})
	t.Run("late answer", func(t *testing.T) {
		mustCause(t, analyze(t, path, late), diagnose.ResponseAfterReversal)
	})
	t.Run("duplicate", func(t *testing.T) {
		mustCause(t, analyze(t, path, dup), diagnose.ResponseDuplicate)
	})
	t.Run("reset", func(t *testing.T) {
		mustCause(t, analyze(t, path, reset), diagnose.LinkReset)
	})
	t.Run("framing mismatch", func(t *testing.T) {
		mustCause(t, analyze(t, path, framing), diagnose.FramingLengthHeader)
	})
	t.Run("zero window", func(t *testing.T) {
		mustCause(t, analyze(t, path, zero), diagnose.NetworkZeroWindow)
	})
	t.Run("host-side lost request is acknowledged", func(t *testing.T) {
		// On the proxy-host stream of the lost-request scenario, the host
		// answered everything it got.
		r := analyze(t, path, hostA)
		if hasCause(r, diagnose.ResponseNeverSent) != nil {
			t.Errorf("the host side shows an unanswered request: %v", causes(r))
		}
	})
}

func waitLate(t *testing.T, c *client) {
	t.Helper()
	waitEvent(t, c, func(s link.Stats) uint64 { return s.Late })
}

// waitEvent polls a link counter: the link counts a late or unmatched
// answer when it reads it, which is the event these scenarios wait for.
func waitEvent(t *testing.T, c *client, f func(link.Stats) uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f(c.l.Stats()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the link never saw the answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Captures possim wrote itself (internal/capture on the terminal's
// connection): the same diagnosis, with TCP acknowledgements taken from
// the kernel.
func TestDiagnoseOwnCaptures(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name   string
		faults []string
		want   diagnose.ID
		run    func(c *client)
	}{
		{"host never answers", []string{"drop:mti=0210"}, diagnose.ResponseNeverSent, func(c *client) { c.purchase(200 * time.Millisecond) }},
		{"late answer", []string{"delay:mti=0210,delay=400ms"}, diagnose.ResponseAfterReversal, func(c *client) {
			c.purchase(150 * time.Millisecond)
			waitLate(t, c)
		}},
		{"duplicate", []string{"duplicate:mti=0210"}, diagnose.ResponseDuplicate, func(c *client) {
			c.purchase(time.Second)
			waitEvent(t, c, func(s link.Stats) uint64 { return s.Duplicates }) // a second answer to an answered request
		}},
		{"reset", []string{"reset:after=1"}, diagnose.LinkReset, func(c *client) { c.purchase(time.Second) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := listenHost(t, host.Config{Dialect: ascii, Faults: hostkit.Faults(t, ascii, tc.faults...)})
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".pcap")
			w, err := capture.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			c := dialClient(t, h.Addr().String(), "TERMOWN1", func(nc net.Conn) net.Conn { return w.Wrap(nc, true) })
			c.signOn()
			tc.run(c)
			c.l.Close()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r := analyze(t, path, h.Addr().(*net.TCPAddr).Port)
			mustCause(t, r, tc.want)
			if tc.want == diagnose.ResponseNeverSent {
				if f := hasCause(r, tc.want); f == nil || !strings.Contains(f.Explanation(), "TCP acknowledged") {
					t.Errorf("finding does not say TCP acknowledged the request: %+v", f)
				}
			}
		})
	}
}

// A capture that is not one: a clear error, not a panic.
func TestDiagnoseCaptureBadInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcap")
	_ = os.WriteFile(path, []byte("this is not a capture"), 0o600)
	if _, err := diagnose.AnalyzeCaptureFile(path, diagnose.CaptureConfig{}); err == nil || !strings.Contains(err.Error(), "pcap") {
		t.Fatalf("err = %v", err)
	}
	if _, err := diagnose.AnalyzeCaptureFile(filepath.Join(t.TempDir(), "missing"), diagnose.CaptureConfig{}); err == nil {
		t.Fatal("missing file accepted")
	}
	_ = context.Background
}

// stuckListener accepts connections and never reads them; its sockets have
// a small receive buffer, so a writer soon meets a zero window.
func stuckListener(t *testing.T) net.Listener {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln
}

// fillUntilBlocked writes echo frames to addr until a write blocks for
// 300 ms (the peer's window is closed).
func fillUntilBlocked(t *testing.T, addr string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	body, _ := echo(t, "TERMZWIN").Pack()
	frame, _ := ascii.Framing.AppendFrame(nil, nil, body)
	var buf []byte
	for range 64 {
		buf = append(buf, frame...)
	}
	for i := 0; i < 10000; i++ {
		_ = nc.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := nc.Write(buf); err != nil {
			return
		}
	}
	t.Fatal("the stuck peer never closed its window")
}

// echo is an echo test (0800, 70 = 301) from tid, STAN 000001.
func echo(t *testing.T, tid string) *iso8583.Message {
	return isokit.Message(t, ascii, map[int]string{0: "0800", 11: "000001", 41: tid, 70: "301"})
}
