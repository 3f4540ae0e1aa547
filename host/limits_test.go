package host

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/internal/testkit"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// logBuf collects a host's log lines.
type logBuf struct{ testkit.SyncBuffer }

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func buy(t *testing.T, c net.Conn, stan string) *iso8583.Message {
	t.Helper()
	b, err := financial(t, "0200", stan, "4761739001010010", "1000").Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(frame(b)); err != nil {
		t.Fatal(err)
	}
	return readFrame(t, c)
}

// closed waits until the host closes c (EOF or reset) and fails after 10 s.
func closed(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, err := c.Read(make([]byte, 64))
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errors.New("still open after 10 s")
		}
		return nil
	}
}

// Each kind of malformed request a real acquirer rejects gets RC 30 (RC 12
// for a class the host does not serve), and the log names the field and
// the rule.
func TestMalformedRequestsGetRC30(t *testing.T) {
	var logs logBuf
	h := startHost(t, Config{Dialect: ascii, Logger: logs.logger()})
	c := rawConn(t, h)
	good := func(mti, stan string) *iso8583.Message {
		return financial(t, mti, stan, "4761739001010010", "000000001000")
	}
	cases := []struct {
		name       string
		msg        func(stan string) []byte
		rc, mti    string
		log1, log2 string
	}{
		{"letters in the amount", func(s string) []byte {
			m := good("0200", s)
			_ = iso.Set(m, 4, "ABCDEFGHIJKL")
			b, _ := m.Pack()
			return b
		}, "30", "0210", "field=4", `field 4: \"ABCDEFGHIJKL\" is not numeric`},
		{"negative amount", func(s string) []byte {
			m := good("0200", s)
			_ = iso.Set(m, 4, "-00000001000")
			b, _ := m.Pack()
			return b
		}, "30", "0210", "field=4", "is negative"},
		{"PAN with letters", func(s string) []byte {
			m := good("0200", s)
			_ = iso.Set(m, 2, "4761ABCD01010010")
			b, _ := m.Pack()
			return b
		}, "30", "0210", "field=2", "is not numeric"},
		{"PAN too short", func(s string) []byte {
			m := good("0200", s)
			_ = iso.Set(m, 2, "47617390010")
			b, _ := m.Pack()
			return b
		}, "30", "0210", "field=2", "is 11 digits: a PAN has 12 to 19"},
		{"letters in the STAN's neighbour (field 12)", func(s string) []byte {
			m := good("0200", s)
			_ = iso.Set(m, 12, "10150X")
			b, _ := m.Pack()
			return b
		}, "30", "0210", "field=12", "is not numeric"},
		{"bytes after the last field", func(s string) []byte {
			b, _ := good("0200", s).Pack()
			return append(b, "JUNK"...)
		}, "30", "0210", "rule=", "4 bytes after the last field"},
		{"MTI 9200", func(s string) []byte {
			b, _ := good("9200", s).Pack()
			return b
		}, "30", "9210", "mti=9200", "version 9 is not one this host serves"},
		{"MTI 1200", func(s string) []byte {
			b, _ := good("1200", s).Pack()
			return b
		}, "30", "1210", "mti=1200", "version 1 is not one this host serves"},
		{"class 3 (file update)", func(s string) []byte {
			b, _ := good("0300", s).Pack()
			return b
		}, "12", "0310", "request not served", "mti=0300"},
	}
	for i, tc := range cases {
		stan := fmt.Sprintf("%06d", 100+i)
		if _, err := c.Write(frame(tc.msg(stan))); err != nil {
			t.Fatal(err)
		}
		m := readFrame(t, c)
		mti, _ := m.GetMTI()
		if iso.Get(m, 39) != tc.rc || mti != tc.mti || iso.Get(m, 11) != stan {
			t.Errorf("%s: want %s RC %s for STAN %s, got %s", tc.name, tc.mti, tc.rc, stan, iso.Summary(m))
		}
		var line string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "stan="+stan) {
				line = l
			}
		}
		if !strings.Contains(line, tc.log1) || !strings.Contains(line, tc.log2) {
			t.Errorf("%s: log line does not name %q and %q: %s", tc.name, tc.log1, tc.log2, line)
		}
	}
	if strings.Contains(logs.String(), "4761ABCD01010010") {
		t.Error("the log shows a full PAN")
	}
	// The link is still up and a good purchase is approved.
	if m := buy(t, c, "000999"); iso.Get(m, 39) != "00" {
		t.Fatalf("good purchase after the bad ones: %s", iso.Summary(m))
	}
	if n := h.Ledger().Counts().Approved; n != 1 {
		t.Fatalf("the ledger approved %d transactions, want only the good one", n)
	}
}

// At the limit, a new connection evicts the link idle longest, and the
// eviction is logged.
func TestEvictsIdlestLinkAtLimit(t *testing.T) {
	var logs logBuf
	h := startHost(t, Config{Dialect: ascii, MaxConns: 2, Logger: logs.logger()})
	old := rawConn(t, h)
	waitFor(t, func() bool { return len(h.Links()) == 1 })
	recent := rawConn(t, h)
	if m := buy(t, recent, "000001"); iso.Get(m, 39) != "00" {
		t.Fatal(iso.Summary(m))
	}
	late := rawConn(t, h)
	if m := buy(t, late, "000002"); iso.Get(m, 39) != "00" {
		t.Fatalf("the new terminal is locked out: %s", iso.Summary(m))
	}
	if err := closed(old); err != nil {
		t.Fatalf("the idlest link: %v", err)
	}
	if m := buy(t, recent, "000003"); iso.Get(m, 39) != "00" {
		t.Fatalf("a link used more recently was evicted: %s", iso.Summary(m))
	}
	// The counter and the log line follow the close the peer saw.
	waitFor(t, func() bool { return strings.Contains(logs.String(), "link evicted") })
	if h.Evicted() != 1 || h.Refused() != 0 {
		t.Fatalf("evicted %d refused %d", h.Evicted(), h.Refused())
	}
}

// A link with a transaction in flight is never evicted: when every link is
// busy, the new connection is refused, logged and counted.
func TestRefusesWhenEveryLinkIsBusy(t *testing.T) {
	var logs logBuf
	rules, err := ParseRules("t.yaml", []byte("rules:\n  - name: slow\n    match: {pan: \"4761739001010010\"}\n    respond: {rc: \"00\", delay: 800ms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := startHost(t, Config{Dialect: ascii, MaxConns: 1, Rules: rules, Logger: logs.logger()})
	busy := rawConn(t, h)
	b, _ := financial(t, "0200", "000001", "4761739001010010", "1000").Pack()
	if _, err := busy.Write(frame(b)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.Ledger().Counts().Approved == 1 }) // decided, answer delayed
	other := rawConn(t, h)
	if err := closed(other); err != nil {
		t.Fatalf("the new connection: %v", err)
	}
	if m := readFrame(t, busy); iso.Get(m, 39) != "00" {
		t.Fatalf("the busy link's answer: %s", iso.Summary(m))
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "connection refused") })
	if h.Refused() != 1 || h.Evicted() != 0 {
		t.Fatalf("refused %d evicted %d", h.Refused(), h.Evicted())
	}
	if !strings.Contains(logs.String(), "every link busy") {
		t.Fatalf("the refusal's log line does not say why:\n%s", logs.String())
	}
}

func dialMany(t *testing.T, h *Host, n int) []net.Conn {
	t.Helper()
	cs := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", h.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	t.Cleanup(func() {
		for _, c := range cs {
			c.Close()
		}
	})
	return cs
}

// 1 000 idle connections do not lock a terminal out: with the default
// limit they are all held, with a small one the idlest are evicted.
func TestThousandIdleLinksDoNotLockOut(t *testing.T) {
	t.Run("default limit", func(t *testing.T) {
		h := startHost(t, Config{Dialect: ascii})
		dialMany(t, h, 1000)
		waitFor(t, func() bool { return len(h.Links()) == 1000 })
		if m := buy(t, rawConn(t, h), "000001"); iso.Get(m, 39) != "00" {
			t.Fatal(iso.Summary(m))
		}
		if h.Evicted() != 0 || h.Refused() != 0 {
			t.Fatalf("evicted %d refused %d under the default limit", h.Evicted(), h.Refused())
		}
	})
	t.Run("limit 100", func(t *testing.T) {
		h := startHost(t, Config{Dialect: ascii, MaxConns: 100})
		dialMany(t, h, 1000)
		waitFor(t, func() bool { return h.Evicted() == 900 })
		if m := buy(t, rawConn(t, h), "000001"); iso.Get(m, 39) != "00" {
			t.Fatal(iso.Summary(m))
		}
		if h.Refused() != 0 {
			t.Fatalf("refused %d", h.Refused())
		}
	})
}

// 1 000 peers that drip a frame one byte at a time are all closed by the
// frame timeout, although each byte would have renewed an idle deadline.
func TestSlowlorisPeersClosedByFrameTimeout(t *testing.T) {
	const peers = 1000
	h := startHost(t, Config{Dialect: ascii, FrameTimeout: 300 * time.Millisecond, FirstFrameTimeout: time.Hour, IdleTimeout: time.Hour})
	cs := dialMany(t, h, peers)
	var wg sync.WaitGroup
	errs := make(chan error, peers)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A 0200 of 200 bytes, one byte every 50 ms: it would take
			// 10 s to complete.
			drip := append([]byte{0, 200}, bytes.Repeat([]byte("0"), 200)...)
			done := make(chan error, 1)
			go func() { done <- closed(c) }()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for _, b := range drip {
				select {
				case err := <-done:
					if err != nil {
						errs <- err
					}
					return
				case <-tick.C:
					if _, err := c.Write([]byte{b}); err != nil {
						if err := <-done; err != nil {
							errs <- err
						}
						return
					}
				}
			}
			errs <- errors.New("the whole frame was dripped and the link is still open")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(h.Links()) == 0 })
	if lastEvent(h, EventLink, "frame timeout") == "" {
		t.Fatalf("events do not say why:\n%s", strings.Join(h.Events(), "\n"))
	}
}

// A connection that says nothing is closed by the first-frame timeout.
func TestFirstFrameTimeout(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii, FirstFrameTimeout: 150 * time.Millisecond})
	c := rawConn(t, h)
	if err := closed(c); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return lastEvent(h, EventLink, "first-frame timeout") != "" })
	// A terminal that talks at once is not affected.
	if m := buy(t, rawConn(t, h), "000001"); iso.Get(m, 39) != "00" {
		t.Fatal(iso.Summary(m))
	}
}

// A flood of bad frames does not flood the log: at most logBurst lines a
// second, and the next line says how many were held back.
func TestBadMessageWarningsAreLimited(t *testing.T) {
	var l logLimit
	now := time.Unix(1000, 0)
	for i := range logBurst {
		if _, ok := l.allow(now); !ok {
			t.Fatalf("line %d held back", i+1)
		}
	}
	for range 5 {
		if _, ok := l.allow(now); ok {
			t.Fatal("a line over the burst was let through")
		}
	}
	if n, ok := l.allow(now.Add(time.Second)); !ok || n != 5 {
		t.Fatalf("next second: %d %v", n, ok)
	}
}
