package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/link"
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
	maxConns := fs.Int("max-conns", 1000, "most links at once; more are refused")
	idle := fs.Duration("idle-timeout", 10*time.Minute, "close a link idle for this long")
	var ff faultFlags
	ff.add(fs, true)
	var sf securityFlags
	sf.add(fs, true)
	var tf tlsFlags
	tf.add(fs, true)
	verbose := fs.CountP("verbose", "v", "print every message (-v) and masked dumps (-vv)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 0 {
		return usageErr(stderr, "host", "unexpected argument %q", fs.Arg(0))
	}
	hc := &hostConfig{}
	if *configFile != "" {
		var err error
		if hc, err = loadHostConfig(*configFile, fs); err != nil {
			return usageErr(stderr, "host", "%v", err)
		}
		ff.extra = hc.faults
	}
	dl, match, err := df.build()
	if err != nil {
		return usageErr(stderr, "host", "%v", err)
	}
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
	if *maxConns < 1 || *idle <= 0 {
		return usageErr(stderr, "host", "--max-conns must be at least 1 and --idle-timeout positive")
	}
	faults, err := ff.build(dl)
	if err != nil {
		return usageErr(stderr, "host", "%v", err)
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
		Faults: faults, Security: sec, Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	}
	if *verbose > 0 {
		tr := newTranscript(stdout, "host", "terminal", *verbose > 1)
		cfg.Observer = func(_ *link.Link, e link.Event) { tr.event(e) }
	}
	h, err := host.New(cfg)
	if err != nil {
		return usageErr(stderr, "host", "%v", err)
	}
	if err := h.Start(); err != nil {
		fmt.Fprintf(stderr, "possim host: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "possim host listening on %s (%s: %s); Ctrl-C to stop\n", h.Addr(), dl.Name, dl.Framing.Describe())
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
