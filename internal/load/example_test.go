package load_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/possim/possim/internal/load"
)

// A whole run against a fake host: two workers share an open-loop
// schedule; every 10th transaction is declined, hit 150 times out. The
// status printer is driven by an injected tick so that the example is
// deterministic; in a real run it ticks every second while the workers run.
func Example() {
	pacer, err := load.ParseStages("0s:100,1s:300,2s:300")
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Unix(1_700_000_000, 0)
	recs := []*load.Recorder{load.NewRecorder(start), load.NewRecorder(start)}
	coll := load.NewCollector(start, recs...)

	var wg sync.WaitGroup
	for w, rec := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(w); ; i += uint64(len(recs)) {
				due, ok := pacer.Due(i)
				if !ok {
					return
				}
				r := load.Result{Intended: due, Sent: due, Done: due + 2*time.Millisecond,
					Outcome: load.Approved, RC: load.MakeRC("00"), TxType: "purchase"}
				switch {
				case i == 150:
					r.Outcome, r.RC, r.Done = load.TimedOutReversed, load.RC{}, due+5*time.Second
				case i%10 == 9:
					r.Outcome, r.RC = load.Declined, load.MakeRC("51")
				}
				rec.Record(r)
			}
		}()
	}
	wg.Wait()

	var status bytes.Buffer
	ticks := make(chan time.Time)
	printed := make(chan struct{})
	p := &load.StatusPrinter{
		Out:   &status,
		Ticks: ticks,
		Source: func(now time.Time) load.Status {
			defer close(printed)
			elapsed := now.Sub(start)
			return load.Status{Elapsed: elapsed, Offered: pacer.RateAt(elapsed), Window: coll.Collect(now), Totals: coll.Totals()}
		},
	}
	stop := p.Start(context.Background())
	ticks <- start.Add(1500 * time.Millisecond)
	<-printed
	stop()
	fmt.Print(status.String())

	rep := load.NewReport(load.Merge(recs...), pacer.Duration(), 7*time.Second)
	fmt.Println("check:", rep.Check())
	fmt.Println("requests:", rep.Requests, "outcomes:", rep.Outcomes)
	for _, s := range []string{"p99<10ms", "p99.9<10ms", "approved_rate>0.85", "timeout_rate<1%"} {
		th, _ := load.ParseThreshold(s)
		ok, actual := th.Eval(rep)
		fmt.Printf("%-20s ok=%-5v actual=%s\n", th, ok, actual)
	}
	// Output:
	// [    1s] offered 300/s  achieved 333/s  in flight 0  p50 2ms  p99 2ms  timeouts 1 (1)  errors 1 (1)  late 0 (0)
	// check: <nil>
	// requests: 500 outcomes: [449 50 1 0 0 0 0 0]
	// p99<10ms             ok=true  actual=2ms
	// p99.9<10ms           ok=false actual=5s
	// approved_rate>0.85   ok=true  actual=0.898
	// timeout_rate<1%      ok=true  actual=0.002
}
