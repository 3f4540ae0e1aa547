package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"sync"
	"syscall"

	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/proxy"
	"github.com/possim/possim/internal/tlsconf"
)

func init() {
	register("proxy", "sit between a real terminal and a real host; inject faults per message", runProxy)
}

func runProxy(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("proxy", "proxy --listen ADDR --upstream HOST:PORT [flags]", stderr)
	listen := fs.String("listen", "127.0.0.1:9583", "address terminals connect to")
	upstream := fs.String("upstream", "", "the real host (host:port)")
	var df dialectFlags
	df.add(fs)
	ff := faultFlags{side: fault.ProxyDownstream}
	ff.add(fs, true)
	var downTLS, upTLS tlsFlags
	downTLS.addNamed(fs, "", "terminal side: ", true)
	upTLS.addNamed(fs, "upstream-", "host side: ", false)
	quiet := fs.BoolP("quiet", "q", false, "no transcript line per message")
	var cf captureFlags
	cf.add(fs) // both legs: terminals ⇄ proxy and proxy ⇄ host
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if *upstream == "" {
		return usageErr(stderr, "proxy", "--upstream is required")
	}
	if _, _, err := net.SplitHostPort(*upstream); err != nil {
		return usageErr(stderr, "proxy", "--upstream %q: %v (want host:port)", *upstream, err)
	}
	wire, err := buildWiring(&df, &ff) // the proxy forwards frames as read: no match keys
	if err != nil {
		return usageErr(stderr, "proxy", "%v", err)
	}
	dl, faults := wire.Dialect, wire.Faults
	tlsStop := make(chan struct{})
	defer close(tlsStop)
	downCfg, err := downTLS.server(tlsStop)
	if err != nil {
		return usageErr(stderr, "proxy", "%v", err)
	}
	upCfg, err := upTLS.client(*upstream)
	if err != nil {
		return usageErr(stderr, "proxy", "%v", err)
	}
	var mu sync.Mutex
	onLine := func(l proxy.Line) {
		if *quiet {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fault := ""
		if l.Fault != "" {
			fault = "  ⚡ " + l.Fault
		}
		if l.Dropped {
			fault += " (dropped)"
		}
		fmt.Fprintf(stdout, "%s  #%d %s  %s%s\n", l.Time.Format("15:04:05.000"), l.Conn, l.Dir, l.Summary, fault)
		if l.Finding != nil {
			diagnose.WriteFinding(stdout, *l.Finding, "      ")
		}
	}
	if err := cf.open(); err != nil {
		return usageErr(stderr, "proxy", "%v", err)
	}
	defer cf.close(stderr)
	p, err := proxy.Start(proxy.Config{Listen: *listen, Upstream: *upstream, Dialect: dl, Faults: faults, OnLine: onLine, WrapConn: cf.proxyWrap(),
		TLS: downCfg, UpstreamTLS: upCfg,
		Observer: cf.observeProxy(),
		Logger:   slog.New(slog.NewTextHandler(stderr, nil))})
	if errors.Is(err, proxy.ErrSelfUpstream) {
		return usageErr(stderr, "proxy", "%v", err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "possim proxy: %v\n", err)
		return 1
	}
	defer p.Close()
	fmt.Fprintf(stdout, "possim proxy %s → %s (%s: %s)\n", p.Addr(), *upstream, dl.Name, dl.Framing.Describe())
	if downCfg != nil {
		fmt.Fprintf(stdout, "terminal side TLS: %s\n", tlsconf.Describe(downCfg))
	}
	if upCfg != nil {
		fmt.Fprintf(stdout, "host side TLS: %s\n", tlsconf.Describe(upCfg))
	}
	if faults != nil {
		fmt.Fprintf(stdout, "faults: %d rules, seed %d\n", len(faults.Rules()), faults.Seed())
	} else {
		fmt.Fprintln(stdout, "no faults: forwarding byte for byte")
	}
	stopControl, err := ff.startControl(faults, stdout)
	if err != nil {
		return usageErr(stderr, "proxy", "--control: %v", err)
	}
	defer stopControl()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return 0
}
