package main

import (
	"fmt"
	"io"
	"net"

	"github.com/possim/possim/internal/capture"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/terminal"
	"github.com/spf13/pflag"
)

// captureFlags are --pcap and --trace, shared by every command that runs
// links: what this side sent and received as a pcap (synthesised TCP
// packets Wireshark follows as streams), and the link events as JSON lines.
type captureFlags struct {
	pcapPath, tracePath string
	pcap                *capture.Writer
	trace               *capture.Trace
}

func (c *captureFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&c.pcapPath, "pcap", "", "write what this side sent and received to FILE as a pcap (Wireshark, possim diagnose --pcap); it holds the bytes as sent, PANs included: test data only")
	fs.StringVar(&c.tracePath, "trace", "", "write the link events to FILE as JSON lines (PANs masked; possim diagnose --trace reads it)")
}

// open creates the files asked for.
func (c *captureFlags) open() error {
	var err error
	if c.pcapPath != "" {
		if c.pcap, err = capture.Create(c.pcapPath); err != nil {
			return fmt.Errorf("--pcap: %w", err)
		}
	}
	if c.tracePath != "" {
		if c.trace, err = capture.CreateTrace(c.tracePath); err != nil {
			c.close(io.Discard)
			return fmt.Errorf("--trace: %w", err)
		}
	}
	return nil
}

// close finishes the files and says where they are.
func (c *captureFlags) close(w io.Writer) {
	if c.pcap != nil {
		if err := c.pcap.Close(); err != nil {
			fmt.Fprintf(w, "--pcap %s: %v\n", c.pcapPath, err)
		}
	}
	if c.trace != nil {
		if err := c.trace.Close(); err != nil {
			fmt.Fprintf(w, "--trace %s: %v\n", c.tracePath, err)
		}
	}
}

// wrap records a connection (client: this side connected) under next,
// which is the fault layer or nil: the capture sits on the socket, so it
// shows the bytes after the faults did their work, as the peer sees them.
func (c *captureFlags) wrap(client bool, next func(net.Conn) net.Conn) func(net.Conn) net.Conn {
	if c.pcap == nil {
		return next
	}
	return func(nc net.Conn) net.Conn {
		nc = c.pcap.Wrap(nc, client)
		if next != nil {
			nc = next(nc)
		}
		return nc
	}
}

// observe adds the trace to an observer (side names who writes the trace).
func (c *captureFlags) observe(side, conn string, next func(link.Event)) func(link.Event) {
	if c.trace == nil {
		return next
	}
	tr := c.trace.Observer(side, conn)
	if next == nil {
		return tr
	}
	return func(e link.Event) { tr(e); next(e) }
}

// observeHost is observe for the host's per-link observer.
func (c *captureFlags) observeHost(next func(*link.Link, link.Event)) func(*link.Link, link.Event) {
	if c.trace == nil {
		return next
	}
	return func(l *link.Link, e link.Event) {
		conn := ""
		if l != nil {
			conn = l.Conn().LocalAddr().String() + "→" + l.Conn().RemoteAddr().String()
		}
		c.trace.Write("host", conn, e)
		if next != nil {
			next(l, e)
		}
	}
}

// faultWrap is the link-fault layer of a side, nil without faults (what the
// host and terminal install themselves when WrapConn is not set).
func faultWrap(rs *fault.RuleSet, side fault.Side) func(net.Conn) net.Conn {
	if rs == nil {
		return nil
	}
	return func(c net.Conn) net.Conn { return rs.WrapConn(c, side) }
}

// hostWrap is the host's WrapConn with the capture under its link faults;
// nil without --pcap (the host then installs its faults itself).
func (c *captureFlags) hostWrap(rs *fault.RuleSet) func(net.Conn) net.Conn {
	if c.pcap == nil {
		return nil
	}
	return c.wrap(false, faultWrap(rs, fault.Host))
}

// terminalWrap is the same for a terminal or fleet (the side that dials).
func (c *captureFlags) terminalWrap(rs *fault.RuleSet) func(net.Conn) net.Conn {
	if c.pcap == nil {
		return nil
	}
	return c.wrap(true, faultWrap(rs, fault.Terminal))
}

// modifyTerminal records a scenario's terminal (scenarios.Options).
func (c *captureFlags) modifyTerminal(id string, tc *terminal.Config) {
	if w := c.terminalWrap(tc.Faults); w != nil {
		tc.WrapConn = w
	}
	tc.Observer = c.observe("terminal", id, tc.Observer)
}

// proxyWrap records both legs of every proxied connection; nil without
// --pcap.
func (c *captureFlags) proxyWrap() func(net.Conn, bool) net.Conn {
	if c.pcap == nil {
		return nil
	}
	return func(nc net.Conn, toHost bool) net.Conn { return c.pcap.Wrap(nc, toHost) }
}

// observeProxy writes the proxy's link events (both legs) to the trace;
// nil without --trace.
func (c *captureFlags) observeProxy() func(string, link.Event) {
	if c.trace == nil {
		return nil
	}
	return func(conn string, e link.Event) { c.trace.Write("proxy", conn, e) }
}
