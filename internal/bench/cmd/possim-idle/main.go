// Command possim-idle prints what idle links cost a possim host: RSS with
// 0 / 1 000 / 5 000 / 10 000 idle TCP links held, a good terminal's
// purchase time while they are held and during a flood of bogus
// connections, and how soon the RSS comes back after they close. The host
// runs as its own process, built from this tree.
//
//	go run ./internal/bench/cmd/possim-idle
//	go run ./internal/bench/cmd/possim-idle --links 0,1000 --flood 500
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/possim/possim/internal/bench/idle"
)

func main() {
	links := flag.String("links", "0,1000,5000,10000", "idle link counts to hold, increasing")
	floodN := flag.Int("flood", 2000, "bogus connections in the flood")
	bin := flag.String("bin", "", "possim binary (default: build this tree's)")
	hostArgs := flag.String("host-args", "--max-conns 10100", "extra flags for possim host (the default limit is 10 000: this keeps all 10 000 idle links and the purchase's link)")
	flag.Parse()
	os.Exit(run(*links, *floodN, *bin, *hostArgs))
}

func run(links string, floodN int, bin, hostArgs string) int {
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "· "+format+"\n", a...) }
	var counts []int
	for _, s := range strings.Split(links, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "possim-idle: --links %q: want counts like 0,1000,5000\n", links)
			return 2
		}
		counts = append(counts, n)
	}
	if bin == "" {
		dir, err := os.MkdirTemp("", "possim-idle")
		if err != nil {
			fmt.Fprintln(os.Stderr, "possim-idle:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "possim")
		logf("building possim")
		b := exec.Command("go", "build", "-o", bin, "./cmd/possim")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "possim-idle: build:", err)
			return 1
		}
	}
	res, err := idle.Run(idle.Config{Bin: bin, Counts: counts, Flood: floodN, HostArgs: strings.Fields(hostArgs), Logf: logf})
	if err != nil {
		fmt.Fprintln(os.Stderr, "possim-idle:", err)
		return 1
	}
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	fmt.Printf("Idle links held by possim host (%s; host in its own process, %d cores)\n\n", hostArgs, runtime.NumCPU())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "idle links\tRSS\tabove empty\tper link\tpurchase (median)\tpurchase (max)\terrors\t")
	for _, r := range res.Rows {
		per := "-"
		if r.Links > 0 {
			per = fmt.Sprintf("%.1f KiB", float64(r.RSS-res.EmptyRSS)/1024/float64(r.Links))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t\n", r.Links, mib(r.RSS), mib(r.RSS-res.EmptyRSS), per, ms(r.Purchase), ms(r.Max), r.Errors)
	}
	tw.Flush()
	fmt.Println()
	if res.Recovered > 0 {
		fmt.Printf("after the links closed: RSS within 20%% of empty after %s (%s)\n", res.Recovered.Round(time.Second), mib(res.RSSAfter))
	} else {
		fmt.Printf("after the links closed: RSS NOT within 20%% of empty within 30 s (%s, empty %s)\n", mib(res.RSSAfter), mib(res.EmptyRSS))
	}
	if res.Flood > 0 {
		var parts []string
		var worst time.Duration
		for _, t := range res.FloodBuy {
			parts = append(parts, ms(t))
			worst = max(worst, t)
		}
		fmt.Printf("during a flood of %d bogus connections (took %s, host CPU %s = %.0f µs each): purchases %s (worst %s), %d failed\n",
			res.Flood, res.FloodTook.Round(time.Millisecond), res.FloodCPU, float64(res.FloodCPU.Microseconds())/float64(res.Flood), strings.Join(parts, ", "), ms(worst), res.FloodErrors)
	}
	return 0
}
