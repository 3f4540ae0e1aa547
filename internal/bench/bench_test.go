package bench

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/possim/possim/terminal"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/possim/possim/internal/link.NewPool.func1"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// The measurements run, briefly, and make sense.
func TestMeasurementsSmoke(t *testing.T) {
	req, resp, err := Messages()
	if err != nil {
		t.Fatal(err)
	}
	if mti, _ := resp.GetMTI(); mti != "0210" {
		t.Fatalf("answer MTI %s", mti)
	}
	s, err := Saturation(PipelineConfig{Terminals: 10, Links: 2}, 32, 200*time.Millisecond)
	if err != nil || s.Errors != 0 || s.TPS() <= 0 || s.CPUPerTx() <= 0 {
		t.Fatalf("saturation %+v %v", s, err)
	}
	b, err := Baseline(req, 8, 1, 200*time.Millisecond)
	if err != nil || b.Errors != 0 || b.TPS() <= 0 {
		t.Fatalf("baseline %+v %v", b, err)
	}
	o, err := OpenRun(PipelineConfig{Terminals: 5, Links: 1}, 500, 300*time.Millisecond)
	if err != nil || o.Errors != 0 || o.Report.Requests != 150 {
		t.Fatalf("open %+v %v", o, err)
	}
}

// BenchmarkPipeline is one transaction through the fleet and the embedded
// host at saturation (128 in flight): profile it with
//
//	go test -run '^$' -bench Pipeline -benchtime 200000x -cpuprofile cpu.out ./internal/bench/
func BenchmarkPipeline(b *testing.B) {
	n := terminal.DefaultLinks(1 << 20)
	for _, pc := range []PipelineConfig{{Links: 1}, {Links: n}, {Links: n, MAC: true}} {
		name := linksName(pc.Links)
		if pc.MAC {
			name = "mac/" + name
		}
		pc.Terminals = 100
		b.Run(name, func(b *testing.B) {
			p, err := StartPipeline(pc)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			b.ReportAllocs()
			b.ResetTimer()
			s := RunSaturation(p, int64(b.N), 128)
			b.ReportMetric(s.TPS(), "tx/s")
			b.ReportMetric(float64(s.CPUPerTx().Nanoseconds())/1e3, "cpu-µs/tx")
			if s.Errors != 0 {
				b.Fatalf("%d errors", s.Errors)
			}
		})
	}
}

// BenchmarkBaseline is the same exchange through iso8583-connection.
func BenchmarkBaseline(b *testing.B) {
	req, _, err := Messages()
	if err != nil {
		b.Fatal(err)
	}
	s, err := Baseline(req, 128, 1, 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(s.TPS(), "tx/s")
	b.ReportMetric(float64(s.CPUPerTx().Nanoseconds())/1e3, "cpu-µs/tx")
}

func linksName(n int) string { return "links=" + strconv.Itoa(n) }

// BenchmarkInflight is terminal↔host round trips over loopback at 1, 32 and
// 256 in flight, possim's pipeline and iso8583-connection side by side in
// the same run, as round trips/s and allocations per round trip:
//
//	go test -run '^$' -bench Inflight -benchtime 20000x ./internal/bench/
func BenchmarkInflight(b *testing.B) {
	req, _, err := Messages()
	if err != nil {
		b.Fatal(err)
	}
	for _, conc := range []int{1, 32, 256} {
		b.Run("possim/inflight="+strconv.Itoa(conc), func(b *testing.B) {
			p, err := StartPipeline(PipelineConfig{Terminals: 100, Links: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			m0 := mallocs()
			b.ResetTimer()
			s := RunSaturation(p, int64(b.N), conc)
			b.StopTimer()
			report(b, s, m0)
		})
		b.Run("iso8583-connection/inflight="+strconv.Itoa(conc), func(b *testing.B) {
			m0 := mallocs()
			s, err := Baseline(req, conc, 1, time.Second)
			if err != nil {
				b.Fatal(err)
			}
			report(b, s, m0)
		})
	}
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

func report(b *testing.B, s Sat, m0 uint64) {
	b.ReportMetric(s.TPS(), "rt/s")
	if s.Transactions > 0 {
		b.ReportMetric(float64(mallocs()-m0)/float64(s.Transactions), "allocs/rt")
		b.ReportMetric(float64(s.CPUPerTx().Nanoseconds())/1e3, "cpu-µs/rt")
	}
}

// BenchmarkPacer1000 is an open-loop run at 1 000/s for profiling the
// pacer (go test -bench Pacer1000 -cpuprofile).
func BenchmarkPacer1000(b *testing.B) {
	p, err := StartPipeline(PipelineConfig{Terminals: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	goTimers := os.Getenv("PACER") == "go"
	for b.Loop() {
		o := RunOpenWith(p, 1000, 3*time.Second, goTimers)
		b.ReportMetric(float64(o.CPUPerTx.Microseconds()), "cpu-µs/tx")
		b.ReportMetric(float64(o.SendLag.P99.Microseconds()), "lag-p99-µs")
	}
}

// BenchmarkLinks1000 is 1 000 terminals on 1 000 links at 5 000/s, for
// profiling what a link costs (go test -bench Links1000 -cpuprofile
// -memprofile).
func BenchmarkLinks1000(b *testing.B) {
	p, err := StartPipeline(PipelineConfig{Terminals: 1000, Links: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for b.Loop() {
		o := RunOpen(p, 5000, 3*time.Second)
		b.ReportMetric(float64(o.CPUPerTx.Microseconds()), "cpu-µs/tx")
		b.ReportMetric(float64(o.Latency.P99.Microseconds()), "p99-µs")
		b.ReportMetric(float64(RSS())/(1<<20), "rss-MiB")
	}
}
