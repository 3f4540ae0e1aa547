package main

import (
	"context"
	"fmt"
	"github.com/possim/possim/internal/fault"
	"io"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/metrics"
	"github.com/spf13/pflag"
)

func init() {
	register("host", "run a fake acquirer host that answers terminals", runHost)
}

func runHost(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("host", "host [flags]", stderr)
	var df dialectFlags
	listen := fs.String("listen", "127.0.0.1:8583", "address to listen on")
	df.add(fs)
	configFile := fs.String("config", "", "host config (YAML): listen, dialect, rules, faults, tmk... — flags given on the command line win")
	rulesFile := fs.String("rules", "", "authorization rules (YAML); default: the built-in test-card rules")
	showRules := fs.Bool("show-rules", false, "print the rules in force and exit")
	configHelp := fs.Bool("config-help", false, "print the keys of a --config file and exit (also: possim docs host-config)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on ADDR (HOST:PORT; an empty host is 127.0.0.1) at /metrics: requests, answers by RC, bad frames, faults fired, links, service time")
	maxConns := fs.Int("max-conns", host.DefaultMaxConns, "most links at once; at the limit the link idle longest with nothing in flight is closed for a new one, and only if all are busy is the new one refused")
	idle := fs.Duration("idle-timeout", 10*time.Minute, "close a link with no complete frame for this long")
	firstFrame := fs.Duration("first-frame-timeout", 10*time.Second, "close a connection whose first frame is not complete this long after it was accepted")
	frameTimeout := fs.Duration("frame-timeout", 5*time.Second, "close a link whose frame is not complete this long after its first byte, however slowly bytes trickle in")
	linkQueue := fs.Int("link-queue", host.DefaultLinkQueue, "answers that may wait for a link's writer (per link; each slot is allocated up front)")
	ff := faultFlags{side: fault.Host}
	ff.add(fs, true)
	var sf securityFlags
	sf.add(fs, true)
	var tf tlsFlags
	tf.add(fs, true)
	verbose := fs.CountP("verbose", "v", "print every message (-v) and masked dumps (-vv)")
	fs.Usage = func() { hostUsage(stdout, fs) }
	var cf captureFlags
	cf.add(fs)
	if code, done := parseNoArgs(fs, args, stderr); done {
		return code
	}
	if *configHelp {
		writeHostConfigHelp(stdout, fs)
		return 0
	}
	hc := &hostConfig{}
	if *configFile != "" {
		var err error
		if hc, err = loadHostConfig(*configFile, fs); err != nil {
			return usageErr(stderr, "host", "%v", err)
		}
		ff.extra = hc.faults
	}
	wire, err := buildWiring(&df, &ff)
	if err != nil {
		return usageErr(stderr, "host", "%v", err)
	}
	dl, match, faults := wire.Dialect, wire.Match, wire.Faults
	rules := host.DefaultRules()
	if hc.rules != nil {
		rules = hc.rules
	}
	if *rulesFile != "" {
		if rules, err = host.LoadRules(*rulesFile); err != nil {
			return usageErr(stderr, "host", "%v", err)
		}
	}
	if *showRules {
		fmt.Fprint(stdout, rules.Describe())
		return 0
	}
	switch {
	case *maxConns < 1:
		return usageErr(stderr, "host", "--max-conns must be at least 1")
	case *idle <= 0:
		return usageErr(stderr, "host", "--idle-timeout must be positive")
	case *firstFrame <= 0:
		return usageErr(stderr, "host", "--first-frame-timeout must be positive")
	case *frameTimeout <= 0:
		return usageErr(stderr, "host", "--frame-timeout must be positive")
	case *linkQueue < 1:
		return usageErr(stderr, "host", "--link-queue must be at least 1")
	}
	sec, err := sf.hostSecurity()
	if err != nil {
		return usageErr(stderr, "host", "%v", err)
	}
	tlsStop := make(chan struct{})
	defer close(tlsStop)
	tlsCfg, err := tf.server(tlsStop)
	if err != nil {
		return usageErr(stderr, "host", "%v", err)
	}
	cfg := host.Config{
		TLS:    tlsCfg,
		Listen: *listen, Dialect: dl, Match: match, Rules: rules, MaxConns: *maxConns, IdleTimeout: *idle,
		FirstFrameTimeout: *firstFrame, FrameTimeout: *frameTimeout, LinkQueue: *linkQueue,
		Faults: faults, Security: sec, Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	}
	if *verbose > 0 {
		tr := newTranscript(stdout, "host", "terminal", *verbose > 1)
		cfg.Observer = func(_ *link.Link, e link.Event) { tr.event(e) }
	}
	if err := cf.open(); err != nil {
		return usageErr(stderr, "host", "%v", err)
	}
	defer cf.close(stderr)
	cfg.Observer = cf.observeHost(cfg.Observer)
	cfg.WrapConn = cf.hostWrap(faults)
	var h *host.Host
	var hm *metrics.Host
	if *metricsAddr != "" {
		hm = metrics.NewHost(func() int { return len(h.Links()) })
		cfg.Observer = hm.Observe(cfg.Observer)
	}
	h, err = host.New(cfg)
	if err != nil {
		return usageErr(stderr, "host", "%v", err)
	}
	if err := h.Start(); err != nil {
		// A host that cannot listen (a malformed address, a port in use, an
		// address not on this machine) is a configuration error.
		fmt.Fprintf(stderr, "possim host: --listen %s: %v (give a free host:port on this machine)\n", cfg.Listen, strings.TrimPrefix(err.Error(), "host: "))
		return 2
	}
	fmt.Fprintf(stdout, "possim host listening on %s (%s: %s); Ctrl-C to stop\n", h.Addr(), dl.Name, dl.Framing.Describe())
	if hm != nil {
		srv, err := metrics.Serve(*metricsAddr, hm.Registry)
		if err != nil {
			_ = h.Close()
			return usageErr(stderr, "host", "--metrics: %v", err)
		}
		defer srv.Close()
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", srv.Addr())
	}
	if sec != nil {
		fmt.Fprintln(stdout, sec) // check values only
	}
	printTLS(stdout, tlsCfg, tf.o.Fault)
	if faults != nil {
		fmt.Fprintf(stdout, "faults: %d rules, seed %d\n", len(faults.Rules()), faults.Seed())
	}
	stopControl, err := ff.startControl(faults, stdout)
	if err != nil {
		h.Close()
		return usageErr(stderr, "host", "--control: %v", err)
	}
	defer stopControl()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	h.Close()
	c := h.Ledger().Counts()
	fmt.Fprintf(stdout, "\nhost stopped: %d approved, %d declined, %d reversed (%d reversals received, %d repeats, %d without original)\n",
		c.Approved, c.Declined, c.Reversed, c.ReversalsReceived, c.DuplicateReversals, c.ReversalsWithoutOriginal)
	if faults != nil {
		fmt.Fprintf(stdout, "faults fired: %d (seed %d)\n", faults.TotalFired(), faults.Seed())
	}
	return 0
}

// hostUsage is possim host --help: flags, the limits that protect the host
// and its control API, and examples.
func hostUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, `Usage: possim host [flags]

Runs a fake acquirer host: it answers authorizations, purchases, reversals
and network management from terminals over TCP, decided by rules.

Flags:
%s
Limits (what keeps the host up against hostile or broken peers):
  links          --max-conns (default %d). At the limit, the link idle longest
                 with nothing in flight is closed for the new connection (logged
                 "link evicted"); only when every link is busy is the new one
                 refused (logged "connection refused", counted).
  timeouts       --first-frame-timeout: a connection must complete its first
                 frame in time; --frame-timeout: a frame must be complete this
                 long after its first byte (a peer dripping bytes is closed);
                 --idle-timeout counts from the last complete frame.
  requests       every field is checked against the dialect: numeric fields
                 digits only (fixed ones at their length), amounts not negative,
                 PAN 12-19 digits, nothing after the last field. A request that
                 fails gets RC 30 and the log names the field and the rule; an
                 MTI class the host does not serve gets RC 12.
  control API    (--control ADDR) JSON only: Content-Type application/json
                 (else 415); a browser's cross-site request (foreign Origin) is
                 refused (403); the Host header must be the listen address or
                 localhost (else 421, against DNS rebinding); bodies at most
                 64 KiB (413); at most 1000 rules (409). Off loopback it needs
                 --control-token or --control-token-file.
  secrets        --tmk-file and --control-token-file read the value from a file,
                 so it does not show in the process list.

Examples:
  possim host                                   # 127.0.0.1:8583, built-in test cards
  possim host --max-conns 2000 --frame-timeout 2s --idle-timeout 5m
  possim host --tmk-file tmk.hex --control 127.0.0.1:8474 --control-token-file token
`, fs.FlagUsages(), host.DefaultMaxConns)
}
