// Package proxy is an ISO-8583-aware TCP proxy between a real terminal and
// a real host. With no fault it forwards every frame byte for byte; with
// faults it decides them per message, in either direction, and reports a
// transcript line per message (time, direction, MTI, STAN, RC, fault).
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/tlsconf"
)

// Direction of a message through the proxy.
type Direction string

const (
	Upstream   Direction = "terminal → host"
	Downstream Direction = "host → terminal"
)

// Line is one transcript entry.
type Line struct {
	Time    time.Time
	Conn    int // connection number
	Dir     Direction
	Summary string // masked one-line summary, or why it could not be read
	Fault   string // faults that fired on it
	Dropped bool
	// Msg is the message as read (nil when it could not be read), for
	// viewers that show its fields (the studio); do not modify it.
	Msg *iso8583.Message
	// Finding names the cause when the line shows a failure (a frame that
	// does not parse, an unreadable message, a declining answer, the host
	// unreachable), from the one catalogue (internal/diagnose); nil
	// otherwise.
	Finding *diagnose.Finding
}

// Config of a proxy.
type Config struct {
	Listen, Upstream string
	Dialect          *iso.Dialect
	Faults           *fault.RuleSet // nil: transparent
	MaxFrame         int            // default 8192
	DialTimeout      time.Duration  // default 5 s
	OnLine           func(Line)     // transcript; must not block for long
	// WrapConn, when set, wraps each connection under the faults (a pcap
	// capture): toHost says whether it is the proxy's connection to the
	// host (the proxy dialled it) or a terminal's.
	WrapConn func(c net.Conn, toHost bool) net.Conn
	Logger   *slog.Logger
	// TLS serves terminals over TLS; UpstreamTLS dials the host over TLS
	// (internal/tlsconf builds both); nil: plain TCP on that leg.
	TLS, UpstreamTLS *tls.Config
}

// Proxy forwards terminal connections to the upstream host.
type Proxy struct {
	cfg  Config
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn map[net.Conn]struct{}
	seq  int
	done chan struct{}
}

// Start listens and serves in the background.
func Start(cfg Config) (*Proxy, error) {
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = 8192
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("proxy: cannot listen on %s: %w", cfg.Listen, err)
	}
	if cfg.Faults != nil {
		ln = cfg.Faults.WrapListener(ln)
	}
	ln = tlsconf.Listen(ln, cfg.TLS)
	p := &Proxy{cfg: cfg, ln: ln, conn: map[net.Conn]struct{}{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the listening address.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Close stops accepting, closes every connection and waits.
func (p *Proxy) Close() error {
	close(p.done)
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conn {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

func (p *Proxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		if on {
			return false
		}
	default:
	}
	if on {
		p.conn[c] = struct{}{}
	} else {
		delete(p.conn, c)
	}
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		p.seq++
		n := p.seq
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(n, down)
	}
}

// serve pairs a terminal connection with a new upstream connection. When
// either side ends, both are closed: the proxy never keeps half a link.
func (p *Proxy) serve(n int, down net.Conn) {
	defer p.wg.Done()
	up, err := tlsconf.Dial(context.Background(), p.cfg.Upstream, p.cfg.UpstreamTLS, p.cfg.DialTimeout)
	if err != nil {
		id, detail := diagnose.ConnectCause(err)
		p.line(Line{Time: time.Now(), Conn: n, Dir: Upstream, Summary: "cannot reach the host: " + err.Error(),
			Finding: &diagnose.Finding{Cause: id, Detail: "the proxy cannot reach the host: " + detail}})
		down.Close()
		return
	}
	if p.cfg.WrapConn != nil {
		down, up = p.cfg.WrapConn(down, false), p.cfg.WrapConn(up, true)
	}
	if p.cfg.Faults != nil {
		down = p.cfg.Faults.WrapConn(down, fault.ProxyDownstream)
		up = p.cfg.Faults.WrapConn(up, fault.ProxyUpstream)
	}
	if !p.track(down, true) || !p.track(up, true) {
		down.Close()
		up.Close()
		return
	}
	defer p.track(down, false)
	defer p.track(up, false)
	p.cfg.Logger.Info("proxy link", "conn", n, "terminal", down.RemoteAddr().String(), "host", up.RemoteAddr().String())
	var wg sync.WaitGroup
	wg.Add(2)
	macs := &sentMACs{m: map[string]bool{}}
	go func() { defer wg.Done(); p.pump(n, Upstream, down, up, fault.ProxyUpstream, macs) }()
	go func() { defer wg.Done(); p.pump(n, Downstream, up, down, fault.ProxyDownstream, macs) }()
	wg.Wait()
}

func (p *Proxy) line(l Line) {
	if p.cfg.OnLine != nil {
		p.cfg.OnLine(l)
	}
}

// writer serialises writes to one side (delayed frames write from timers).
type writer struct {
	mu   sync.Mutex
	c    net.Conn
	held []byte
}

func (w *writer) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.c.Write(b); err != nil {
		return err
	}
	if h := w.held; h != nil {
		w.held = nil
		_, err := w.c.Write(h)
		return err
	}
	return nil
}

// pump reads frames from src and forwards them to dst.
func (p *Proxy) pump(n int, dir Direction, src, dst net.Conn, side fault.Side, macs *sentMACs) {
	defer src.Close()
	defer dst.Close()
	fr := p.cfg.Dialect.Framing
	r := link.NewFrameReader(src, fr, p.cfg.MaxFrame)
	w := &writer{c: dst}
	var icpt link.Interceptor
	if p.cfg.Faults != nil {
		icpt = p.cfg.Faults.Interceptor(side)
	}
	frames := 0
	for {
		payload, _, err := r.Next()
		if err != nil {
			var fe *link.FrameError
			if errors.As(err, &fe) {
				f := diagnose.FrameFinding(append([]byte(nil), r.Header()...), frames, fr, fe.Reason)
				p.line(Line{Time: time.Now(), Conn: n, Dir: dir, Summary: fe.Error(), Finding: &f})
			}
			return
		}
		frames++
		if payload == nil { // keepalive: forward as is
			if w.write(append([]byte(nil), r.Header()...)) != nil {
				return
			}
			continue
		}
		raw := make([]byte, 0, len(r.Header())+len(payload))
		raw = append(append(raw, r.Header()...), payload...)
		prefix, body, _ := fr.Split(payload)
		msg, derr := p.cfg.Dialect.Unpack(body)
		ln := Line{Time: time.Now(), Conn: n, Dir: dir, Summary: iso.Summary(msg)}
		if derr != nil {
			ln.Summary += " (unreadable: " + derr.Error() + ")"
			ln.Finding = &diagnose.Finding{Cause: diagnose.FramingUnreadable, Detail: "the proxy cannot unpack it: " + derr.Error()}
		} else {
			ln.Msg = msg
			ln.Finding = macs.observe(p.cfg.Dialect, msg)
		}
		var plan link.Plan
		if icpt != nil && derr == nil {
			plan = icpt.Outbound(msg)
		}
		ln.Fault = strings.Join(plan.Fired, ", ")
		frame := raw
		if plan.Msg != nil {
			if frame, err = p.reencode(prefix, plan.Msg); err != nil {
				ln.Summary += " (fault could not re-encode: " + err.Error() + ")"
				frame = raw
			}
		}
		if plan.Frame != nil {
			frame = plan.Frame(frame)
		}
		ln.Dropped = plan.Drop
		p.line(ln)
		if plan.Drop {
			continue
		}
		frames := [][]byte{frame}
		for range plan.Copies {
			frames = append(frames, frame)
		}
		switch {
		case plan.Hold:
			w.mu.Lock()
			prev := w.held
			w.held = frame
			w.mu.Unlock()
			if prev != nil && w.write(prev) != nil {
				return
			}
		case plan.Delay > 0:
			time.AfterFunc(plan.Delay, func() {
				for _, f := range frames {
					if w.write(f) != nil {
						return
					}
				}
			})
		default:
			for _, f := range frames {
				if w.write(f) != nil {
					return
				}
			}
		}
	}
}

func (p *Proxy) reencode(prefix []byte, m *iso8583.Message) ([]byte, error) {
	b, err := m.Pack()
	if err != nil {
		return nil, err
	}
	return p.cfg.Dialect.Framing.AppendFrame(nil, prefix, b)
}

// sentMACs remembers, per connection, whether each request in flight
// carried a MAC, so that a declining answer names its cause the way the
// terminal would (RC 63 to a request without a MAC is the terminal's
// missing key, not a wrong one). Bounded: forgotten when answered, and
// cleared when it grows past 4096 (a link that never answers).
type sentMACs struct {
	mu sync.Mutex
	m  map[string]bool
}

// observe records a request, or names the cause of a declining answer.
func (s *sentMACs) observe(d *iso.Dialect, m *iso8583.Message) *diagnose.Finding {
	mti, _ := m.GetMTI()
	key := strings.TrimRight(iso.Get(m, 41), " ") + "|" + iso.Get(m, 11)
	s.mu.Lock()
	defer s.mu.Unlock()
	if iso.IsRequest(mti) {
		if len(s.m) > 4096 {
			clear(s.m)
		}
		s.m[key] = iso.Has(m, 64) || iso.Has(m, 128)
		return nil
	}
	sent, known := s.m[key]
	delete(s.m, key)
	rc := d.RC(m)
	if rc == "" || iso.IsApproval(rc) {
		return nil
	}
	f, bad := diagnose.Diagnose(diagnose.Observation{MTI: iso.Pair(mti), Outcome: diagnose.Answered, RC: rc, SentMAC: sent || !known})
	if !bad {
		return nil
	}
	return &f
}
