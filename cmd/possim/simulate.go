package main

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/load"
	"github.com/possim/possim/internal/sim"
	"github.com/possim/possim/internal/tlsconf"
	"github.com/possim/possim/terminal"
	"github.com/spf13/pflag"
)

func init() {
	register("simulate", "open-loop load: a fleet of terminals at a fixed rate or rate profile, with a live status and a final report", runSimulate)
}

const simulateSynopsis = `simulate --tps N [--duration D] | --stages PROFILE [flags]

Open-loop load: transaction i is due at its scheduled time whatever the host
does, and its latency is measured from that intended time (the service time,
write to matched response, is reported too). A transaction that cannot be sent
on time because --max-inflight is reached waits, and is counted late.

Without --target, an embedded host (the built-in rules) listens on
127.0.0.1 in the same process and the fleet talks to it over real TCP.

With --tmk (full authorization with MAC) every terminal signs on, gets its
own working keys and MACs its requests; the embedded host gets the same TMK
and MAC settings. With --target only the fleet does: the host under test
must hold the same TMK.

Exit status: 0 done and every --threshold met, 1 a threshold not met (or the
run could not start), 2 bad flags or configuration.

Examples:
  possim simulate --tps 1000 --duration 30s --terminals 100
  possim simulate --stages 0s:100,30s:1000,2m:1000 --mix purchase=80,balance=10,refund=10
  possim simulate --tps 1000 --duration 30s --tmk 0123456789ABCDEFFEDCBA9876543210 --mac-alg x9.19
  possim simulate --tps 500 --duration 1m --fault 'delay:mti=0210,p=0.01,delay=15s' --threshold 'timeout_rate<0.02'
  possim simulate --tps 500 --duration 1m --results run.json && possim report --output html --out run.html run.json
  possim simulate --target switch:5000 --tps 40000 --duration 5m --terminals 4000 \
      --segment 2/8 --start-at 2026-12-02T07:00:00Z --results /results/segment-2.json`

// simOptions are the parsed, checked flags of simulate.
type simOptions struct {
	pacer      load.Pacer
	fleet      terminal.FleetConfig
	run        load.RunConfig
	thresholds []load.Threshold
	faults     []fault.Rule
	target     string
	hostRules  *host.RuleSet
	hostSec    *host.Security // embedded host's MAC settings; nil: MACs off
	output     string
	hdrLog     string
	results    string
	segment    segment
	metrics    string
	seed       int64
	quiet      bool
	capture    captureFlags
	tls        tlsFlags
}

func runSimulate(args []string, stdout, stderr io.Writer) int {
	o, code, done := parseSimulate(args, stderr)
	if done {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sim.TuneGC()
	return simulate(ctx, o, stdout, stderr)
}

// simFlags are simulate's flags as registered, before checking.
type simFlags struct {
	fs                                   *pflag.FlagSet
	tps                                  *float64
	duration, timeout, drain, revBackoff *time.Duration
	stages, mix, amount, target, output  *string
	hdrLog, hostRules, results, segment  *string
	pacer, metrics, startAt, connMode    *string
	terminals, links, maxInflight        *int
	revAttempts, workers                 *int
	faults, thresholds                   *[]string
	seed                                 *int64
	noSignOn, quiet                      *bool
	df                                   dialectFlags
	sf                                   securityFlags
	cf                                   captureFlags
	tf                                   tlsFlags
}

func addSimFlags(fs *pflag.FlagSet) *simFlags {
	f := &simFlags{fs: fs}
	f.tps = fs.Float64("tps", 0, "transactions per second (constant rate)")
	f.duration = fs.Duration("duration", 10*time.Second, "length of the run at --tps")
	f.stages = fs.String("stages", "", "rate profile TIME:RATE,... ramping linearly between points, e.g. 0s:100,30s:1000,2m:1000 (instead of --tps/--duration)")
	f.terminals = fs.Int("terminals", 10, "number of terminals (distinct TIDs SIM00001..., each with its own STANs)")
	f.links = fs.Int("links", 0, "TCP links the terminals share (terminal j uses link j mod L); default min(terminals, GOMAXPROCS)")
	f.maxInflight = fs.Int("max-inflight", 10000, "most transactions in flight; a transaction due beyond it waits and is counted late")
	f.mix = fs.String("mix", "purchase=100", "transaction mix TYPE=WEIGHT,...: purchase, preauth, refund, balance, echo")
	f.amount = fs.String("amount", "10.00", "amount of each financial transaction")
	f.target = fs.String("target", "", "host:port of the host under test; default an embedded host on 127.0.0.1")
	f.df.add(fs)
	f.faults = fs.StringArray("fault", nil, "fault rule TYPE[:key=value,...] (repeatable; see possim faults); with the embedded host the host carries them out, with --target the terminals do (message and link faults only)")
	f.output = fs.String("output", "text", "final report format: text or json")
	f.thresholds = fs.StringArray("threshold", nil, "pass/fail condition, e.g. 'p99<50ms', 'timeout_rate<0.01', 'tps>=900' (repeatable; unmet: exit 1)")
	f.hdrLog = fs.String("hdr-log", "", "write the intended-time latency of every second to FILE (HdrHistogram interval log)")
	f.seed = fs.Int64("seed", 0, "seed of the transaction mix and fault decisions; 0 picks one (the report prints it)")
	f.timeout = fs.Duration("timeout", 10*time.Second, "response timeout; then the terminal reverses a financial transaction")
	f.drain = fs.Duration("drain", 0, "after the schedule, wait this long for outstanding transactions (default --timeout)")
	f.noSignOn = fs.Bool("no-signon", false, "terminals do not sign on when their link comes up")
	f.revAttempts = fs.Int("reversal-attempts", 3, "0400 + 0401 repeats before a reversal is stored")
	f.revBackoff = fs.Duration("reversal-backoff", time.Second, "wait before the first 0401 repeat (doubles)")
	f.workers = fs.Int("workers", 0, "goroutines starting transactions and recording outcomes; default GOMAXPROCS")
	f.hostRules = fs.String("host-rules", "", "authorization rules (YAML) of the embedded host; default the built-in rules")
	f.quiet = fs.BoolP("quiet", "q", false, "no status line on stderr")
	f.results = fs.String("results", "", "write the run to FILE (report, per-second series, HDR histograms) for possim report")
	f.segment = fs.String("segment", "", "run the I-th of N equal shares of the run (1-based I/N): 1/N of the rate and of --terminals, a disjoint slice of TIDs and of the STAN space")
	f.pacer = fs.String("pacer", "precise", "how the pacer waits: precise (clock_nanosleep with 1 ns timer slack, ~50 µs send lag) or go (Go timers: ~0.5 ms send lag; sends bunch up, which costs less CPU per transaction)")
	f.metrics = fs.String("metrics", "", "serve Prometheus metrics on ADDR (HOST:PORT; an empty host is 127.0.0.1) at /metrics while the run lasts")
	f.startAt = fs.String("start-at", "", "start the schedule at this time (RFC 3339, e.g. 2026-12-02T07:00:00Z), so that all segments start together")
	f.sf.add(fs, true) // --mac-rc is the embedded host's
	f.cf.add(fs)       // the fleet's side of the links
	f.connMode = fs.String("connection", "shared", "shared: long-lived links the terminals share; per-tx: a new connection per transaction, closed after the answer (GPRS-style terminals)")
	f.tf.add(fs, false) // the fleet's; the embedded host gets --tls-dir's host certificate or a throw-away PKI
	return f
}

func parseSimulate(args []string, stderr io.Writer) (*simOptions, int, bool) {
	const cmd = "simulate"
	fs := newFlags(cmd, simulateSynopsis, stderr)
	f := addSimFlags(fs)
	if code, done := parseNoArgs(fs, args, stderr); done {
		return nil, code, true
	}
	o, err := f.options()
	if err != nil {
		return nil, usageErr(stderr, cmd, "%v", err), true
	}
	return o, 0, false
}

// options checks the flags: an error is a bad flag (exit 2).
func (f *simFlags) options() (*simOptions, error) {
	o := &simOptions{output: *f.output, hdrLog: *f.hdrLog, quiet: *f.quiet, target: *f.target, results: *f.results, metrics: *f.metrics, capture: f.cf, tls: f.tf}
	if *f.segment != "" {
		sg, err := parseSegment(*f.segment)
		if err != nil {
			return nil, fmt.Errorf("--segment %v", err)
		}
		o.segment = sg
	}
	start, err := f.start()
	if err != nil {
		return nil, err
	}
	if o.pacer, err = f.schedule(); err != nil {
		return nil, err
	}
	if o.segment.n > 1 {
		o.pacer = o.segment.pacer(o.pacer)
	}
	if err := f.checkReport(o); err != nil {
		return nil, err
	}
	if err := f.hostAndFaults(o); err != nil {
		return nil, err
	}
	if err := f.fleet(o); err != nil {
		return nil, err
	}
	if *f.pacer != "precise" && *f.pacer != "go" {
		return nil, fmt.Errorf("--pacer %q: want precise or go", *f.pacer)
	}
	drain := *f.drain
	if drain == 0 {
		drain = *f.timeout
	}
	o.run = load.RunConfig{Pacer: o.pacer, Workers: *f.workers, MaxInFlight: *f.maxInflight, Drain: drain, Start: start, GoTimers: *f.pacer == "go"}
	return o, nil
}

func (f *simFlags) start() (time.Time, error) {
	if *f.startAt == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *f.startAt)
	if err != nil {
		return t, fmt.Errorf("--start-at %q: want an RFC 3339 time such as 2026-12-02T07:00:00Z", *f.startAt)
	}
	if time.Until(t) > 24*time.Hour {
		return t, fmt.Errorf("--start-at %s is more than a day away", *f.startAt)
	}
	return t, nil
}

// schedule is --tps/--duration or --stages.
func (f *simFlags) schedule() (load.Pacer, error) {
	fs, tps, duration := f.fs, *f.tps, *f.duration
	switch {
	case *f.stages != "" && (fs.Changed("tps") || fs.Changed("duration")):
		return nil, errors.New("--stages replaces --tps and --duration: give one or the other")
	case *f.stages != "":
		p, err := load.ParseStages(*f.stages)
		if err != nil {
			return nil, fmt.Errorf("--stages: %v", err)
		}
		return p, nil
	case !fs.Changed("tps"):
		return nil, errors.New("give the load: --tps N (with --duration) or --stages PROFILE")
	case !(tps > 0) || tps > 1e7:
		return nil, fmt.Errorf("--tps %v: want a rate > 0 (at most 10000000)", tps)
	case duration <= 0:
		return nil, fmt.Errorf("--duration %v: want a positive duration, e.g. 30s", duration)
	}
	return load.ConstantPacer{Rate: tps, Duration: duration}, nil
}

// checkReport checks --output and --threshold.
func (f *simFlags) checkReport(o *simOptions) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	var err error
	if o.thresholds, err = load.ParseThresholds(*f.thresholds); err != nil {
		return fmt.Errorf("--threshold: %v", err)
	}
	return nil
}

// hostAndFaults checks --host-rules and --fault against where they act.
func (f *simFlags) hostAndFaults(o *simOptions) error {
	if o.target != "" && *f.hostRules != "" {
		return errors.New("--host-rules is for the embedded host: it cannot be used with --target")
	}
	if *f.hostRules != "" {
		var err error
		if o.hostRules, err = host.LoadRules(*f.hostRules); err != nil {
			return fmt.Errorf("--host-rules: %v", err)
		}
	}
	for _, spec := range *f.faults {
		r, err := fault.ParseSpec(spec)
		if err != nil {
			return fmt.Errorf("--fault: %v", err)
		}
		info, _ := fault.Lookup(r.Type)
		switch {
		case info.Level == fault.LevelTerminal:
			// TODO(simulate): "die" drops the terminal's link; the fleet's
			// terminals share links, so one dying would take others with it.
			return fmt.Errorf("--fault %s: %s is not yet supported by simulate (terminals share links)", spec, r.Type)
		case o.target != "" && (info.Level == fault.LevelHost || r.Type == "refuse"):
			return fmt.Errorf("--fault %s: %s is carried out by the host: it needs the embedded host (no --target)", spec, r.Type)
		}
		o.faults = append(o.faults, r)
	}
	return nil
}

// fleet checks the terminals' flags and builds the fleet's config.
func (f *simFlags) fleet(o *simOptions) error {
	terminals, links := *f.terminals, *f.links
	if terminals < 1 {
		return fmt.Errorf("--terminals %d: want at least 1", terminals)
	}
	tidOffset, stanStart := 0, uint32(0)
	if n := o.segment.n; n > 1 {
		if terminals < n {
			return fmt.Errorf("--terminals %d with --segment %s: want at least one terminal per segment", terminals, *f.segment)
		}
		// Terminals are split as evenly as the count allows; segment I
		// gets the I-th run of TID numbers and the I-th slice of STANs.
		i := o.segment.i - 1
		from, to := i*terminals/n, (i+1)*terminals/n
		tidOffset, terminals = from, to-from
		stanStart = uint32(i*(999999/n) + 1)
		links = min(links, terminals)
	}
	if links < 0 || links > terminals {
		return fmt.Errorf("--links %d: want 1..%d (at most one link per terminal)", links, terminals)
	}
	if *f.maxInflight < 1 {
		return fmt.Errorf("--max-inflight %d: want at least 1", *f.maxInflight)
	}
	mix, err := terminal.ParseMix(*f.mix)
	if err != nil {
		return fmt.Errorf("--mix: %v", err)
	}
	amt, err := terminal.ParseAmount(*f.amount)
	if err != nil {
		return fmt.Errorf("--amount: %v", err)
	}
	if *f.timeout <= 0 || *f.drain < 0 || *f.revBackoff <= 0 || *f.revAttempts < 1 || *f.workers < 0 {
		return errors.New("--timeout and --reversal-backoff must be positive, --drain and --workers not negative, --reversal-attempts at least 1")
	}
	wire, err := buildWiring(&f.df, nil) // internal/sim builds the faults with the run's seed
	if err != nil {
		return err
	}
	dl, match := wire.Dialect, wire.Match
	termSec, err := f.security(o)
	if err != nil {
		return err
	}
	o.seed = *f.seed
	if o.seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		o.seed = int64(binary.LittleEndian.Uint64(b[:])>>1) | 1
	}
	if *f.connMode != "shared" && *f.connMode != "per-tx" {
		return fmt.Errorf("--connection %q: want shared or per-tx", *f.connMode)
	}
	o.fleet = terminal.FleetConfig{
		Target: o.target, Dialect: dl, Match: match, Terminals: terminals, Links: links,
		Mix: mix, Amount: amt, Seed: o.seed, Timeout: *f.timeout, SignOn: !*f.noSignOn, PerTx: *f.connMode == "per-tx",
		ReversalAttempts: *f.revAttempts, ReversalBackoff: *f.revBackoff, Security: termSec,
		TIDOffset: tidOffset, STANStart: stanStart,
	}
	return nil
}

// security is the fleet's MAC settings and, with the embedded host, the
// host's.
func (f *simFlags) security(o *simOptions) (*terminal.Security, error) {
	termSec, err := f.sf.terminalSecurity()
	if err != nil || termSec == nil {
		return termSec, err
	}
	if *f.noSignOn {
		return nil, errors.New("--no-signon with --tmk: the working keys come with the sign-on")
	}
	if o.target == "" {
		o.hostSec, err = f.sf.hostSecurity()
		return termSec, err
	}
	if f.fs.Changed("mac-rc") {
		return nil, errors.New("--mac-rc is for the embedded host: it cannot be used with --target")
	}
	return termSec, nil
}

// simulate runs a parsed simulation (internal/sim) and prints its report.
func simulate(ctx context.Context, o *simOptions, stdout, stderr io.Writer) int {
	cfg := sim.Config{Fleet: o.fleet, Run: o.run, Thresholds: o.thresholds, Faults: o.faults, Seed: o.seed,
		HostRules: o.hostRules, HostSec: o.hostSec, Segment: o.segment.String(), Metrics: o.metrics,
		Describe: describePacer(o.pacer)}
	if !o.quiet {
		cfg.Status = stderr
	}
	if o.tls.o.Active() {
		var err error
		if cfg.HostTLS, cfg.Fleet.TLS, err = o.simTLS(); err != nil {
			return usageErr(stderr, "simulate", "%v", err)
		}
	}
	if err := o.capture.open(); err != nil {
		return usageErr(stderr, "simulate", "%v", err)
	}
	defer o.capture.close(stderr)
	if o.capture.pcap != nil {
		cfg.Capture = o.capture.wrap(true, nil)
	}
	cfg.Observe = func(target string, next func(link.Event)) func(link.Event) {
		return o.capture.observe("terminal", target, next)
	}
	if o.hdrLog != "" {
		f, err := os.Create(o.hdrLog)
		if err != nil {
			return usageErr(stderr, "simulate", "--hdr-log: %v", err)
		}
		defer f.Close()
		cfg.HDRLog = f
	}
	res, err := sim.Run(ctx, cfg)
	if sim.IsConfigError(err) {
		return usageErr(stderr, "simulate", "%v", err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "possim simulate: %v\n", err)
		return 1
	}
	return reportSim(o, res, stdout, stderr)
}

// reportSim writes --results and the report; the exit status says whether
// every threshold was met.
func reportSim(o *simOptions, res *sim.Result, stdout, stderr io.Writer) int {
	if o.results != "" {
		res.Extra.GOMAXPROCS = runtime.GOMAXPROCS(0)
		out, err := load.NewResults(res.Report, o.segment.String(), struct {
			sim.Extra
			Thresholds []sim.ThresholdResult `json:"thresholds"`
		}{res.Extra, res.Thresholds})
		if err == nil {
			err = out.WriteFile(o.results)
		}
		if err != nil {
			fmt.Fprintf(stderr, "possim simulate: --results: %v\n", err)
			return 1
		}
	}
	if err := writeSimReport(stdout, o.output, res.Report.WithoutHDR(), res.Thresholds, res.Extra); err != nil {
		fmt.Fprintf(stderr, "possim simulate: %v\n", err)
		return 1
	}
	if res.CheckErr != nil {
		fmt.Fprintf(stderr, "possim simulate: the counts do not add up (a bug): %v\n", res.CheckErr)
		return 1
	}
	if res.Failed > 0 {
		for _, r := range res.Thresholds {
			if !r.OK {
				fmt.Fprintf(stderr, "possim simulate: threshold %s not met: actual %s\n", r.Threshold, r.Actual)
			}
		}
		return 1
	}
	return 0
}

func describePacer(p load.Pacer) string {
	switch p := p.(type) {
	case load.ConstantPacer:
		return p.String()
	case *load.StagesPacer:
		return "stages " + p.String()
	}
	return fmt.Sprint(p)
}

func writeSimReport(w io.Writer, format string, rep *load.Report, ths []sim.ThresholdResult, extra sim.Extra) error {
	extra.GOMAXPROCS = runtime.GOMAXPROCS(0)
	if format == "json" {
		// The report's own fields at the top level, plus what simulate adds.
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		if m["thresholds"], err = json.Marshal(ths); err != nil {
			return err
		}
		if m["simulation"], err = json.Marshal(extra); err != nil {
			return err
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	if err := rep.WriteText(w); err != nil {
		return err
	}
	if len(ths) > 0 {
		fmt.Fprintf(w, "\nThresholds\n")
		for _, t := range ths {
			verdict := "ok"
			if !t.OK {
				verdict = "FAILED"
			}
			fmt.Fprintf(w, "  %-24s %-6s actual %s\n", t.Threshold, verdict, t.Actual)
		}
	}
	return nil
}

// segment is the I-th of N shares of a run (--segment I/N); n == 0: the
// whole run.
type segment struct{ i, n int }

func parseSegment(s string) (segment, error) {
	var sg segment
	a, b, ok := strings.Cut(s, "/")
	// "K+1/N" is the 0-based index K plus one, as a Kubernetes Indexed
	// Job writes it without a shell: --segment=$(JOB_COMPLETION_INDEX)+1/N.
	a, plusOne := strings.CutSuffix(strings.TrimSpace(a), "+1")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	if plusOne {
		i++
	}
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return sg, fmt.Errorf("%q: want I/N, e.g. 2/4 (the second of four segments), or K+1/N with a 0-based K", s)
	}
	if n < 1 || n > 10000 || i < 1 || i > n {
		return sg, fmt.Errorf("%q: want 1 ≤ I ≤ N ≤ 10000", s)
	}
	return segment{i, n}, nil
}

func (s segment) String() string {
	if s.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.i, s.n)
}

// pacer is the segment's share of p: the same schedule at 1/N of the rate.
func (s segment) pacer(p load.Pacer) load.Pacer {
	switch p := p.(type) {
	case load.ConstantPacer:
		p.Rate /= float64(s.n)
		return p
	case *load.StagesPacer:
		st := p.Stages()
		for i := range st {
			st[i].Rate /= float64(s.n)
		}
		if q, err := load.NewStagesPacer(st); err == nil {
			return q
		}
	}
	return p
}

// simTLS builds the fleet's TLS config and, with the embedded host, the
// host's: from --tls-dir's test PKI, or a throw-away one in memory.
func (o *simOptions) simTLS() (hostCfg, fleetCfg *tls.Config, err error) {
	if o.target != "" {
		fleetCfg, err = o.tls.client(o.target)
		return nil, fleetCfg, err
	}
	if o.tls.o.Dir == "" && o.tls.o.CA == "" {
		v, err := tlsconf.ParseVersion(o.tls.o.MinVersion)
		if err != nil {
			return nil, nil, err
		}
		return tlsconf.Ephemeral(v)
	}
	hostOpts := tlsconf.Options{Dir: o.tls.o.Dir, CA: o.tls.o.CA, MinVersion: o.tls.o.MinVersion}
	if hostCfg, err = tlsconf.Server(hostOpts, nil); err != nil {
		return nil, nil, err
	}
	fleetCfg, err = o.tls.client("127.0.0.1:0")
	return hostCfg, fleetCfg, err
}
