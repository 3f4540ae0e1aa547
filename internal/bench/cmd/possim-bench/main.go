// Command possim-bench prints possim's benchmark table: the pipeline at
// saturation beside the moov-io/iso8583-connection baseline and the
// codec-bound ceiling, rate accuracy, latency at half load, 1 to 5 000
// terminals, and (with --long) RSS over a long run — in one run, on this
// machine, over loopback.
//
//	go run ./internal/bench/cmd/possim-bench            # ~1.5 min
//	go run ./internal/bench/cmd/possim-bench --long 10m # + the RSS run
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/possim/possim/internal/bench"
	"github.com/possim/possim/internal/sim"
	"github.com/possim/possim/terminal"
)

func main() {
	conc := flag.Int("concurrency", 128, "transactions in flight at saturation, for possim and the baseline")
	step := flag.Duration("step", 4*time.Second, "length of each measurement")
	reps := flag.Int("reps", 3, "repetitions of the saturation, baseline, codec and open-loop measurements (interleaved; the table shows medians)")
	long := flag.Duration("long", 0, "also run at 50% of saturation for this long and report RSS (e.g. 10m)")
	terms := flag.String("terminals", "1,100,1000,5000", "fleet sizes for the fixed-rate runs")
	only := flag.String("only", "", "run one section only: pacer (send lag at 100/1000/5000 tx/s), links (2..5000 links at 5000 tx/s, a process each), tail (p99 over --long, default 1m, at 50% under three GC settings)")
	linkRowLinks := flag.Int("link-row-links", 2, "links of one link row (internal: --only link-row)")
	linkRate := flag.Float64("link-row-rate", 5000, "rate of the link rows")
	tailRate := flag.Float64("tail-rate", 0, "rate of the tail rows (default: 50% of a saturation measured first)")
	tailFor := flag.Duration("tail", time.Minute, "length of the tail row of the full table (p99 at 50% of saturation, this GC setting); 0 leaves it out")
	flag.Parse()
	sim.TuneGC() // the same collector setting as "possim simulate"
	switch *only {
	case "pacer":
		os.Exit(pacerRows(os.Stdout, *step))
	case "tail":
		os.Exit(tailRows(os.Stdout, *step, *long, *tailRate))
	case "links":
		tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
		if err := linkTable(tw, *linkRate, *step); err != nil {
			fmt.Fprintf(os.Stderr, "possim-bench: %v\n", err)
			os.Exit(1)
		}
		tw.Flush()
		os.Exit(0)
	case "link-row":
		os.Exit(linkRowChild(os.Stdout, *linkRowLinks, *linkRate, *step))
	case "per-tx":
		os.Exit(perTxRows(os.Stdout, *step))
	case "":
	default:
		fmt.Fprintf(os.Stderr, "possim-bench: --only %q: want pacer, tail, links or per-tx\n", *only)
		os.Exit(2)
	}
	os.Exit(run(os.Stdout, *conc, max(1, *reps), *step, *long, *tailFor, *terms))
}

// series is repeated measurements of one thing.
type series[T any] struct {
	runs   []T
	key    func(T) float64
	others func(T) float64 // share of the machine other processes used during the run
}

func (s *series[T]) add(v T) { s.runs = append(s.runs, v) }

// quietShare is the most other processes may use of the machine during a
// run for it to count as undisturbed.
const quietShare = 0.05

// pick returns the runs the table uses: the undisturbed ones if there are
// any, else all of them.
func (s *series[T]) pick() []T {
	var q []T
	for _, v := range s.runs {
		if s.others == nil || s.others(v) <= quietShare {
			q = append(q, v)
		}
	}
	if len(q) == 0 {
		return s.runs
	}
	return q
}

// median returns the run with the median key among the picked runs.
func (s *series[T]) median() T {
	r := append([]T(nil), s.pick()...)
	sort.Slice(r, func(i, j int) bool { return s.key(r[i]) < s.key(r[j]) })
	return r[len(r)/2]
}

// spread is the range of the key over every run.
func (s *series[T]) spread() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range s.runs {
		lo, hi = min(lo, s.key(v)), max(hi, s.key(v))
	}
	return lo, hi
}

// quiet says how many runs were undisturbed.
func (s *series[T]) quiet() string {
	return fmt.Sprintf("%d/%d quiet", len(s.pick()), len(s.runs))
}

func run(w io.Writer, conc, reps int, step, long, tailFor time.Duration, terms string) int {
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "· "+format+"\n", a...) }
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "possim-bench: %s: %v\n", what, err)
		return 1
	}
	cores := runtime.GOMAXPROCS(0)
	links := terminal.DefaultLinks(1 << 20)
	began := time.Now()
	busy0, own0 := bench.MachineBusy(), bench.CPUTime()

	logf("capturing the request and answer of a real round trip")
	req, resp, err := bench.Messages()
	if err != nil {
		return fail("messages", err)
	}
	tps := func(s bench.Sat) float64 { return s.TPS() }
	satOthers := func(s bench.Sat) float64 { return s.Others }
	codecs := series[bench.Codec]{key: func(c bench.Codec) float64 { return float64(c.Total()) }}
	satL := series[bench.Sat]{key: tps, others: satOthers}
	sat1 := series[bench.Sat]{key: tps, others: satOthers}
	base1 := series[bench.Sat]{key: tps, others: satOthers}
	baseL := series[bench.Sat]{key: tps, others: satOthers}
	for r := range reps {
		logf("round %d/%d: codec, possim (%d links, 1 link), baseline (1, %d connections); %d in flight", r+1, reps, links, links, conc)
		c, err := bench.MeasureCodec(req, resp)
		if err != nil {
			return fail("codec", err)
		}
		codecs.add(c)
		s, err := bench.Saturation(bench.PipelineConfig{Terminals: 100, Links: links}, conc, step)
		if err != nil {
			return fail("saturation", err)
		}
		satL.add(s)
		if s, err = bench.Saturation(bench.PipelineConfig{Terminals: 100, Links: 1}, conc, step); err != nil {
			return fail("saturation 1 link", err)
		}
		sat1.add(s)
		if s, err = bench.Baseline(req, conc, 1, step); err != nil {
			return fail("baseline", err)
		}
		base1.add(s)
		if s, err = bench.Baseline(req, conc, links, step); err != nil {
			return fail("baseline", err)
		}
		baseL.add(s)
		logf("  codec %v; possim %.0f / %.0f tx/s; baseline %.0f / %.0f tx/s; others used %.0f%%/%.0f%%/%.0f%%/%.0f%% of the machine", c.Total(),
			satL.runs[r].TPS(), sat1.runs[r].TPS(), base1.runs[r].TPS(), baseL.runs[r].TPS(),
			100*satL.runs[r].Others, 100*sat1.runs[r].Others, 100*base1.runs[r].Others, 100*baseL.runs[r].Others)
	}
	// With MAC: one run (the MAC costs the same in every round; the no-MAC
	// rows are the ones compared with the baseline).
	logf("possim with MAC (X9.19, per-terminal working keys): %d links, %d in flight", links, conc)
	satMAC := series[bench.Sat]{key: tps, others: satOthers}
	if s, err := bench.Saturation(bench.PipelineConfig{Terminals: 100, Links: links, MAC: true}, conc, step); err != nil {
		return fail("saturation with MAC", err)
	} else {
		satMAC.add(s)
		logf("  possim with MAC %.0f tx/s, %v CPU/tx, %d not approved; others used %.0f%% of the machine", s.TPS(), s.CPUPerTx(), s.Errors, 100*s.Others)
	}
	codec := codecs.median()
	sat := satL.median()
	best := max(sat.TPS(), sat1.median().TPS())

	rates := []float64{0.10, 0.50, 0.80}
	opens := make([]series[bench.Open], len(rates))
	openOthers := func(o bench.Open) float64 { return o.Others }
	for i := range opens {
		opens[i].key = func(o bench.Open) float64 { return float64(o.Latency.P99) }
		opens[i].others = openOthers
	}
	for r := range reps {
		for i, f := range rates {
			rate := math.Round(sat.TPS()*f/100) * 100
			logf("open loop at %.0f%% of saturation: %.0f/s for %v (round %d/%d)", 100*f, rate, step, r+1, reps)
			o, err := bench.OpenRun(bench.PipelineConfig{Terminals: 100, Links: links}, rate, step)
			if err != nil {
				return fail("open loop", err)
			}
			opens[i].add(o)
			logf("  achieved %.1f/s, p99 %v, service p99 %v; others used %.0f%% of the machine", o.Achieved, o.Latency.P99, o.Service.P99, 100*o.Others)
		}
	}

	fixed := math.Round(sat.TPS()*0.25/100) * 100
	var fleet []bench.Open
	for _, s := range strings.Split(terms, ",") {
		var k int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &k); err != nil || k < 1 {
			return fail("--terminals", fmt.Errorf("bad size %q", s))
		}
		logf("%d terminals at %.0f/s", k, fixed)
		o, err := bench.OpenRun(bench.PipelineConfig{Terminals: k, Links: terminal.DefaultLinks(k)}, fixed, step)
		if err != nil {
			return fail("terminals", err)
		}
		fleet = append(fleet, o)
	}

	var tail *bench.Tail
	if tailFor > 0 {
		r := math.Round(sat.TPS()*0.5/100) * 100
		logf("tail: %.0f/s (50%% of saturation) for %v", r, tailFor)
		t, err := bench.TailRun(bench.PipelineConfig{Terminals: 100, Links: links}, r, tailFor)
		if err != nil {
			return fail("tail", err)
		}
		tail = &t
	}

	var rss *bench.RSSRun
	if long > 0 {
		r := math.Round(sat.TPS()*0.5/100) * 100
		logf("long run: %.0f/s for %v, RSS every 10 s", r, long)
		lr, err := bench.LongRun(bench.PipelineConfig{Terminals: 100, Links: links}, r, long, func(s string) { logf("%s", s) })
		if err != nil {
			return fail("long run", err)
		}
		rss = &lr
	}

	// The table.
	others := (bench.MachineBusy() - busy0) - (bench.CPUTime() - own0)
	fmt.Fprintf(w, "possim benchmark — %s, %s in all\n", began.Format("2006-01-02 15:04"), time.Since(began).Round(time.Second))
	fmt.Fprintf(w, "machine: %s, GOMAXPROCS %d (NumCPU %d), %s %s/%s\n", cpuModel(), cores, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "message: 0200 purchase, %d fields, %d bytes → 0210, %d fields, %d bytes; iso87ascii, 2-byte length header; NO MAC except in the 'with MAC (X9.19)' row: MAC in field 64 of request and answer, working keys per terminal from the sign-on\n",
		codec.ReqFields, codec.ReqBytes, codec.RespFields, codec.RespBytes)
	fmt.Fprintf(w, "everything in one process over loopback TCP: both ends share the CPUs; CPU/tx counts both sides; GC %s\n", gcSetting())
	fmt.Fprintf(w, "other processes on the machine used %.0f CPU-seconds meanwhile (%.0f%% of its %d CPUs): the noise in these numbers\n",
		others.Seconds(), 100*others.Seconds()/time.Since(began).Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	fmt.Fprintf(w, "medians of %d interleaved rounds, over the quiet ones (other processes under %.0f%% of the machine) when there are any; [min–max over all] in brackets\n\n", reps, 100*quietShare)

	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "measurement\tresult\ttarget\tstatus\n")
	fmt.Fprintf(tw, "-----------\t------\t------\t------\n")
	satRow := func(name string, s *series[bench.Sat], frames bool) {
		m := s.median()
		lo, hi := s.spread()
		fmt.Fprintf(tw, "%s\t%s tx/s [%s–%s; %s], %s CPU/tx", name, num(m.TPS()), num(lo), num(hi), s.quiet(), us(m.CPUPerTx()))
		if frames {
			fmt.Fprintf(tw, ", %.1f frames/write", m.FramesPerWrite)
		}
		fmt.Fprintf(tw, "\t\t\n")
	}
	satRow(fmt.Sprintf("possim simulate + embedded host, %d in flight, %d links", conc, links), &satL, true)
	satRow(fmt.Sprintf("possim simulate + embedded host, %d in flight, 1 link", conc), &sat1, true)
	satRow(fmt.Sprintf("possim simulate + embedded host, with MAC (X9.19), %d in flight, %d links (1 run)", conc, links), &satMAC, true)
	satRow(fmt.Sprintf("baseline iso8583-connection, %d in flight, 1 connection", conc), &base1, false)
	satRow(fmt.Sprintf("baseline iso8583-connection, %d in flight, %d connections", conc, links), &baseL, false)
	bestBase := max(base1.median().TPS(), baseL.median().TPS())
	fmt.Fprintf(tw, "saturation vs baseline (best vs best)\t%.2f×\t≥ 2.5×\t%s\n", best/bestBase, verdict(best/bestBase >= 2.5))
	macRatio := satMAC.median().TPS() / bestBase
	fmt.Fprintf(tw, "with MAC vs baseline without MAC\t%.2f×\t≥ 2×\t%s\n", macRatio, verdict(macRatio >= 2))
	cpuRatio := float64(min(base1.median().CPUPerTx(), baseL.median().CPUPerTx())) / float64(min(sat.CPUPerTx(), sat1.median().CPUPerTx()))
	fmt.Fprintf(tw, "CPU per tx, baseline ÷ possim (less sensitive to noise)\t%.2f×\t\t\n", cpuRatio)
	fmt.Fprintf(tw, "codec work per tx (pack+unpack req, pack+unpack resp)\t%s + %s + %s + %s = %s\t\t\n",
		us(codec.PackReq), us(codec.UnpackReq), us(codec.PackResp), us(codec.UnpackResp), us(codec.Total()))
	fmt.Fprintf(tw, "codec-bound ceiling (%d cores ÷ codec work)\t%s tx/s\t\t\n", codec.Cores, num(codec.Ceiling()))
	fmt.Fprintf(tw, "saturation / ceiling\t%.0f%%\t≥ 75%%\t%s\n", 100*best/codec.Ceiling(), verdict(best/codec.Ceiling() >= 0.75))
	for i, f := range rates {
		accs := series[bench.Open]{runs: opens[i].runs, key: func(o bench.Open) float64 { return o.AccuracyPct() }, others: openOthers}
		o := accs.median()
		lo, hi := accs.spread()
		ok := math.Abs(o.AccuracyPct()) <= 1
		fmt.Fprintf(tw, "rate accuracy at %.0f%% (%s/s offered)\t%s/s achieved (%+.2f%% [%+.2f%%–%+.2f%%; %s]), late %d\twithin 1%%\t%s\n",
			100*f, num(o.Offered), num(o.Achieved), o.AccuracyPct(), lo, hi, accs.quiet(), o.Late, verdict(ok))
	}
	h := opens[1].median()
	lo, hi := opens[1].spread()
	fmt.Fprintf(tw, "latency at 50%% (intended time)\tp50 %s, p99 %s [%s–%s; %s], p99.9 %s, max %s\tp99 ≤ 5 ms\t%s\n",
		ms(h.Latency.P50), ms(h.Latency.P99), ms(time.Duration(lo)), ms(time.Duration(hi)), opens[1].quiet(), ms(h.Latency.P999), ms(h.Latency.Max), verdict(h.Latency.P99 <= 5*time.Millisecond))
	fmt.Fprintf(tw, "service time at 50%% (write → answer)\tp50 %s, p99 %s, p99.9 %s; %s CPU/tx\t\t\n", ms(h.Service.P50), ms(h.Service.P99), ms(h.Service.P999), us(h.CPUPerTx))
	for _, o := range fleet {
		fmt.Fprintf(tw, "%d terminals / %d links at %s/s\t%s/s (%+.2f%%), p50 %s, p99 %s, %s CPU/tx, errors %d; others %.0f%%\t\t\n",
			o.Terminals, o.Links, num(o.Offered), num(o.Achieved), o.AccuracyPct(), ms(o.Latency.P50), ms(o.Latency.P99), us(o.CPUPerTx), o.Errors, 100*o.Others)
	}
	if err := pacerTable(tw, step); err != nil {
		return fail("pacer", err)
	}
	if err := linkTable(tw, 5000, step); err != nil {
		return fail("links", err)
	}
	if tail != nil {
		tailRow(tw, tailFor, gcSetting(), *tail)
	}
	if rss != nil {
		fmt.Fprintf(tw, "RSS over %v at %s/s\tafter 1 min %s, at end %s (%+.1f%%); host ledger holds %d entries\twithin 10%%\t%s\n",
			rss.Duration, num(rss.Rate), bench.MiB(rss.FirstMin), bench.MiB(rss.Last), rss.GrowthPct(), rss.HostStored, verdict(math.Abs(rss.GrowthPct()) <= 10))
	} else {
		fmt.Fprintf(tw, "RSS over a long run\tnot run (--long 10m)\twithin 10%%\t-\n")
	}
	tw.Flush()
	return 0
}

func gcSetting() string {
	if g := os.Getenv("GOGC"); g != "" {
		return "GOGC=" + g
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return "GOMEMLIMIT=" + os.Getenv("GOMEMLIMIT")
	}
	return fmt.Sprintf("GOGC=%d + %d GiB soft limit (as simulate)", sim.GCPercent, sim.GCLimit>>30)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

func num(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

// pacerRates are the rates of the pacer rows (issue 14: send lag p50 ≤
// 100 µs, p99 ≤ 1 ms, intended p50 within 150 µs of service p50, at ≤ 50 %
// of saturation).
var pacerRates = []float64{100, 1000, 5000}

// pacerTable measures the pacer at each rate, precise sleep and Go timers
// interleaved on one pipeline, and writes the rows to tw.
func pacerTable(tw io.Writer, step time.Duration) error {
	for _, rate := range pacerRates {
		fmt.Fprintf(os.Stderr, "· pacer at %.0f/s for %v: precise sleep, then Go timers\n", rate, step)
		p, g, err := bench.PacerRun(rate, step)
		if err != nil {
			return err
		}
		for _, o := range []struct {
			name string
			o    bench.Open
			want bool
		}{{"precise (clock_nanosleep)", p, true}, {"Go timers (for comparison)", g, false}} {
			lag, gap := o.o.SendLag, o.o.Latency.P50-o.o.Service.P50
			ok := lag.P50 <= 100*time.Microsecond && lag.P99 <= time.Millisecond && gap <= 150*time.Microsecond
			status := "-"
			if o.want {
				status = verdict(ok)
			}
			fmt.Fprintf(tw, "pacer %s at %s/s\tsend lag p50 %s, p99 %s; latency p50 %s vs service p50 %s (gap %s); %s CPU/tx; others %.0f%%\tlag p50 ≤ 100 µs, p99 ≤ 1 ms, gap ≤ 150 µs\t%s\n",
				o.name, num(rate), us(lag.P50), us(lag.P99), us(o.o.Latency.P50), us(o.o.Service.P50), us(gap), us(o.o.CPUPerTx), 100*o.o.Others, status)
		}
	}
	return nil
}

func pacerRows(w io.Writer, step time.Duration) int {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "measurement\tresult\ttarget\tstatus\n")
	if err := pacerTable(tw, step); err != nil {
		fmt.Fprintf(os.Stderr, "possim-bench: pacer: %v\n", err)
		return 1
	}
	tw.Flush()
	return 0
}

// gcSettings are the collector settings the tail rows compare.
var gcSettings = []struct {
	name    string
	percent int
	limit   int64
}{
	{"GOGC=100", 100, math.MaxInt64},
	{"GOGC=200", 200, math.MaxInt64},
	{"GOGC=200 + 2 GiB limit (simulate's)", 200, 2 << 30},
	{"GOGC=400 + 2 GiB limit", 400, 2 << 30},
}

// tailRows measures the long-run tail at 50 % of saturation under each
// collector setting, one fresh pipeline each (issue 14: the p99 of a 60 s
// run was ~50× that of a 10 s run while the host's ledger filled).
func tailRows(w io.Writer, step, long time.Duration, rate float64) int {
	if long <= 0 {
		long = time.Minute
	}
	satTPS := 2 * rate
	if rate <= 0 {
		sat, err := bench.Saturation(bench.PipelineConfig{Terminals: 100, Links: terminal.DefaultLinks(1 << 20)}, 128, step)
		if err != nil {
			fmt.Fprintf(os.Stderr, "possim-bench: %v\n", err)
			return 1
		}
		satTPS = sat.TPS()
		rate = math.Round(sat.TPS()*0.5/100) * 100
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "measurement\tresult\ttarget\tstatus\n")
	for _, g := range gcSettings {
		debug.SetGCPercent(g.percent)
		debug.SetMemoryLimit(g.limit)
		fmt.Fprintf(os.Stderr, "· %s: %.0f/s (50%% of %.0f) for %v\n", g.name, rate, satTPS, long)
		t, err := bench.TailRun(bench.PipelineConfig{Terminals: 100, Links: terminal.DefaultLinks(1 << 20)}, rate, long)
		if err != nil {
			fmt.Fprintf(os.Stderr, "possim-bench: %v\n", err)
			return 1
		}
		tailRow(tw, long, g.name, t)
	}
	tw.Flush()
	return 0
}

// tailRow writes one tail row: the latency over a long run at 50 %.
func tailRow(tw io.Writer, d time.Duration, gc string, t bench.Tail) {
	fmt.Fprintf(tw, "tail over %v at 50%% (%s/s), %s\tp50 %s, p99 %s, p99.9 %s; worst second p99 %s; %s CPU/tx; RSS max %s; %d GC cycles; %.0f page faults/s; host ledger %d entries; others %.0f%%\tp99 ≤ 5 ms\t%s\n",
		d, num(t.Open.Offered), gc, ms(t.Open.Latency.P50), ms(t.Open.Latency.P99), ms(t.Open.Latency.P999), ms(t.WorstSecondP99),
		us(t.Open.CPUPerTx), bench.MiB(t.MaxRSS), t.GCCycles, t.FaultsPerSec, t.HostStored, 100*t.Open.Others, verdict(t.Open.Latency.P99 <= 5*time.Millisecond))
}

// linkCounts are the link rows (issue 14 item 3: what a link costs; each
// terminal has its own link, as stand-alone POS terminals do).
var linkCounts = []int{2, 16, 256, 1000, 5000}

// linkRow is one link row, measured in a process of its own so that its
// RSS is its own.
type linkRow struct {
	Links    int     `json:"links"`
	Achieved float64 `json:"achieved"`
	P50      int64   `json:"p50_us"`
	P99      int64   `json:"p99_us"`
	CPUPerTx int64   `json:"cpu_ns_per_tx"`
	RSS      int64   `json:"rss"`
	Errors   int64   `json:"errors"`
	Others   float64 `json:"others"`
	Err      string  `json:"error,omitempty"`
}

// linkRowChild measures one row and prints it as JSON (--only link-row).
func linkRowChild(w io.Writer, links int, rate float64, step time.Duration) int {
	row := linkRow{Links: links}
	o, err := bench.OpenRun(bench.PipelineConfig{Terminals: links, Links: links}, rate, step)
	if err != nil {
		row.Err = err.Error()
	} else {
		row.Achieved, row.P50, row.P99 = o.Achieved, o.Latency.P50.Microseconds(), o.Latency.P99.Microseconds()
		row.CPUPerTx, row.Errors, row.Others = int64(o.CPUPerTx), o.Errors, o.Others
	}
	row.RSS = bench.RSS()
	_ = json.NewEncoder(w).Encode(row)
	return 0
}

// linkTable runs each link row as a child process and writes the rows.
func linkTable(tw io.Writer, rate float64, step time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var base *linkRow
	for _, n := range linkCounts {
		fmt.Fprintf(os.Stderr, "· %d links (one terminal each) at %.0f/s, own process\n", n, rate)
		cmd := exec.Command(self, "--only", "link-row", "--link-row-links", fmt.Sprint(n), "--link-row-rate", fmt.Sprint(rate), "--step", step.String())
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		var row linkRow
		if err == nil {
			err = json.Unmarshal(out, &row)
		}
		if err != nil || row.Err != "" {
			fmt.Fprintf(tw, "%d links at %s/s\tfailed: %v %s\tp99 ≤ 5 ms, CPU ≤ 1.5× the 2-link row, RSS ≤ 250 MB (1 000 links)\tNOT MET\n", n, num(rate), err, row.Err)
			continue
		}
		if base == nil {
			base = &row
		}
		ratio := float64(row.CPUPerTx) / float64(base.CPUPerTx)
		status := "-"
		if n == 1000 {
			status = verdict(row.P99 <= 5000 && ratio <= 1.5 && row.RSS <= 250e6)
		}
		fmt.Fprintf(tw, "%d links (1 terminal each) at %s/s\t%s/s, p50 %s, p99 %s, %s CPU/tx (%.2f× 2 links), RSS %s, errors %d; others %.0f%%\tp99 ≤ 5 ms, CPU ≤ 1.5× the 2-link row, RSS ≤ 250 MB (1 000 links)\t%s\n",
			n, num(rate), num(row.Achieved), ms(time.Duration(row.P50)*time.Microsecond), ms(time.Duration(row.P99)*time.Microsecond),
			us(time.Duration(row.CPUPerTx)), ratio, bench.MiB(row.RSS), row.Errors, 100*row.Others, status)
	}
	return nil
}
