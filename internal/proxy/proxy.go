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
	// WriteTimeout bounds each write to either side (the link writer's
	// deadline); default 10 s. A peer that stops reading ends its link
	// instead of stalling the proxy.
	WriteTimeout time.Duration
	// Observer, when set, gets the link events of each leg (conn is that
	// leg's local→remote address): received, sent, fault, bad-message,
	// down — what capture.Trace writes as JSON lines. Must not block.
	Observer func(conn string, e link.Event)
	OnLine   func(Line) // transcript; must not block for long
	// WrapConn, when set, wraps each connection under the faults (a pcap
	// capture): toHost says whether it is the proxy's connection to the
	// host (the proxy dialled it) or a terminal's.
	WrapConn func(c net.Conn, toHost bool) net.Conn
	Logger   *slog.Logger
	// TLS serves terminals over TLS; UpstreamTLS dials the host over TLS
	// (internal/tlsconf builds both); nil: plain TCP on that leg.
	TLS, UpstreamTLS *tls.Config
}

// ErrSelfUpstream: the upstream is the proxy's own listening address; every
// connection would dial the proxy again (one such run opened 10 481
// connections in 1.5 s).
var ErrSelfUpstream = errors.New("the upstream is the proxy's own listening address")

// checkNotSelf refuses an upstream that resolves to the listener: the same
// port on the listener's IP, or on any local address when it listens on
// all of them. An upstream that does not resolve yet is not refused (the
// host may come up later; each connection then reports it).
func checkNotSelf(lnAddr net.Addr, upstream string) error {
	la, ok := lnAddr.(*net.TCPAddr)
	if !ok {
		return nil
	}
	h, port, err := net.SplitHostPort(upstream)
	if err != nil {
		return fmt.Errorf("proxy: upstream %q is not host:port: %w", upstream, err)
	}
	if pn, err := net.LookupPort("tcp", port); err != nil || pn != la.Port {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, h)
	if h == "" {
		ips, err = []net.IPAddr{{IP: net.IPv4zero}}, nil
	}
	if err != nil {
		return nil
	}
	local := map[string]bool{}
	if la.IP.IsUnspecified() {
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if in, ok := a.(*net.IPNet); ok {
				local[in.IP.String()] = true
			}
		}
	}
	for _, ip := range ips {
		if ip.IP.Equal(la.IP) || ip.IP.IsUnspecified() || local[ip.IP.String()] || (la.IP.IsUnspecified() && ip.IP.IsLoopback()) {
			return fmt.Errorf("%w: --upstream %s resolves to %s, where the proxy listens (%s); point --upstream at the real host", ErrSelfUpstream, upstream, ip.IP, la)
		}
	}
	return nil
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
	if err := checkNotSelf(ln.Addr(), cfg.Upstream); err != nil {
		ln.Close()
		return nil, err
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

// accept serves terminals. An accept error other than a closed listener
// (out of file descriptors; a TLS handshake fails later, on the connection,
// not here) backs off exponentially, 5 ms doubling to 1 s, reset by the
// next success: a fixed short retry spins on a machine out of descriptors.
func (p *Proxy) accept() {
	defer p.wg.Done()
	backoff := time.Duration(0)
	for {
		down, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = nextBackoff(backoff)
			p.cfg.Logger.Warn("proxy accept", "err", err, "retry in", backoff)
			select {
			case <-time.After(backoff):
			case <-p.done:
				return
			}
			continue
		}
		backoff = 0
		p.mu.Lock()
		p.seq++
		n := p.seq
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(n, down)
	}
}

// nextBackoff is the wait after an accept error that followed a wait of d
// (0: the first error since a success).
func nextBackoff(d time.Duration) time.Duration {
	const minBackoff, maxBackoff = 5 * time.Millisecond, time.Second
	return min(max(2*d, minBackoff), maxBackoff)
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
	wcfg := link.Config{Dialect: p.cfg.Dialect, WriteTimeout: p.cfg.WriteTimeout}
	toHost, toTerm := link.NewWriter(up, wcfg), link.NewWriter(down, wcfg)
	go func() { defer wg.Done(); p.pump(n, Upstream, down, toHost, fault.ProxyUpstream, macs) }()
	go func() { defer wg.Done(); p.pump(n, Downstream, up, toTerm, fault.ProxyDownstream, macs) }()
	wg.Wait()
	// Both pumps aborted their writers; Close waits for the writers' and
	// schedulers' goroutines.
	toHost.Close()
	toTerm.Close()
}

func (p *Proxy) line(l Line) {
	if p.cfg.OnLine != nil {
		p.cfg.OnLine(l)
	}
}

// pump reads frames from src and forwards them to dst through w, a link
// writer on dst (coalescing, write deadline, scheduler for delays): the
// proxy is not a second transport. The fault plan comes from the same
// applier (fault.RuleSet.Interceptor) the host and terminal use.
func (p *Proxy) pump(n int, dir Direction, src net.Conn, w *link.Link, side fault.Side, macs *sentMACs) {
	defer src.Close()
	// The frames already queued still go out (a response that arrived just
	// before the host hung up); then the other side closes too.
	defer w.AbortAfterWrite(link.ErrClosedLocally)
	fr := p.cfg.Dialect.Framing
	r := link.NewFrameReader(src, fr, p.cfg.MaxFrame)
	var icpt link.Interceptor
	if p.cfg.Faults != nil {
		icpt = p.cfg.Faults.Interceptor(side)
	}
	inConn, outConn := connName(src), connName(w.Conn())
	frames := 0
	for {
		payload, _, err := r.Next()
		if err != nil {
			var fe *link.FrameError
			if errors.As(err, &fe) {
				f := diagnose.FrameFinding(append([]byte(nil), r.Header()...), frames, fr, fe.Reason)
				p.line(Line{Time: time.Now(), Conn: n, Dir: dir, Summary: fe.Error(), Finding: &f})
				p.event(inConn, link.Event{Kind: link.EvBadMessage, Time: time.Now(), Detail: fe.Error()})
			}
			p.event(inConn, link.Event{Kind: link.EvDown, Time: time.Now(), Detail: err.Error()})
			return
		}
		frames++
		if payload == nil { // keepalive: forward as is
			if w.Forward(r.Header(), link.Plan{}) != nil {
				return
			}
			continue
		}
		if p.forward(n, dir, r, payload, w, icpt, macs, inConn, outConn) != nil {
			return
		}
	}
}

// forward reads one frame's message, applies the fault plan and hands the
// frame to the writer.
func (p *Proxy) forward(n int, dir Direction, r *link.FrameReader, payload []byte, w *link.Link, icpt link.Interceptor, macs *sentMACs, inConn, outConn string) error {
	fr := p.cfg.Dialect.Framing
	raw := make([]byte, 0, len(r.Header())+len(payload))
	raw = append(append(raw, r.Header()...), payload...)
	prefix, body, _ := fr.Split(payload)
	msg, derr := p.cfg.Dialect.Unpack(body)
	now := time.Now()
	ln := Line{Time: now, Conn: n, Dir: dir, Summary: iso.Summary(msg)}
	if derr != nil {
		ln.Summary += " (unreadable: " + derr.Error() + ")"
		ln.Finding = &diagnose.Finding{Cause: diagnose.FramingUnreadable, Detail: "the proxy cannot unpack it: " + derr.Error()}
		p.event(inConn, link.Event{Kind: link.EvBadMessage, Time: now, Detail: derr.Error()})
	} else {
		ln.Msg = msg
		ln.Finding = macs.observe(p.cfg.Dialect, msg)
		p.event(inConn, link.Event{Kind: link.EvReceived, Time: now, Msg: msg})
	}
	var plan link.Plan
	if icpt != nil && derr == nil {
		plan = icpt.Outbound(msg)
	}
	ln.Fault = strings.Join(plan.Fired, ", ")
	out := msg
	frame := raw
	if plan.Msg != nil {
		var err error
		if frame, err = p.reencode(prefix, plan.Msg); err != nil {
			ln.Summary += " (fault could not re-encode: " + err.Error() + ")"
			frame = raw
		} else {
			out = plan.Msg
		}
		plan.Msg = nil // encoded into frame
	}
	ln.Dropped = plan.Drop
	p.line(ln)
	if ln.Fault != "" {
		p.event(outConn, link.Event{Kind: link.EvFault, Time: now, Msg: out, Detail: ln.Fault})
	}
	if !plan.Drop && derr == nil {
		p.event(outConn, link.Event{Kind: link.EvSent, Time: now, Msg: out})
	}
	return w.Forward(frame, plan)
}

func (p *Proxy) event(conn string, e link.Event) {
	if p.cfg.Observer != nil {
		p.cfg.Observer(conn, e)
	}
}

// connName is a connection's local→remote address, the trace's conn.
func connName(c net.Conn) string {
	return c.LocalAddr().String() + "→" + c.RemoteAddr().String()
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
