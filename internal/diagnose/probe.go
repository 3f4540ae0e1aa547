package diagnose

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

// ProbeConfig says how to probe a live host (possim diagnose --target).
// The probe is read-only by default: it sends network management (echo
// tests, one sign-on) and a financial test only when Financial is set.
type ProbeConfig struct {
	Target string // host:port
	// Dialect is the configured dialect and framing, tried first; nil:
	// iso87ascii with its default framing.
	Dialect *iso.Dialect
	Match   link.Match
	// ConnectTimeout bounds each TCP connect; Timeout each answer.
	ConnectTimeout, Timeout time.Duration
	// AllFramings tries every framing even when the configured one works.
	AllFramings bool
	TID, MID    string
	// SignOn sends one sign-on (0800, 70 = 001) on the detected framing.
	SignOn bool
	// TMK, when set, checks the working keys of the sign-on answer by their
	// KCVs and the MAC of every answer.
	TMK    []byte
	MACAlg mac.Algorithm
	MACPad mac.Padding
	Echoes int // echo tests for the round-trip statistics
	// Financial sends one test purchase and its reversal.
	Financial bool
	// Idle keeps the link idle this long, then sends an echo (0: skip).
	Idle time.Duration
	// SlowRTT is the echo round trip above which the network is slow.
	SlowRTT time.Duration
	// Dial, when set, opens each connection instead of plain TCP: the
	// command sets it to a TLS dial (internal/tlsconf), whose handshake
	// errors carry their own Finding.
	Dial func(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error)
}

// findingError is an error that already knows its cause (a failed TLS
// handshake from internal/tlsconf).
type findingError interface{ TLSFinding() Finding }

func (c *ProbeConfig) defaults() {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 3 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Second
	}
	if c.TID == "" {
		c.TID = "PROBE001"
	}
	if c.MID == "" {
		c.MID = "POSSIMPROBE0001"
	}
	if c.Echoes <= 0 {
		c.Echoes = 5
	}
	if c.SlowRTT <= 0 {
		c.SlowRTT = SlowRTT
	}
	if c.Match == (link.Match{}) {
		c.Match = link.DefaultMatch
	}
	if c.MACAlg == "" {
		c.MACAlg = mac.Alg3
	}
	if c.MACPad == 0 && c.MACAlg != mac.CMAC {
		c.MACPad = mac.Pad1
	}
}

// Probe diagnoses a live host: TCP, framing and dialect, sign-on and keys,
// echo round trips, optionally a test purchase and an idle period. Every
// step is bounded by the config's timeouts, and ctx ends the run early.
func Probe(ctx context.Context, cfg ProbeConfig) *Report {
	cfg.defaults()
	if cfg.Dialect == nil {
		cfg.Dialect, _ = iso.Lookup("iso87ascii")
	}
	p := &prober{cfg: cfg, rep: &Report{Kind: "probe", Target: cfg.Target, Start: time.Now()}}
	p.run(ctx)
	p.rep.Took = time.Since(p.rep.Start)
	return p.rep
}

type prober struct {
	cfg  ProbeConfig
	rep  *Report
	stan int
}

func (p *prober) nextSTAN() string {
	p.stan++
	return fmt.Sprintf("%06d", (int(time.Now().Unix())%9000*100+p.stan)%1000000)
}

func (p *prober) add(c Check) { p.rep.Checks = append(p.rep.Checks, c) }

func (p *prober) skip(names ...string) {
	for _, n := range names {
		p.add(Check{Name: n, Status: StatusSkipped, Summary: "skipped: an earlier check failed"})
	}
}

func (p *prober) run(ctx context.Context) {
	rest := []string{"framing", "sign-on", "echo"}
	if p.cfg.Financial {
		rest = append(rest, "financial")
	}
	if p.cfg.Idle > 0 {
		rest = append(rest, "idle")
	}
	if !p.resolve(ctx) || !p.connect(ctx) {
		p.skip(rest...)
		return
	}
	d, ok := p.framing(ctx)
	if !ok {
		p.skip(rest[1:]...)
		return
	}
	p.session(ctx, d)
}

func (p *prober) resolve(ctx context.Context) bool {
	host, port, err := net.SplitHostPort(p.cfg.Target)
	if err != nil {
		p.add(Check{Name: "resolve", Status: StatusFail, Summary: err.Error(),
			Findings: []Finding{{Cause: HostNameUnresolved, Detail: fmt.Sprintf("target %q is not host:port: %v", p.cfg.Target, err), Fix: "give the target as host:port, e.g. 127.0.0.1:8583"}}})
		return false
	}
	if net.ParseIP(host) != nil {
		p.add(Check{Name: "resolve", Status: StatusOK, Summary: host + " is an IP address"})
		return true
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(rctx, host)
	took := time.Since(start)
	if err != nil {
		id, detail := ConnectCause(err)
		if id != HostNameUnresolved {
			id, detail = HostNameUnresolved, err.Error()
		}
		p.add(Check{Name: "resolve", Status: StatusFail, Took: took, Summary: "cannot resolve " + host, Findings: []Finding{{Cause: id, Detail: detail}}})
		return false
	}
	p.add(Check{Name: "resolve", Status: StatusOK, Took: took, Summary: fmt.Sprintf("%s → %v (port %s)", host, addrs, port)})
	return true
}

func (p *prober) dial(ctx context.Context) (net.Conn, time.Duration, error) {
	start := time.Now()
	if p.cfg.Dial != nil {
		nc, err := p.cfg.Dial(ctx, p.cfg.Target, p.cfg.ConnectTimeout)
		return nc, time.Since(start), err
	}
	dl := net.Dialer{Timeout: p.cfg.ConnectTimeout}
	nc, err := dl.DialContext(ctx, "tcp", p.cfg.Target)
	return nc, time.Since(start), err
}

func (p *prober) connect(ctx context.Context) bool {
	nc, took, err := p.dial(ctx)
	var fe findingError
	if errors.As(err, &fe) {
		p.add(Check{Name: "tls handshake", Status: StatusFail, Took: took, Summary: "TCP connected, the TLS handshake failed", Findings: []Finding{fe.TLSFinding()}})
		return false
	}
	if err != nil {
		id, detail := ConnectCause(err)
		summary := "cannot connect"
		if errors.Is(err, context.Canceled) {
			summary = "interrupted"
		}
		p.add(Check{Name: "tcp connect", Status: StatusFail, Took: took, Summary: summary, Findings: []Finding{{Cause: id, Detail: detail}}})
		return false
	}
	nc.Close()
	p.add(Check{Name: "tcp connect", Status: StatusOK, Took: took, Summary: "connected to " + nc.RemoteAddr().String()})
	return true
}
