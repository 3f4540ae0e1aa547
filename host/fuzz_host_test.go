package host

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// closeAfter stops the fuzz host after the tests, before the leak check.
type closeAfter struct{ m *testing.M }

func (c closeAfter) Run() int {
	code := c.m.Run()
	if fz.h != nil {
		fz.h.Close()
	}
	return code
}

// FuzzHostLink feeds arbitrary byte streams to a host link — framing,
// unpack, field checks, rules, ledger, answers — and holds the host to its
// promise: no panic, and every frame that carries a request (as an
// independent reading of the same bytes finds) is handed to the host and
// ends in exactly one answer or one recorded event.
//
//	go test -run '^$' -fuzz FuzzHostLink -fuzztime 10m ./host/
func FuzzHostLink(f *testing.F) {
	seed := func(mti, stan string, edit func(b []byte) []byte) {
		m := financial(f, mti, stan, "4761739001010010", "000000001000")
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		if edit != nil {
			b = edit(b)
		}
		f.Add(frame(b))
	}
	seed("0200", "000001", nil)
	seed("0100", "000002", nil)
	seed("0400", "000003", nil)
	seed("0800", "000004", nil)
	seed("0200", "000005", func(b []byte) []byte { return append(b, "JUNK"...) })
	seed("0200", "000006", func(b []byte) []byte { return b[:len(b)-3] })
	seed("9200", "000007", nil)
	seed("0900", "000008", nil)
	good, _ := financial(f, "0200", "000009", "4761739001010010", "1000").Pack()
	f.Add(append(append(frame(good), 0, 0), frame(good)...)) // two frames around a keepalive
	f.Add([]byte{0xFF, 0xFF, 'x'})
	f.Add([]byte("hello"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := fuzzHost(t)
		want := requestsIn(data, h.cfg.Dialect, h.cfg.MaxFrame)
		before := h.Outcomes()
		cli, srv := halfPipe()
		gone := make(chan struct{})
		fz.mu.Lock()
		fz.gone[srv] = gone
		fz.mu.Unlock()
		fz.ln.conns <- srv
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, cli); close(drained) }()
		_, _ = cli.Write(data) // the host may close first (framing lost)
		cli.CloseWrite()
		<-drained
		select {
		case <-gone:
		case <-time.After(10 * time.Second):
			t.Fatal("the link did not end 10 s after its peer stopped sending")
		}
		cli.Close()
		after := h.Outcomes()
		handled, answered, dropped := after.Handled-before.Handled, after.Answered-before.Answered, after.Dropped-before.Dropped
		if answered+dropped != handled {
			t.Fatalf("%d requests handled, %d answered + %d dropped", handled, answered, dropped)
		}
		if handled != uint64(want) {
			t.Fatalf("the stream holds %d requests, the host handled %d", want, handled)
		}
	})
}

// requestsIn counts the frames of data whose MTI is a request, read as the
// link reads them, up to the first framing error.
func requestsIn(data []byte, d *iso.Dialect, max int) int {
	fr := link.NewFrameReader(bytes.NewReader(data), d.Framing, max)
	n := 0
	for {
		p, _, err := fr.Next()
		if err != nil {
			return n
		}
		if p == nil {
			continue
		}
		_, body, err := d.Framing.Split(p)
		if err != nil {
			continue
		}
		m, _ := d.Unpack(body)
		if mti, _ := m.GetMTI(); iso.IsRequest(mti) {
			n++
		}
	}
}

var fz struct {
	once sync.Once
	h    *Host
	ln   *chanListener
	mu   sync.Mutex
	gone map[net.Conn]chan struct{}
}

// fuzzHost is one host per fuzzing process, fed connections in memory.
func fuzzHost(t *testing.T) *Host {
	fz.once.Do(func() {
		rules, err := ParseRules("fuzz", []byte("default: {rc: \"00\"}\n")) // no delayed answers
		if err != nil {
			t.Fatal(err)
		}
		fz.gone = map[net.Conn]chan struct{}{}
		fz.ln = &chanListener{conns: make(chan net.Conn), done: make(chan struct{})}
		h, err := New(Config{Dialect: ascii, Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		h.linkGone = func(l *link.Link) {
			fz.mu.Lock()
			ch := fz.gone[l.Conn()]
			delete(fz.gone, l.Conn())
			fz.mu.Unlock()
			if ch != nil {
				close(ch)
			}
		}
		if err := h.Serve(fz.ln); err != nil {
			t.Fatal(err)
		}
		fz.h = h
	})
	if fz.h == nil {
		t.Fatal("no fuzz host")
	}
	return fz.h
}

// chanListener accepts the connections sent on conns.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *chanListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "fuzz" }

// pipeConn is one end of an in-memory connection that, unlike net.Pipe,
// can be half-closed: the peer reads EOF and can still write its answers.
type pipeConn struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func halfPipe() (*pipeConn, *pipeConn) {
	ar, aw := io.Pipe()
	br, bw := io.Pipe()
	return &pipeConn{r: br, w: aw}, &pipeConn{r: ar, w: bw}
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *pipeConn) CloseWrite() error           { return c.w.Close() }
func (c *pipeConn) Close() error {
	c.r.Close()
	return c.w.Close()
}
func (c *pipeConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr { return pipeAddr{} }

// Deadlines are not needed: the fuzz peer always finishes.
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }
