// Package bench measures possim's pipeline side by side with the baseline,
// in one process on one machine, over loopback TCP:
//
//   - saturation: the terminal fleet and the embedded host (no MAC, and
//     with X9.19 MACs) with a fixed number of transactions in flight and
//     every transaction due at once — transactions per second and CPU time
//     (user + system, both sides) per transaction;
//   - the baseline: the same request and the same answer through a
//     moov-io/iso8583-connection client and server at the same concurrency;
//   - the codec-bound ceiling: cores ÷ the CPU time of packing and
//     unpacking the request and the response (what both sides cannot
//     avoid doing with moov-io/iso8583);
//   - open-loop runs: rate accuracy at fractions of saturation, latency,
//     1 to 5 000 terminals at a fixed rate, and RSS over a long run.
//
// Every measurement is bounded in time. cmd/possim-bench prints the table;
// the Benchmark* functions in bench_test.go are the same measurements for
// `go test -bench -cpuprofile`.
package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/load"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/terminal"
)

// Dialect is the dialect every measurement uses.
func Dialect() *iso.Dialect {
	d, err := iso.Lookup("iso87ascii")
	if err != nil {
		panic(err)
	}
	return d
}

// CPUTime is the process's user + system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MachineBusy is the CPU time all processes on the machine have used since
// boot (user, nice, system, irq, softirq, steal from /proc/stat), 0 if
// unknown. Its growth minus CPUTime's during a run is what other processes
// took from the benchmark.
func MachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}

// meter measures one run: this process's CPU time, and what the other
// processes on the machine took meanwhile.
type meter struct {
	t0         time.Time
	own0, all0 time.Duration
}

func startMeter() meter { return meter{time.Now(), CPUTime(), MachineBusy()} }

// stop returns this process's CPU time and the share of the machine's CPUs
// the other processes used (0..1).
func (m meter) stop() (own time.Duration, others float64) {
	own = CPUTime() - m.own0
	other := MachineBusy() - m.all0 - own
	el := time.Since(m.t0)
	if el > 0 && other > 0 {
		others = other.Seconds() / el.Seconds() / float64(runtime.NumCPU())
	}
	return own, others
}

// RSS is the process's resident set size in bytes (Linux), 0 if unknown.
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Pipeline is an embedded host and a connected fleet.
type Pipeline struct {
	Host  *host.Host
	Fleet *terminal.Fleet
}

// PipelineConfig sizes a Pipeline.
type PipelineConfig struct {
	Terminals, Links int
	Mix              terminal.Mix
	Timeout          time.Duration
	// MAC turns on full authorization with MAC: host and fleet share
	// TestTMK, every terminal gets its own working keys at sign-on, and
	// every request and answer carries an X9.19 MAC (ISO 9797-1 alg 3,
	// padding method 1) in field 64.
	MAC bool
}

// TestTMK is the terminal master key of PipelineConfig.MAC (a test key).
const TestTMK = "0123456789ABCDEFFEDCBA9876543210"

// StartPipeline starts an embedded host on 127.0.0.1:0 and connects a
// fleet to it, as "possim simulate" does without --target.
func StartPipeline(pc PipelineConfig) (*Pipeline, error) {
	d := Dialect()
	hc := host.Config{Listen: "127.0.0.1:0", Dialect: d, MaxConns: max(1000, pc.Terminals+10)}
	fc := terminal.FleetConfig{Dialect: d, Terminals: max(1, pc.Terminals), Links: pc.Links, Mix: pc.Mix, SignOn: true}
	if pc.MAC {
		tmk, err := mac.ParseHexKey(TestTMK)
		if err != nil {
			return nil, err
		}
		hc.Security = &host.Security{TMK: tmk, Alg: mac.Alg3, Pad: mac.Pad1}
		fc.Security = &terminal.Security{TMK: tmk, Alg: mac.Alg3, Pad: mac.Pad1}
	}
	h, err := host.New(hc)
	if err != nil {
		return nil, err
	}
	if err := h.Start(); err != nil {
		return nil, err
	}
	if pc.Timeout == 0 {
		pc.Timeout = 10 * time.Second
	}
	fc.Target, fc.Timeout = h.Addr().String(), pc.Timeout
	f, err := terminal.NewFleet(fc)
	if err != nil {
		h.Close()
		return nil, err
	}
	if err := f.Connect(context.Background()); err != nil {
		h.Close()
		return nil, err
	}
	return &Pipeline{Host: h, Fleet: f}, nil
}

// Close stops the fleet and the host.
func (p *Pipeline) Close() {
	p.Fleet.Close()
	p.Host.Close()
}

// burstPacer makes n transactions all due at the start: with a bound on
// the transactions in flight, the runner then runs closed-loop at that
// concurrency — a saturation measurement, not a latency one.
type burstPacer uint64

func (p burstPacer) Due(i uint64) (time.Duration, bool) { return 0, i < uint64(p) }

// Sat is a saturation measurement.
type Sat struct {
	Concurrency, Links int
	Transactions       int64
	Elapsed            time.Duration
	CPU                time.Duration
	FramesPerWrite     float64
	Errors             int64   // not approved
	Others             float64 // share of the machine's CPUs other processes used meanwhile
}

// TPS is transactions per second.
func (s Sat) TPS() float64 { return float64(s.Transactions) / s.Elapsed.Seconds() }

// CPUPerTx is CPU time per transaction, both sides.
func (s Sat) CPUPerTx() time.Duration {
	if s.Transactions == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Transactions)
}

// RunSaturation sends n transactions with conc in flight through p.
func RunSaturation(p *Pipeline, n int64, conc int) Sat {
	before := p.Fleet.Stats()
	r, _ := load.NewRunner(load.RunConfig{Pacer: burstPacer(n), Target: p.Fleet, MaxInFlight: conc})
	runtime.GC()
	m, t0 := startMeter(), time.Now()
	rep := r.Run(context.Background())
	el := time.Since(t0)
	cpu, others := m.stop()
	after := p.Fleet.Stats()
	s := Sat{Concurrency: conc, Links: p.Fleet.Links(), Transactions: rep.Outcomes[load.Approved], Elapsed: el, CPU: cpu,
		Errors: rep.Requests - rep.Outcomes[load.Approved], Others: others}
	if w := after.Writes - before.Writes; w > 0 {
		s.FramesPerWrite = float64(after.FramesOut-before.FramesOut) / float64(w)
	}
	return s
}

// Saturation measures the pipeline for about d: a short calibration run,
// then one sized to last d.
func Saturation(pc PipelineConfig, conc int, d time.Duration) (Sat, error) {
	p, err := StartPipeline(pc)
	if err != nil {
		return Sat{}, err
	}
	defer p.Close()
	cal := RunSaturation(p, 20000, conc)
	n := int64(cal.TPS() * d.Seconds())
	return RunSaturation(p, max(n, 1000), conc), nil
}

// Open is an open-loop measurement at a fixed rate.
type Open struct {
	Offered, Achieved float64
	Terminals, Links  int
	Latency, Service  load.LatencyStats
	SendLag           load.LatencyStats
	Late              int64
	Errors            int64
	CPUPerTx          time.Duration
	Others            float64 // share of the machine's CPUs other processes used meanwhile
	Report            *load.Report
}

// AccuracyPct is (achieved / offered − 1) in percent.
func (o Open) AccuracyPct() float64 { return 100 * (o.Achieved/o.Offered - 1) }

// RunOpen runs rate/s for d against p, open loop.
func RunOpen(p *Pipeline, rate float64, d time.Duration) Open {
	return RunOpenWith(p, rate, d, false)
}

// RunOpenWith is RunOpen with the pacer on Go timers (goTimers) or on
// its precise sleep (the default).
func RunOpenWith(p *Pipeline, rate float64, d time.Duration, goTimers bool) Open {
	r, _ := load.NewRunner(load.RunConfig{Pacer: load.ConstantPacer{Rate: rate, Duration: d}, Target: p.Fleet, MaxInFlight: 100000, GoTimers: goTimers})
	runtime.GC()
	m := startMeter()
	rep := r.Run(context.Background())
	cpu, others := m.stop()
	o := Open{Offered: rep.OfferedRate, Achieved: rep.Throughput, Terminals: len(p.Fleet.Terminals()), Links: p.Fleet.Links(),
		Latency: rep.Latency, Service: rep.ServiceTime, SendLag: rep.SendLag, Late: rep.LateSends, Errors: rep.Outcomes.Errors(), Report: rep, Others: others}
	if n := rep.Outcomes.Answered(); n > 0 {
		o.CPUPerTx = cpu / time.Duration(n)
	}
	return o
}

// OpenRun starts a pipeline, runs rate/s for d, and stops it.
func OpenRun(pc PipelineConfig, rate float64, d time.Duration) (Open, error) {
	p, err := StartPipeline(pc)
	if err != nil {
		return Open{}, err
	}
	defer p.Close()
	// Warm up (connections, pools, the first GC cycles) before measuring.
	RunOpen(p, rate, min(d/5, time.Second))
	return RunOpen(p, rate, d), nil
}

// PacerRun starts a pipeline and runs rate/s for d with the precise pacer
// and with Go timers, interleaved on the same pipeline (after a warm-up):
// the send lag, the gap between the two latency clocks and the CPU per
// transaction of each.
func PacerRun(rate float64, d time.Duration) (precise, goTimers Open, err error) {
	p, err := StartPipeline(PipelineConfig{Terminals: 100})
	if err != nil {
		return Open{}, Open{}, err
	}
	defer p.Close()
	RunOpen(p, rate, min(d/5, time.Second))
	precise = RunOpenWith(p, rate, d, false)
	goTimers = RunOpenWith(p, rate, d, true)
	return precise, goTimers, nil
}

// Messages returns the request the fleet sends (a purchase) and the answer
// the host gives to it, captured from a real round trip.
func Messages() (req, resp *iso8583.Message, err error) {
	p, err := StartPipeline(PipelineConfig{Terminals: 1, Links: 1})
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	var mu sync.Mutex
	got := make(chan struct{})
	d := Dialect()
	// A second link to the same host, from which we can see both messages.
	term, err := terminal.New(terminal.Config{Target: p.Host.Addr().String(), Dialect: d, TID: "SIM00001", STANStart: 500000,
		Observer: func(e link.Event) {
			mu.Lock()
			defer mu.Unlock()
			switch e.Kind {
			case link.EvSent:
				if req == nil {
					req = e.Msg
				}
			case link.EvReceived:
				if resp == nil {
					resp = e.Msg
					close(got)
				}
			}
		}})
	if err != nil {
		return nil, nil, err
	}
	if err := term.Connect(context.Background()); err != nil {
		return nil, nil, err
	}
	defer term.Close()
	o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1000})
	if o.Class != terminal.Approved {
		return nil, nil, fmt.Errorf("capture round trip: %s", o)
	}
	<-got
	mu.Lock()
	defer mu.Unlock()
	return req, resp, nil
}

// Codec is the codec-bound ceiling.
type Codec struct {
	PackReq, UnpackReq, PackResp, UnpackResp   time.Duration // per message
	ReqFields, RespFields, ReqBytes, RespBytes int
	Cores                                      int
}

// Total is the codec work of one transaction, both sides.
func (c Codec) Total() time.Duration { return c.PackReq + c.UnpackReq + c.PackResp + c.UnpackResp }

// Ceiling is cores ÷ Total, transactions per second.
func (c Codec) Ceiling() float64 { return float64(c.Cores) / c.Total().Seconds() }

// MeasureCodec times moov-io/iso8583 pack and unpack of the request and the
// response, one goroutine (time per operation ≈ CPU time per operation).
func MeasureCodec(req, resp *iso8583.Message) (Codec, error) {
	d := Dialect()
	rb, err := req.Pack()
	if err != nil {
		return Codec{}, err
	}
	sb, err := resp.Pack()
	if err != nil {
		return Codec{}, err
	}
	c := Codec{Cores: runtime.GOMAXPROCS(0), ReqFields: len(req.GetFields()), RespFields: len(resp.GetFields()),
		ReqBytes: len(rb), RespBytes: len(sb)}
	c.PackReq = perOp(func() { _, _ = req.Pack() })
	c.UnpackReq = perOp(func() { _, _ = d.Unpack(rb) })
	c.PackResp = perOp(func() { _, _ = resp.Pack() })
	c.UnpackResp = perOp(func() { _, _ = d.Unpack(sb) })
	return c, nil
}

// perOp is the mean time of one call of f, timed in doubling batches until
// a batch lasts 500 ms (the way testing.Benchmark settles, without
// importing testing into a program).
func perOp(f func()) time.Duration {
	f() // warm caches and pools
	for n := 1; ; n *= 2 {
		start := time.Now()
		for range n {
			f()
		}
		if el := time.Since(start); el >= 500*time.Millisecond || n >= 1<<30 {
			return el / time.Duration(n)
		}
	}
}

// RSSRun is a long run's memory.
type RSSRun struct {
	Rate           float64
	Duration       time.Duration
	Samples        []int64 // RSS every Every
	Every          time.Duration
	Report         *load.Report
	HostStored     int
	FirstMin, Last int64
}

// GrowthPct is (last / RSS after the first minute − 1) in percent.
func (r RSSRun) GrowthPct() float64 {
	if r.FirstMin == 0 {
		return 0
	}
	return 100 * (float64(r.Last)/float64(r.FirstMin) - 1)
}

// LongRun runs rate/s for d and samples the RSS every 10 s.
func LongRun(pc PipelineConfig, rate float64, d time.Duration, progress func(string)) (RSSRun, error) {
	p, err := StartPipeline(pc)
	if err != nil {
		return RSSRun{}, err
	}
	defer p.Close()
	out := RSSRun{Rate: rate, Duration: d, Every: 10 * time.Second}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(out.Every)
		defer t.Stop()
		start := time.Now()
		for range t.C {
			if stop.Load() {
				return
			}
			rss := RSS()
			out.Samples = append(out.Samples, rss)
			if progress != nil {
				progress(fmt.Sprintf("%6s RSS %s", time.Since(start).Round(time.Second), MiB(rss)))
			}
		}
	}()
	o := RunOpen(p, rate, d)
	stop.Store(true)
	wg.Wait()
	out.Report = o.Report
	out.HostStored = p.Host.Ledger().Counts().Stored
	if n := len(out.Samples); n > 0 {
		idx := min(n-1, int(time.Minute/out.Every)-1)
		out.FirstMin, out.Last = out.Samples[idx], out.Samples[n-1]
	}
	return out, nil
}

// MiB formats bytes as MiB.
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Tail is a long open-loop run with what the collector and the memory did.
type Tail struct {
	Open           Open
	WorstSecondP99 time.Duration
	MaxRSS         int64
	GCCycles       uint32
	FaultsPerSec   float64 // minor + major page faults of the process
	HostStored     int
}

// pageFaults is the process's minor + major page faults so far (Linux).
func pageFaults() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s) // f[0] is field 3 (state); minflt is field 10, majflt 12
	if len(f) < 10 {
		return 0
	}
	minf, _ := strconv.ParseInt(f[7], 10, 64)
	majf, _ := strconv.ParseInt(f[9], 10, 64)
	return minf + majf
}

// TailRun starts a pipeline, warms it up and runs rate/s for d, sampling
// the RSS every second.
func TailRun(pc PipelineConfig, rate float64, d time.Duration) (Tail, error) {
	p, err := StartPipeline(pc)
	if err != nil {
		return Tail{}, err
	}
	defer p.Close()
	RunOpen(p, rate, time.Second)
	var t Tail
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for range tk.C {
			if stop.Load() {
				return
			}
			t.MaxRSS = max(t.MaxRSS, RSS())
		}
	}()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	pf0, t0 := pageFaults(), time.Now()
	t.Open = RunOpen(p, rate, d)
	el := time.Since(t0)
	runtime.ReadMemStats(&ms1)
	stop.Store(true)
	wg.Wait()
	t.GCCycles = ms1.NumGC - ms0.NumGC
	t.FaultsPerSec = float64(pageFaults()-pf0) / el.Seconds()
	for _, pt := range t.Open.Report.Series {
		if pt.Latency.Count > 0 {
			t.WorstSecondP99 = max(t.WorstSecondP99, pt.Latency.P99)
		}
	}
	t.HostStored = p.Host.Ledger().Counts().Stored
	return t, nil
}
