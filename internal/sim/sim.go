// Package sim runs a simulation: an embedded host (unless the fleet has a
// target), a fleet of terminals, faults on one side of the links, the
// open-loop runner, and the report with what the fleet and the host saw.
// The simulate command only turns flags into a Config and prints a Result.
package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/load"
	"github.com/possim/possim/internal/metrics"
	"github.com/possim/possim/terminal"
)

// Config of a simulation.
type Config struct {
	// Fleet is the terminals; an empty Fleet.Target starts an embedded
	// host on 127.0.0.1 and points the fleet at it.
	Fleet terminal.FleetConfig
	// Run is the runner's schedule and limits (Target is set by Run).
	Run        load.RunConfig
	Thresholds []load.Threshold
	// Faults: with the embedded host the host carries them out (the same
	// wire behaviour as at the terminals' end, and the host does crash,
	// unsolicited and refuse); with a target the terminals do.
	Faults []fault.Rule
	Seed   int64
	// The embedded host's rules (nil: built-in), MAC settings (nil: off)
	// and TLS (nil: plain TCP).
	HostRules *host.RuleSet
	HostSec   *host.Security
	HostTLS   *tls.Config
	// Capture, when set, wraps each fleet connection under the terminals'
	// faults (a pcap); Observe adds to the fleet's link observer (a
	// trace); either may be nil.
	Capture func(net.Conn) net.Conn
	Observe func(target string, next func(link.Event)) func(link.Event)
	Segment string    // "I/N", for the report
	HDRLog  io.Writer // per-second latency log; nil: none
	Metrics string    // serve Prometheus metrics on this address; "": none
	// Status gets the progress lines and the runner's live status; nil:
	// quiet.
	Status io.Writer
	// Describe says how the schedule is described on the first status line.
	Describe string
}

// ConfigError is a bad configuration (the command's exit 2), as opposed to
// a run that could not start (exit 1).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func bad(format string, a ...any) error { return &ConfigError{fmt.Errorf(format, a...)} }

// ThresholdResult is one --threshold and whether the run met it.
type ThresholdResult struct {
	Threshold string `json:"threshold"`
	OK        bool   `json:"ok"`
	Actual    string `json:"actual"`
}

// Result of a simulation.
type Result struct {
	Report     *load.Report
	Thresholds []ThresholdResult
	Failed     int   // thresholds not met
	CheckErr   error // the report's counts do not add up (a bug)
	Extra      Extra
}

// Extra is what a simulation adds to the load report.
type Extra struct {
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

// run is one simulation's moving parts.
type run struct {
	cfg    Config
	rs     *fault.RuleSet
	h      *host.Host
	fleet  *terminal.Fleet
	fc     terminal.FleetConfig
	where  string
	runner *load.Runner
}

// Run carries out a simulation. A *ConfigError is a bad configuration.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	r := &run{cfg: cfg, fc: cfg.Fleet}
	defer r.close()
	if err := r.setup(); err != nil {
		return nil, err
	}
	r.status("possim simulate: %s → %s; %d terminals on %d links, %s, %s; seed %d\n",
		cfg.Describe, r.where, r.fc.Terminals, r.fc.Links, r.fc.Mix, r.fc.Dialect.Name, cfg.Seed)
	if err := r.fleet.Connect(ctx); err != nil {
		return nil, fmt.Errorf("cannot connect the fleet: %w", err)
	}
	rc, lateStart, stopMetrics, err := r.runConfig()
	if err != nil {
		return nil, err
	}
	defer stopMetrics()
	runner, err := load.NewRunner(rc)
	if err != nil {
		return nil, &ConfigError{err}
	}
	r.runner = runner
	rep := runner.Run(ctx)
	r.fleet.CancelPending()
	return r.result(rep, lateStart), nil
}

func (r *run) status(format string, a ...any) {
	if r.cfg.Status != nil {
		fmt.Fprintf(r.cfg.Status, format, a...)
	}
}

func (r *run) close() {
	if r.fleet != nil {
		r.fleet.Close()
	}
	if r.h != nil {
		r.h.Close()
	}
}

// setup builds the faults, the embedded host and the fleet.
func (r *run) setup() error {
	cfg := r.cfg
	if len(cfg.Faults) > 0 {
		var err error
		if r.rs, err = fault.New(cfg.Faults, fault.Options{Seed: uint64(cfg.Seed), Dialect: r.fc.Dialect}); err != nil {
			return bad("--fault: %v", err)
		}
	}
	if r.fc.Target == "" {
		hc := host.Config{Listen: "127.0.0.1:0", Dialect: r.fc.Dialect, Match: r.fc.Match, Rules: cfg.HostRules,
			MaxConns: max(1000, r.fc.Terminals), Security: cfg.HostSec, TLS: cfg.HostTLS, Faults: r.rs}
		h, err := host.New(hc)
		if err != nil {
			return &ConfigError{err}
		}
		if err := h.Start(); err != nil {
			return err
		}
		r.h = h
		r.fc.Target = h.Addr().String()
	} else if rs := r.rs; rs != nil {
		r.fc.Interceptor = rs.Interceptor(fault.Terminal)
		r.fc.WrapConn = func(c net.Conn) net.Conn { return rs.WrapConn(c, fault.Terminal) }
	}
	if cfg.Capture != nil {
		next, capture := r.fc.WrapConn, cfg.Capture
		r.fc.WrapConn = func(c net.Conn) net.Conn { // the capture sits on the socket, under the faults
			c = capture(c)
			if next != nil {
				c = next(c)
			}
			return c
		}
	}
	if cfg.Observe != nil {
		r.fc.Observer = cfg.Observe(r.fc.Target, r.fc.Observer)
	}
	fleet, err := terminal.NewFleet(r.fc)
	if err != nil {
		return &ConfigError{err}
	}
	r.fleet = fleet
	r.fc = fleet.Config()
	r.where = r.describeTarget()
	return nil
}

func (r *run) describeTarget() string {
	if r.h == nil {
		where := r.fc.Target
		if r.fc.Security != nil {
			where += " (" + r.fc.Security.String() + ")"
		}
		return where
	}
	rules := "built-in rules"
	if r.cfg.HostRules != nil {
		rules = "--host-rules"
	}
	mac := "no MAC"
	if r.cfg.HostSec != nil {
		mac = r.cfg.HostSec.String()
	}
	return "embedded host " + r.fc.Target + " (" + rules + ", " + mac + ")"
}

// runConfig completes the runner's config: the fleet as its target, the
// live status, the start time, the HDR log and the metrics endpoint.
func (r *run) runConfig() (rc load.RunConfig, lateStart time.Duration, stop func(), err error) {
	rc = r.cfg.Run
	rc.Target = r.fleet
	rc.Status = r.cfg.Status
	stop = func() {}
	if !rc.Start.IsZero() {
		if d := time.Until(rc.Start); d < 0 {
			lateStart = -d
			rc.Start = time.Time{}
		} else {
			r.status("possim simulate: connected; waiting %s for --start-at %s\n", d.Round(time.Millisecond), rc.Start.UTC().Format(time.RFC3339Nano))
		}
	}
	if r.cfg.HDRLog != nil {
		if rc.Start.IsZero() {
			rc.Start = time.Now()
		}
		if rc.HDRLog, err = load.NewHDRLog(r.cfg.HDRLog, rc.Start); err != nil {
			return rc, 0, stop, fmt.Errorf("--hdr-log: %w", err)
		}
	}
	if r.cfg.Metrics == "" {
		return rc, lateStart, stop, nil
	}
	m := metrics.NewLoad()
	srv, err := metrics.Serve(r.cfg.Metrics, m.Registry)
	if err != nil {
		return rc, 0, stop, bad("--metrics: %v", err)
	}
	r.status("possim simulate: metrics on http://%s/metrics\n", srv.Addr())
	m.SetLinks(r.fc.Links, r.fleet.Stats().LinksUp)
	rc.OnWindow = func(w *load.Window) {
		m.Window(w)
		m.SetInFlight(r.runner.InFlight())
		st := r.fleet.Stats()
		m.SetLinks(st.Links, st.LinksUp)
		if r.rs != nil {
			m.SetFaults(r.faultCounts())
		}
	}
	return rc, lateStart, func() { srv.Close() }, nil
}

func (r *run) faultCounts() map[string]int64 {
	f := map[string]int64{}
	for _, s := range r.rs.Stats() {
		f[s.Label] += int64(s.Fired)
	}
	return f
}

// result completes the runner's report with what the fleet and the host
// saw, and evaluates the thresholds.
func (r *run) result(rep *load.Report, lateStart time.Duration) *Result {
	rep.Seed = r.cfg.Seed
	if lateStart > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("--start-at was %s in the past when the fleet was connected: started at once", lateStart.Round(time.Millisecond)))
	}
	if r.rs != nil {
		rep.Faults = r.faultCounts()
	}
	extra := r.fleetNotes(rep)
	if r.h != nil {
		r.hostNotes(rep, &extra)
	}
	res := &Result{Report: rep, Extra: extra, CheckErr: rep.Check()}
	for _, th := range r.cfg.Thresholds {
		ok, actual := th.Eval(rep)
		res.Thresholds = append(res.Thresholds, ThresholdResult{Threshold: th.String(), OK: ok, Actual: actual})
		if !ok {
			res.Failed++
		}
	}
	return res
}

func (r *run) fleetNotes(rep *load.Report) Extra {
	fc, st := r.fc, r.fleet.Stats()
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
	extra := Extra{
		Segment: r.cfg.Segment, TIDFirst: fc.TIDOffset + 1,
		Target: r.where, Terminals: fc.Terminals, Links: fc.Links, Mix: fc.Mix.String(), Dialect: fc.Dialect.Name,
		Reconnects: st.Reconnects, FramesOut: st.FramesOut, Writes: st.Writes, PendingReversals: st.PendingReversals,
		NotSentNoLink: st.NotSentNoLink, NonFinancialTimeouts: st.NonFinancialTimeouts, DuplicateResponses: int64(st.Duplicates),
		MAC: fc.Security.String(),
	}
	if st.Writes > 0 {
		extra.FramesPerWrite = float64(st.FramesOut) / float64(st.Writes)
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("%d terminals on %d links to %s (%s); %.1f frames per write; %d reconnects",
		fc.Terminals, fc.Links, r.where, fc.Dialect.Name, extra.FramesPerWrite, st.Reconnects))
	if st.PerTxConnections > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("per-tx: %d new connections, one per transaction (%.0f/s)", st.PerTxConnections, float64(st.PerTxConnections)/max(rep.Elapsed.Seconds(), 1e-9)))
	}
	if st.NonFinancialTimeouts > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d timed-out non-financial transactions (balance, echo) had nothing to reverse (counted as timed_out)", st.NonFinancialTimeouts))
	}
	if st.PendingReversals > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d reversals left in store-and-forward at the end", st.PendingReversals))
	}
	return extra
}

func (r *run) hostNotes(rep *load.Report, extra *Extra) {
	c := r.h.Ledger().Counts()
	extra.Host = &c
	// Answers the host decided that the fleet never read in time or
	// late: written after the run gave up and closed the links, lost
	// with a failed link, or dropped by a fault.
	rep.LateAfterDrain = max(int64(c.Approved+c.Declined)-rep.Outcomes.Answered()-rep.LateResponses, 0)
	rep.Notes = append(rep.Notes, fmt.Sprintf("host ledger: %d approved, %d declined, %d reversed, %d reversals received", c.Approved, c.Declined, c.Reversed, c.ReversalsReceived))
	if r.cfg.HostSec != nil {
		n := r.h.MACFailures()
		extra.HostMACFailures = &n
		rep.Notes = append(rep.Notes, fmt.Sprintf("host MAC failures: %d", n))
	}
}

// IsConfigError says whether err is a bad configuration.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// GCPercent and GCLimit are the collector settings of a load run (TuneGC).
const (
	GCPercent = 200
	GCLimit   = 2 << 30
)

// TuneGC sets the collector for a load run unless the user set GOGC or
// GOMEMLIMIT. The pipeline allocates ~8 KB per transaction over a small
// live heap (plus the host's ledger), so at GOGC=100 the collector runs
// every few tens of milliseconds. Measured over 30 s at 50 % of
// saturation (possim-bench --only tail, 2 cores, 2026-12-02): GOGC=200
// 31.7 µs CPU per transaction and p99 114 ms; GOGC=100 40.3 µs and
// GOGC=400 73.8 µs, both of which then fell behind the schedule (p99 in
// seconds); an earlier 60 s measurement also found GOGC=400 worst (p99
// 247 ms against 14.7 ms at GOGC=100). The 2 GiB soft limit brings the
// collector back to normal pace if the heap ever gets big.
func TuneGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(GCPercent)
		debug.SetMemoryLimit(GCLimit)
	}
}
