package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/possim/possim/internal/bench"
)

// perTxRows is the per-transaction connection table: simulate
// --connection per-tx against the embedded host at rising rates (target:
// 3 000 new connections/s on 2 cores).
func perTxRows(w io.Writer, step time.Duration) int {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "per-tx connections\toffered/s\tachieved/s\tnew conns/s\tp50\tp99\terrors\tCPU/tx\tother load")
	for _, rate := range []float64{1000, 3000, 4000} {
		r, err := bench.PerTxRun(100, rate, step)
		if err != nil {
			fmt.Fprintf(os.Stderr, "possim-bench: per-tx at %.0f/s: %v\n", rate, err)
			return 1
		}
		fmt.Fprintf(tw, "embedded host, 100 terminals\t%.0f\t%.0f\t%.0f\t%s\t%s\t%d\t%s\t%.0f%%\n", r.Offered, r.Achieved, r.ConnsPerSec,
			r.Latency.P50, r.Latency.P99, r.Errors, r.CPUPerTx, 100*r.Others)
	}
	tw.Flush()
	return 0
}
