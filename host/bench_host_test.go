package host

import (
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/possim/possim/internal/link"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHostPurchase is purchases through a host link over loopback
// TCP, 64 in flight, with the field checks on and off: the difference is
// what the checks cost per transaction. CPU per transaction counts both
// ends (the client link and the host) in this one process.
//
//	go test -run '^$' -bench HostPurchase -benchtime 50000x ./host/
func BenchmarkHostPurchase(b *testing.B) {
	for _, on := range []bool{true, false} {
		b.Run(fmt.Sprintf("checks=%v", on), func(b *testing.B) {
			fieldChecks = on
			defer func() { fieldChecks = true }()
			h, err := New(Config{Dialect: ascii, Listen: "127.0.0.1:0"})
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Start(); err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			nc, err := net.Dial("tcp", h.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			l := link.New(nc, link.Config{Dialect: ascii}).Start()
			defer l.Close()
			sem := make(chan struct{}, 64)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var failed int
			b.ResetTimer()
			c0, t0 := cpuTime(), time.Now()
			for i := range b.N {
				sem <- struct{}{}
				wg.Add(1)
				m := financial(b, "0200", fmt.Sprintf("%06d", i%1000000), "4761739001010010", "000000001000")
				l.Send(m, 10*time.Second, func(r link.Result) {
					if r.Err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
					<-sem
					wg.Done()
				})
			}
			wg.Wait()
			cpu, el := cpuTime()-c0, time.Since(t0)
			b.StopTimer()
			if failed > 0 {
				b.Fatalf("%d of %d failed", failed, b.N)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3, "cpu-µs/tx")
			b.ReportMetric(float64(b.N)/el.Seconds(), "tx/s")
		})
	}
}
