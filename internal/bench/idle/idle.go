// Package idle measures what idle links cost a possim host: the host runs
// as its own process (so its RSS is its own), the benchmark holds N idle TCP
// connections to it and times a good terminal's purchase while they are
// held, during a flood of bogus connections, and watches the RSS come back
// after they close. It uses only the link and the dialect, not the
// terminal package, so that it measures the host alone.
package idle

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// Config of a run.
type Config struct {
	Bin      string   // the possim binary
	Counts   []int    // idle links to hold, in increasing order (0 first)
	Flood    int      // bogus connections in the flood
	HostArgs []string // extra flags for possim host
	Settle   time.Duration
	Recover  time.Duration // how long to watch RSS after the links close
	Logf     func(format string, a ...any)
}

// Row is one line of the table.
type Row struct {
	Links    int
	RSS      int64         // host RSS with the links held
	Purchase time.Duration // median connect + 0200/0210 on a fresh link, while held
	Max      time.Duration // slowest of the purchases
	Errors   int
}

// Result is the whole measurement.
type Result struct {
	Rows        []Row
	EmptyRSS    int64
	Flood       int
	FloodBuy    []time.Duration // purchases during the flood
	FloodErrors int
	FloodTook   time.Duration
	FloodCPU    time.Duration // the host's CPU time during the flood
	Recovered   time.Duration // time after the links closed until RSS was within 20 % of empty; 0 = not within Recover
	RSSAfter    int64         // RSS at the end of the watch
}

// Run starts the host and measures.
func Run(cfg Config) (*Result, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Second
	}
	if cfg.Recover <= 0 {
		cfg.Recover = 30 * time.Second
	}
	args := append([]string{"host", "--listen", "127.0.0.1:0"}, cfg.HostArgs...)
	cmd := exec.Command(cfg.Bin, args...)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr, err := listenAddr(out)
	if err != nil {
		return nil, err
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	pid := cmd.Process.Pid
	d, err := iso.Lookup("iso87ascii")
	if err != nil {
		return nil, err
	}
	res := &Result{Flood: cfg.Flood}
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	stan := 0
	buys := func(n int) (med, mx time.Duration, errs int) {
		var ts []time.Duration
		for range n {
			stan++
			t, err := purchase(addr, d, stan)
			if err != nil {
				errs++
				logf("purchase: %v", err)
				continue
			}
			ts = append(ts, t)
		}
		if len(ts) == 0 {
			return 0, 0, errs
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		return ts[len(ts)/2], ts[len(ts)-1], errs
	}
	buys(3) // warm up
	echo, err := echoFrame(d)
	if err != nil {
		return nil, err
	}
	for _, n := range cfg.Counts {
		logf("holding %d idle links", n)
		for len(held) < n {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return nil, fmt.Errorf("idle link %d: %w", len(held)+1, err)
			}
			// An idle terminal has said something (an echo test) and then
			// nothing: its answer waits unread in the socket.
			if _, err := c.Write(echo); err != nil {
				return nil, fmt.Errorf("idle link %d: %w", len(held)+1, err)
			}
			held = append(held, c)
		}
		// A purchase on a link opened after the idle ones is served only
		// once the host accepted them all (one listener, FIFO backlog).
		buys(1)
		time.Sleep(cfg.Settle)
		rss, err := RSSOf(pid)
		if err != nil {
			return nil, err
		}
		med, mx, errs := buys(5)
		res.Rows = append(res.Rows, Row{Links: n, RSS: rss, Purchase: med, Max: mx, Errors: errs})
		if n == 0 {
			res.EmptyRSS = rss
		}
		if alive := aliveCount(held); alive != len(held) {
			logf("%d of %d idle links were closed by the host", len(held)-alive, len(held))
		}
	}
	if res.EmptyRSS == 0 && len(res.Rows) > 0 {
		res.EmptyRSS = res.Rows[0].RSS
	}
	// Close them and watch the RSS come back.
	for _, c := range held {
		c.Close()
	}
	held = nil
	logf("links closed; watching RSS for %s", cfg.Recover)
	closed := time.Now()
	for time.Since(closed) < cfg.Recover {
		time.Sleep(time.Second)
		rss, err := RSSOf(pid)
		if err != nil {
			return nil, err
		}
		res.RSSAfter = rss
		if float64(rss) <= 1.2*float64(res.EmptyRSS) {
			res.Recovered = time.Since(closed)
			break
		}
	}
	if cfg.Flood > 0 {
		logf("flood of %d bogus connections", cfg.Flood)
		c0, _ := CPUOf(pid)
		res.FloodBuy, res.FloodErrors, res.FloodTook = flood(addr, d, cfg.Flood, &stan, logf)
		time.Sleep(200 * time.Millisecond) // the last closures
		c1, _ := CPUOf(pid)
		res.FloodCPU = c1 - c0
	}
	return res, nil
}

// flood opens n connections at once, each sending a bogus length header
// (and then nothing), and buys while they arrive.
func flood(addr string, d *iso.Dialect, n int, stan *int, logf func(string, ...any)) ([]time.Duration, int, time.Duration) {
	var wg sync.WaitGroup
	start := time.Now()
	gate := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = c.Write([]byte{0xFF, 0xFF, 'G', 'E', 'T', ' '})
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, _ = io.Copy(io.Discard, c) // until the host closes it
		}()
	}
	close(gate)
	var ts []time.Duration
	errs := 0
	for range 5 {
		*stan++
		t, err := purchase(addr, d, *stan)
		if err != nil {
			errs++
			logf("purchase during flood: %v", err)
			continue
		}
		ts = append(ts, t)
	}
	wg.Wait()
	return ts, errs, time.Since(start)
}

func aliveCount(cs []net.Conn) int {
	n := 0
	buf := make([]byte, 1)
	for _, c := range cs {
		_ = c.SetReadDeadline(time.Now().Add(time.Microsecond))
		_, err := c.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			n++
		}
		_ = c.SetReadDeadline(time.Time{})
	}
	return n
}

// purchase dials, sends a 0200 for an approved test card and waits for
// the 0210: what a terminal that dials per transaction sees.
func purchase(addr string, d *iso.Dialect, stan int) (time.Duration, error) {
	t0 := time.Now()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	l := link.New(nc, link.Config{Dialect: d}).Start()
	defer l.Close()
	m := d.NewMessage()
	m.MTI("0200")
	now := time.Now()
	for id, v := range map[int]string{2: "4111111111111111", 3: "000000", 4: "000000001000",
		7: now.UTC().Format("0102150405"), 11: fmt.Sprintf("%06d", stan%1000000), 12: now.Format("150405"),
		13: now.Format("0102"), 22: "051", 25: "00", 41: "IDLEBNCH", 42: "MERCHANT0000001", 49: "978"} {
		if err := iso.Set(m, id, v); err != nil {
			return 0, err
		}
	}
	r := l.Call(m, 10*time.Second)
	if r.Err != nil {
		return 0, r.Err
	}
	if rc := iso.Get(r.Resp, 39); rc != "00" {
		return 0, fmt.Errorf("purchase answered RC %s", rc)
	}
	return time.Since(t0), nil
}

// echoFrame is a framed 0800 echo test.
func echoFrame(d *iso.Dialect) ([]byte, error) {
	m := d.NewMessage()
	m.MTI("0800")
	for id, v := range map[int]string{7: time.Now().UTC().Format("0102150405"), 11: "000001", 41: "IDLEBNCH", 70: "301"} {
		if err := iso.Set(m, id, v); err != nil {
			return nil, err
		}
	}
	b, err := m.Pack()
	if err != nil {
		return nil, err
	}
	return d.Framing.AppendFrame(nil, nil, b)
}

func listenAddr(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if _, rest, ok := strings.Cut(line, "listening on "); ok {
			addr, _, _ := strings.Cut(rest, " ")
			return addr, nil
		}
	}
	return "", errors.New("possim host ended before it said where it listens")
}

// CPUOf is a process's CPU time, user and system (Linux /proc).
func CPUOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0, errors.New("unexpected /proc stat")
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil // clock ticks of 10 ms (USER_HZ 100)
}

// RSSOf is a process's resident set size in bytes (Linux /proc).
func RSSOf(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}
