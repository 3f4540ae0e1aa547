package main

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/possim/possim/internal/diagnose"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/load"
	"github.com/possim/possim/internal/metrics"
	"github.com/possim/possim/internal/tlsconf"
	"github.com/possim/possim/terminal"
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
	tuneGC()
	return simulate(ctx, o, stdout, stderr)
}

// tuneGC trades memory for CPU unless the user set GOGC or GOMEMLIMIT:
// the pipeline allocates ~20 KB per transaction (moov-io/iso8583 messages)
// over a small live heap, so at GOGC=100 the collector runs every few tens
// of milliseconds. GOGC=400 measured ~+15% saturation and a lower p99 at
// half load on the 2-core dev machine (internal/bench); the 2 GiB soft
// limit brings the collector back to normal pace if the heap ever gets big.
func tuneGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(2 << 30)
	}
}

func parseSimulate(args []string, stderr io.Writer) (*simOptions, int, bool) {
	const cmd = "simulate"
	fs := newFlags(cmd, simulateSynopsis, stderr)
	tps := fs.Float64("tps", 0, "transactions per second (constant rate)")
	duration := fs.Duration("duration", 10*time.Second, "length of the run at --tps")
	stages := fs.String("stages", "", "rate profile TIME:RATE,... ramping linearly between points, e.g. 0s:100,30s:1000,2m:1000 (instead of --tps/--duration)")
	terminals := fs.Int("terminals", 10, "number of terminals (distinct TIDs SIM00001..., each with its own STANs)")
	links := fs.Int("links", 0, "TCP links the terminals share (terminal j uses link j mod L); default min(terminals, GOMAXPROCS)")
	maxInflight := fs.Int("max-inflight", 10000, "most transactions in flight; a transaction due beyond it waits and is counted late")
	mixFlag := fs.String("mix", "purchase=100", "transaction mix TYPE=WEIGHT,...: purchase, preauth, refund, balance, echo")
	amount := fs.String("amount", "10.00", "amount of each financial transaction")
	target := fs.String("target", "", "host:port of the host under test; default an embedded host on 127.0.0.1")
	var df dialectFlags
	df.add(fs)
	faults := fs.StringArray("fault", nil, "fault rule TYPE[:key=value,...] (repeatable; see possim faults); with the embedded host the host carries them out, with --target the terminals do (message and link faults only)")
	output := fs.String("output", "text", "final report format: text or json")
	thresholds := fs.StringArray("threshold", nil, "pass/fail condition, e.g. 'p99<50ms', 'timeout_rate<0.01', 'tps>=900' (repeatable; unmet: exit 1)")
	hdrLog := fs.String("hdr-log", "", "write the intended-time latency of every second to FILE (HdrHistogram interval log)")
	seed := fs.Int64("seed", 0, "seed of the transaction mix and fault decisions; 0 picks one (the report prints it)")
	timeout := fs.Duration("timeout", 10*time.Second, "response timeout; then the terminal reverses a financial transaction")
	drain := fs.Duration("drain", 0, "after the schedule, wait this long for outstanding transactions (default --timeout)")
	noSignOn := fs.Bool("no-signon", false, "terminals do not sign on when their link comes up")
	revAttempts := fs.Int("reversal-attempts", 3, "0400 + 0401 repeats before a reversal is stored")
	revBackoff := fs.Duration("reversal-backoff", time.Second, "wait before the first 0401 repeat (doubles)")
	workers := fs.Int("workers", 0, "goroutines starting transactions and recording outcomes; default GOMAXPROCS")
	hostRules := fs.String("host-rules", "", "authorization rules (YAML) of the embedded host; default the built-in rules")
	quiet := fs.BoolP("quiet", "q", false, "no status line on stderr")
	results := fs.String("results", "", "write the run to FILE (report, per-second series, HDR histograms) for possim report")
	segFlag := fs.String("segment", "", "run the I-th of N equal shares of the run (1-based I/N): 1/N of the rate and of --terminals, a disjoint slice of TIDs and of the STAN space")
	pacerKind := fs.String("pacer", "precise", "how the pacer waits: precise (clock_nanosleep with 1 ns timer slack, ~50 µs send lag) or go (Go timers: ~0.5 ms send lag; sends bunch up, which costs less CPU per transaction)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on ADDR (HOST:PORT; an empty host is 127.0.0.1) at /metrics while the run lasts")
	startAt := fs.String("start-at", "", "start the schedule at this time (RFC 3339, e.g. 2026-12-02T07:00:00Z), so that all segments start together")
	var sf securityFlags
	sf.add(fs, true) // --mac-rc is the embedded host's
	var cf captureFlags
	cf.add(fs) // the fleet's side of the links
	connMode := fs.String("connection", "shared", "shared: long-lived links the terminals share; per-tx: a new connection per transaction, closed after the answer (GPRS-style terminals)")
	var tf tlsFlags
	tf.add(fs, false) // the fleet's; the embedded host gets --tls-dir's host certificate or a throw-away PKI
	if code, done := parse(fs, args, stderr); done {
		return nil, code, true
	}
	bad := func(format string, a ...any) (*simOptions, int, bool) {
		return nil, usageErr(stderr, cmd, format, a...), true
	}
	if fs.NArg() != 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	o := &simOptions{output: *output, hdrLog: *hdrLog, quiet: *quiet, target: *target, results: *results, metrics: *metricsAddr, capture: cf, tls: tf}
	if *segFlag != "" {
		sg, err := parseSegment(*segFlag)
		if err != nil {
			return bad("--segment %v", err)
		}
		o.segment = sg
	}
	var start time.Time
	if *startAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *startAt)
		if err != nil {
			return bad("--start-at %q: want an RFC 3339 time such as 2026-12-02T07:00:00Z", *startAt)
		}
		if time.Until(t) > 24*time.Hour {
			return bad("--start-at %s is more than a day away", *startAt)
		}
		start = t
	}

	// Schedule.
	switch {
	case *stages != "" && (fs.Changed("tps") || fs.Changed("duration")):
		return bad("--stages replaces --tps and --duration: give one or the other")
	case *stages != "":
		p, err := load.ParseStages(*stages)
		if err != nil {
			return bad("--stages: %v", err)
		}
		o.pacer = p
	case !fs.Changed("tps"):
		return bad("give the load: --tps N (with --duration) or --stages PROFILE")
	case !(*tps > 0) || *tps > 1e7:
		return bad("--tps %v: want a rate > 0 (at most 10000000)", *tps)
	case *duration <= 0:
		return bad("--duration %v: want a positive duration, e.g. 30s", *duration)
	default:
		o.pacer = load.ConstantPacer{Rate: *tps, Duration: *duration}
	}
	if o.segment.n > 1 {
		o.pacer = o.segment.pacer(o.pacer)
	}

	// Fleet.
	if *terminals < 1 {
		return bad("--terminals %d: want at least 1", *terminals)
	}
	tidOffset, stanStart := 0, uint32(0)
	if n := o.segment.n; n > 1 {
		if *terminals < n {
			return bad("--terminals %d with --segment %s: want at least one terminal per segment", *terminals, *segFlag)
		}
		// Terminals are split as evenly as the count allows; segment I
		// gets the I-th run of TID numbers and the I-th slice of STANs.
		i := o.segment.i - 1
		from, to := i**terminals/n, (i+1)**terminals/n
		tidOffset, *terminals = from, to-from
		stanStart = uint32(i*(999999/n) + 1)
		if *links > *terminals {
			*links = *terminals
		}
	}
	if *links < 0 || *links > *terminals {
		return bad("--links %d: want 1..%d (at most one link per terminal)", *links, *terminals)
	}
	if *maxInflight < 1 {
		return bad("--max-inflight %d: want at least 1", *maxInflight)
	}
	mix, err := terminal.ParseMix(*mixFlag)
	if err != nil {
		return bad("--mix: %v", err)
	}
	amt, err := terminal.ParseAmount(*amount)
	if err != nil {
		return bad("--amount: %v", err)
	}
	if *timeout <= 0 || *drain < 0 || *revBackoff <= 0 || *revAttempts < 1 || *workers < 0 {
		return bad("--timeout and --reversal-backoff must be positive, --drain and --workers not negative, --reversal-attempts at least 1")
	}
	dl, match, err := df.build()
	if err != nil {
		return bad("%v", err)
	}
	if o.output != "text" && o.output != "json" {
		return bad("--output %q: want text or json", o.output)
	}
	if o.thresholds, err = load.ParseThresholds(*thresholds); err != nil {
		return bad("--threshold: %v", err)
	}
	if o.target != "" && *hostRules != "" {
		return bad("--host-rules is for the embedded host: it cannot be used with --target")
	}
	if *hostRules != "" {
		if o.hostRules, err = host.LoadRules(*hostRules); err != nil {
			return bad("--host-rules: %v", err)
		}
	}
	for _, spec := range *faults {
		r, err := fault.ParseSpec(spec)
		if err != nil {
			return bad("--fault: %v", err)
		}
		info, _ := fault.Lookup(r.Type)
		switch {
		case info.Level == fault.LevelTerminal:
			// TODO(simulate): "die" drops the terminal's link; the fleet's
			// terminals share links, so one dying would take others with it.
			return bad("--fault %s: %s is not yet supported by simulate (terminals share links)", spec, r.Type)
		case o.target != "" && (info.Level == fault.LevelHost || r.Type == "refuse"):
			return bad("--fault %s: %s is carried out by the host: it needs the embedded host (no --target)", spec, r.Type)
		}
		o.faults = append(o.faults, r)
	}
	termSec, err := sf.terminalSecurity()
	if err != nil {
		return bad("%v", err)
	}
	if termSec != nil {
		if *noSignOn {
			return bad("--no-signon with --tmk: the working keys come with the sign-on")
		}
		if o.target == "" {
			if o.hostSec, err = sf.hostSecurity(); err != nil {
				return bad("%v", err)
			}
		} else if fs.Changed("mac-rc") {
			return bad("--mac-rc is for the embedded host: it cannot be used with --target")
		}
	}
	o.seed = *seed
	if o.seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		o.seed = int64(binary.LittleEndian.Uint64(b[:])>>1) | 1
	}
	o.fleet = terminal.FleetConfig{
		Target: o.target, Dialect: dl, Match: match, Terminals: *terminals, Links: *links,
		Mix: mix, Amount: amt, Seed: o.seed, Timeout: *timeout, SignOn: !*noSignOn, PerTx: *connMode == "per-tx",
		ReversalAttempts: *revAttempts, ReversalBackoff: *revBackoff, Security: termSec,
		TIDOffset: tidOffset, STANStart: stanStart,
	}
	if *drain == 0 {
		*drain = *timeout
	}
	if *connMode != "shared" && *connMode != "per-tx" {
		return bad("--connection %q: want shared or per-tx", *connMode)
	}
	if *pacerKind != "precise" && *pacerKind != "go" {
		return bad("--pacer %q: want precise or go", *pacerKind)
	}
	o.run = load.RunConfig{Pacer: o.pacer, Workers: *workers, MaxInFlight: *maxInflight, Drain: *drain, Start: start, GoTimers: *pacerKind == "go"}
	return o, 0, false
}

// simulate runs a parsed simulation: embedded host (unless --target),
// fleet, runner, report, thresholds.
func simulate(ctx context.Context, o *simOptions, stdout, stderr io.Writer) int {
	var rs *fault.RuleSet
	if len(o.faults) > 0 {
		var err error
		rs, err = fault.New(o.faults, fault.Options{Seed: uint64(o.seed), Dialect: o.fleet.Dialect})
		if err != nil {
			return usageErr(stderr, "simulate", "--fault: %v", err)
		}
	}
	var h *host.Host
	fc := o.fleet
	var hostTLS *tls.Config
	if o.tls.o.Active() {
		var err error
		if hostTLS, fc.TLS, err = o.simTLS(); err != nil {
			return usageErr(stderr, "simulate", "%v", err)
		}
	}
	if o.target == "" {
		hc := host.Config{Listen: "127.0.0.1:0", Dialect: fc.Dialect, Match: fc.Match, Rules: o.hostRules,
			MaxConns: max(1000, fc.Terminals), Security: o.hostSec, TLS: hostTLS}
		// Faults act at the host's end of the links: the same wire
		// behaviour as at the terminals' end, the host carries out crash,
		// unsolicited and refuse, and the fleet keeps its message reuse.
		hc.Faults = rs
		var err error
		if h, err = host.New(hc); err != nil {
			return usageErr(stderr, "simulate", "%v", err)
		}
		if err := h.Start(); err != nil {
			fmt.Fprintf(stderr, "possim simulate: %v\n", err)
			return 1
		}
		defer h.Close()
		fc.Target = h.Addr().String()
	} else if rs != nil {
		fc.Interceptor = rs.Interceptor(fault.Terminal)
		fc.WrapConn = func(c net.Conn) net.Conn { return rs.WrapConn(c, fault.Terminal) }
	}
	if err := o.capture.open(); err != nil {
		return usageErr(stderr, "simulate", "%v", err)
	}
	defer o.capture.close(stderr)
	if o.capture.pcap != nil {
		fc.WrapConn = o.capture.wrap(true, fc.WrapConn) // under the terminals' faults, if any
	}
	fc.Observer = o.capture.observe("terminal", fc.Target, fc.Observer)
	fleet, err := terminal.NewFleet(fc)
	if err != nil {
		return usageErr(stderr, "simulate", "%v", err)
	}
	fc = fleet.Config()
	rules := "built-in rules"
	if o.hostRules != nil {
		rules = "--host-rules"
	}
	where := "embedded host " + fc.Target + " (" + rules + ", no MAC)"
	if o.hostSec != nil {
		where = "embedded host " + fc.Target + " (" + rules + ", " + o.hostSec.String() + ")"
	}
	if o.target != "" {
		where = o.target
		if fc.Security != nil {
			where += " (" + fc.Security.String() + ")"
		}
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "possim simulate: %s → %s; %d terminals on %d links, %s, %s; seed %d\n",
			describePacer(o.pacer), where, fc.Terminals, fc.Links, fc.Mix, fc.Dialect.Name, o.seed)
	}
	if err := fleet.Connect(ctx); err != nil {
		fmt.Fprintf(stderr, "possim simulate: cannot connect the fleet: %v\n", err)
		return 1
	}
	defer fleet.Close()

	rc := o.run
	rc.Target = fleet
	if !o.quiet {
		rc.Status = stderr
	}
	lateStart := time.Duration(0)
	if !rc.Start.IsZero() {
		if d := time.Until(rc.Start); d < 0 {
			lateStart = -d
			rc.Start = time.Time{}
		} else if !o.quiet {
			fmt.Fprintf(stderr, "possim simulate: connected; waiting %s for --start-at %s\n", d.Round(time.Millisecond), rc.Start.UTC().Format(time.RFC3339Nano))
		}
	}
	if o.hdrLog != "" {
		f, err := os.Create(o.hdrLog)
		if err != nil {
			return usageErr(stderr, "simulate", "--hdr-log: %v", err)
		}
		defer f.Close()
		if rc.Start.IsZero() {
			rc.Start = time.Now()
		}
		if rc.HDRLog, err = load.NewHDRLog(f, rc.Start); err != nil {
			fmt.Fprintf(stderr, "possim simulate: --hdr-log: %v\n", err)
			return 1
		}
	}
	var runner *load.Runner
	if o.metrics != "" {
		m := metrics.NewLoad()
		srv, err := metrics.Serve(o.metrics, m.Registry)
		if err != nil {
			return usageErr(stderr, "simulate", "--metrics: %v", err)
		}
		defer srv.Close()
		if !o.quiet {
			fmt.Fprintf(stderr, "possim simulate: metrics on http://%s/metrics\n", srv.Addr())
		}
		m.SetLinks(fc.Links, fleet.Stats().LinksUp)
		rc.OnWindow = func(w *load.Window) {
			m.Window(w)
			m.SetInFlight(runner.InFlight())
			st := fleet.Stats()
			m.SetLinks(st.Links, st.LinksUp)
			if rs != nil {
				f := map[string]int64{}
				for _, s := range rs.Stats() {
					f[s.Label] += int64(s.Fired)
				}
				m.SetFaults(f)
			}
		}
	}
	runner, err = load.NewRunner(rc)
	if err != nil {
		return usageErr(stderr, "simulate", "%v", err)
	}
	rep := runner.Run(ctx)
	fleet.CancelPending()

	rep.Seed = o.seed
	if lateStart > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("--start-at was %s in the past when the fleet was connected: started at once", lateStart.Round(time.Millisecond)))
	}
	st := fleet.Stats()
	rep.Reversals.Stored = st.StoredReversals
	rep.Reversals.Pending = int64(st.PendingReversals)
	if d := st.StoredReversals - int64(st.PendingReversals); d > 0 {
		// Delivered from the store after a reconnect: each was sent (at
		// least once) and acknowledged.
		rep.Reversals.FromStore = d
		rep.Reversals.Sent += d
		rep.Reversals.Acked += d
	}
	rep.LateResponses = int64(st.Late)
	rep.UnmatchedResponses = int64(st.Unmatched)
	if st.Duplicates > 0 { // answers, not transactions: a note, not an outcome
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d duplicate responses [%s]: a second answer to a request already answered", st.Duplicates, diagnose.ResponseDuplicate))
	}
	if rs != nil {
		rep.Faults = map[string]int64{}
		for _, s := range rs.Stats() {
			rep.Faults[s.Label] += int64(s.Fired)
		}
	}
	extra := simExtra{
		Segment: o.segment.String(), TIDFirst: fc.TIDOffset + 1,
		Target: where, Terminals: fc.Terminals, Links: fc.Links, Mix: fc.Mix.String(), Dialect: fc.Dialect.Name,
		Reconnects: st.Reconnects, FramesOut: st.FramesOut, Writes: st.Writes, PendingReversals: st.PendingReversals,
		NotSentNoLink: st.NotSentNoLink, NonFinancialTimeouts: st.NonFinancialTimeouts, DuplicateResponses: int64(st.Duplicates),
		MAC: fc.Security.String(),
	}
	if st.Writes > 0 {
		extra.FramesPerWrite = float64(st.FramesOut) / float64(st.Writes)
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("%d terminals on %d links to %s (%s); %.1f frames per write; %d reconnects",
		fc.Terminals, fc.Links, where, fc.Dialect.Name, extra.FramesPerWrite, st.Reconnects))
	if st.PerTxConnections > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("per-tx: %d new connections, one per transaction (%.0f/s)", st.PerTxConnections, float64(st.PerTxConnections)/max(rep.Elapsed.Seconds(), 1e-9)))
	}
	if st.NonFinancialTimeouts > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d timed-out non-financial transactions (balance, echo) had nothing to reverse (counted as timed_out)", st.NonFinancialTimeouts))
	}
	if st.PendingReversals > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d reversals left in store-and-forward at the end", st.PendingReversals))
	}
	if h != nil {
		c := h.Ledger().Counts()
		extra.Host = &c
		// Answers the host decided that the fleet never read in time or
		// late: written after the run gave up and closed the links, lost
		// with a failed link, or dropped by a fault.
		if n := int64(c.Approved+c.Declined) - rep.Outcomes.Answered() - rep.LateResponses; n >= 0 {
			rep.LateAfterDrain = n
		} else {
			rep.LateAfterDrain = 0
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("host ledger: %d approved, %d declined, %d reversed, %d reversals received", c.Approved, c.Declined, c.Reversed, c.ReversalsReceived))
		if o.hostSec != nil {
			n := h.MACFailures()
			extra.HostMACFailures = &n
			rep.Notes = append(rep.Notes, fmt.Sprintf("host MAC failures: %d", n))
		}
	}

	checkErr := rep.Check()
	results := make([]thresholdResult, len(o.thresholds))
	failed := 0
	for i, th := range o.thresholds {
		ok, actual := th.Eval(rep)
		results[i] = thresholdResult{Threshold: th.String(), OK: ok, Actual: actual}
		if !ok {
			failed++
		}
	}
	if o.results != "" {
		extra.GOMAXPROCS = runtime.GOMAXPROCS(0)
		res, err := load.NewResults(rep, o.segment.String(), struct {
			simExtra
			Thresholds []thresholdResult `json:"thresholds"`
		}{extra, results})
		if err == nil {
			err = res.WriteFile(o.results)
		}
		if err != nil {
			fmt.Fprintf(stderr, "possim simulate: --results: %v\n", err)
			return 1
		}
	}
	if err := writeSimReport(stdout, o.output, rep.WithoutHDR(), results, extra); err != nil {
		fmt.Fprintf(stderr, "possim simulate: %v\n", err)
		return 1
	}
	if checkErr != nil {
		fmt.Fprintf(stderr, "possim simulate: the counts do not add up (a bug): %v\n", checkErr)
		return 1
	}
	if failed > 0 {
		for _, r := range results {
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

type thresholdResult struct {
	Threshold string `json:"threshold"`
	OK        bool   `json:"ok"`
	Actual    string `json:"actual"`
}

// simExtra is what simulate adds to the load report.
type simExtra struct {
	Segment              string       `json:"segment,omitempty"`
	TIDFirst             int          `json:"tid_first"`
	Target               string       `json:"target"`
	Terminals            int          `json:"terminals"`
	Links                int          `json:"links"`
	Mix                  string       `json:"mix"`
	Dialect              string       `json:"dialect"`
	Reconnects           int64        `json:"reconnects"`
	FramesOut            uint64       `json:"frames_out"`
	Writes               uint64       `json:"writes"`
	FramesPerWrite       float64      `json:"frames_per_write"`
	PendingReversals     int          `json:"pending_reversals"`
	NotSentNoLink        int64        `json:"not_sent_no_link"`
	NonFinancialTimeouts int64        `json:"non_financial_timeouts"`
	Host                 *host.Counts `json:"host_ledger,omitempty"`
	DuplicateResponses   int64        `json:"duplicate_responses"`
	MAC                  string       `json:"mac"`
	HostMACFailures      *uint64      `json:"host_mac_failures,omitempty"`
	GOMAXPROCS           int          `json:"gomaxprocs"`
}

func writeSimReport(w io.Writer, format string, rep *load.Report, ths []thresholdResult, extra simExtra) error {
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
