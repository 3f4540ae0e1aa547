package studio

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

func testMsg(t testing.TB, mti, stan string) *iso8583.Message {
	d, _ := iso.Lookup("iso87ascii")
	m := d.NewMessage()
	m.MTI(mti)
	for id, v := range map[int]string{2: "4761739001010010", 3: "000000", 4: "1000", 11: stan, 41: "POSSIM01"} {
		if err := iso.Set(m, id, v); err != nil {
			t.Fatal(err)
		}
	}
	if mti == "0210" {
		_ = iso.Set(m, 39, "00")
	}
	return m
}

// TestHubStaysBounded feeds the model far more messages than it keeps,
// one in fifty never answered: rows, kept messages, messages in flight
// and pending requests stay bounded, so the server's memory does not grow
// with the length of a stream.
func TestHubStaysBounded(t *testing.T) {
	h := newHub([]string{LaneTerminal, LaneHost}, 500*time.Millisecond)
	h.setLane(LaneTerminal, "POSSIM01", nil)
	var reqs, resps [100]*iso8583.Message
	for i := range reqs {
		stan := fmt.Sprintf("%06d", i+1)
		reqs[i], resps[i] = testMsg(t, "0200", stan), testMsg(t, "0210", stan)
	}
	now := time.Now()
	const n = 50_000
	for i := range n {
		now = now.Add(time.Millisecond) // 1 000 transactions/s of message time
		q, r := reqs[i%100], resps[i%100]
		h.Wire(LaneTerminal, link.Event{Kind: link.EvSent, Time: now, Msg: q}, true)
		h.Wire(LaneHost, link.Event{Kind: link.EvReceived, Time: now, Msg: q}, true)
		if i%50 == 0 {
			h.FaultFired(LaneHost, "drop", "lost", "0210", iso.Get(r, 11), "POSSIM01", "", now)
		} else {
			h.Wire(LaneHost, link.Event{Kind: link.EvSent, Time: now, Msg: r}, true)
			h.Wire(LaneTerminal, link.Event{Kind: link.EvReceived, Time: now, Msg: r}, true)
		}
		if i%1000 == 0 {
			h.expire(now)
		}
	}
	h.expire(now.Add(time.Second))
	h.mu.Lock()
	defer h.mu.Unlock()
	inFlight := 0
	for _, q := range h.pending {
		inFlight += len(q)
	}
	if h.nextN-h.oldestN > int64(len(h.rows)) || inFlight != 0 || len(h.reqSent) > 200 || len(h.lastGot) > 2 {
		t.Fatalf("rows %d (kept %d), in flight %d, pending requests %d, last received %d", h.nextN-1, h.nextN-h.oldestN, inFlight, len(h.reqSent), len(h.lastGot))
	}
	lost := 0
	for n := h.oldestN; n < h.nextN; n++ {
		if r := h.row(n); r != nil && r.State == StateLost {
			lost++
		}
	}
	if lost == 0 {
		t.Fatal("no lost message among the rows kept")
	}
}

// BenchmarkStudioStream runs the studio's 1 000 messages/s stream (500
// purchases/s, each a 0200 and a 0210) with a page's event stream attached,
// and reports the heap after a GC at the start and at the end:
//
//	POSSIM_STUDIO_BENCH_FOR=60s go test -run '^$' -bench StudioStream -benchtime 1x ./internal/studio/
func BenchmarkStudioStream(b *testing.B) {
	d := 10 * time.Second
	if s := os.Getenv("POSSIM_STUDIO_BENCH_FOR"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		sv, err := Start(Config{Listen: "127.0.0.1:0", Session: Options{Timeout: time.Second}})
		if err != nil {
			b.Fatal(err)
		}
		resp, err := http.Get("http://" + sv.Addr() + "/api/events")
		if err != nil {
			b.Fatal(err)
		}
		batches := 0
		go func() {
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 32<<20)
			for sc.Scan() {
				if len(sc.Bytes()) > 5 && string(sc.Bytes()[:5]) == "data:" {
					batches++
				}
			}
		}()
		time.Sleep(500 * time.Millisecond) // the link is up
		if err := sv.s.SetStream(500); err != nil {
			b.Fatal(err)
		}
		heap := func() float64 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return float64(ms.HeapInuse) / (1 << 20)
		}
		warm := min(d/4, 10*time.Second)
		time.Sleep(warm)
		first, m0 := heap(), sv.s.msgs.Load()
		t0 := time.Now()
		peak := first
		for time.Since(t0) < d-warm {
			time.Sleep(min(5*time.Second, d-warm-time.Since(t0)+time.Millisecond))
			peak = max(peak, heap())
		}
		last := heap()
		rate := float64(sv.s.msgs.Load()-m0) / time.Since(t0).Seconds()
		// The embedded host's ledger keeps every transaction up to its own
		// bound (host.DefaultLedgerMax): the part of the growth that is not
		// the studio's.
		b.Logf("the embedded host's ledger: %+v", sv.s.h.Ledger().Counts())
		_ = sv.s.SetStream(0)
		resp.Body.Close()
		_ = sv.Close()
		b.ReportMetric(first, "heap-MB-start")
		b.ReportMetric(last, "heap-MB-end")
		b.ReportMetric(peak, "heap-MB-peak")
		b.ReportMetric(rate, "msgs/s")
		b.Logf("%s at %.0f messages/s: heap %.1f MB after warm-up, %.1f MB peak, %.1f MB at the end; %d batches to the page", d, rate, first, peak, last, batches)
	}
}

// BenchmarkHubMemory feeds the studio's model alone (no host, no ledger)
// with 1 000 000 answered messages, one in fifty lost, and reports its
// heap after 100 000 and after 1 000 000: flat when the model is bounded.
func BenchmarkHubMemory(b *testing.B) {
	for range b.N {
		h := newHub([]string{LaneTerminal, LaneHost}, 500*time.Millisecond)
		h.setLane(LaneTerminal, "POSSIM01", nil)
		var reqs, resps [1000]*iso8583.Message
		for i := range reqs {
			stan := fmt.Sprintf("%06d", i+1)
			reqs[i], resps[i] = testMsg(b, "0200", stan), testMsg(b, "0210", stan)
		}
		heap := func() float64 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return float64(ms.HeapInuse) / (1 << 20)
		}
		now := time.Now()
		var at100k float64
		for i := range 500_000 { // two messages each
			now = now.Add(time.Millisecond)
			q, r := reqs[i%1000], resps[i%1000]
			h.Wire(LaneTerminal, link.Event{Kind: link.EvSent, Time: now, Msg: q}, true)
			h.Wire(LaneHost, link.Event{Kind: link.EvReceived, Time: now, Msg: q}, true)
			if i%50 == 0 {
				h.FaultFired(LaneHost, "drop", "lost", "0210", iso.Get(r, 11), "POSSIM01", "", now)
			} else {
				h.Wire(LaneHost, link.Event{Kind: link.EvSent, Time: now, Msg: r}, true)
				h.Wire(LaneTerminal, link.Event{Kind: link.EvReceived, Time: now, Msg: r}, true)
			}
			if i%1000 == 0 {
				h.expire(now)
			}
			if i == 50_000 {
				at100k = heap()
			}
		}
		end := heap()
		b.ReportMetric(at100k, "heap-MB-100k-msgs")
		b.ReportMetric(end, "heap-MB-1M-msgs")
	}
}
