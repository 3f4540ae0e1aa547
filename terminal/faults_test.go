package terminal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/testkit/hostkit"
	"github.com/possim/possim/terminal"
)

func hostWithFaults(t *testing.T, specs ...string) (*host.Host, *fault.RuleSet) {
	t.Helper()
	rs := hostkit.FaultsSeeded(t, ascii, 7, specs...)
	return hostkit.Start(t, host.Config{Dialect: ascii, Faults: rs}), rs
}

// A host crash: links drop, connects are refused while it is down, and the
// terminal's Run loop reconnects and signs on again when it is back.
func TestHostCrashThenRecovery(t *testing.T) {
	h, _ := hostWithFaults(t)
	var signons atomic.Int32
	term := newTerm(t, h.Addr().String(), func(c *terminal.Config) {
		c.ReconnectBackoff = 20 * time.Millisecond
		c.Observer = func(e link.Event) {
			if e.Kind == link.EvSent && e.Msg != nil {
				if v, _ := e.Msg.GetString(70); v == "001" {
					signons.Add(1)
				}
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { term.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return term.Link() != nil && signons.Load() == 1 })
	if err := h.Crash(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return term.Link() == nil })
	refused := newTerm(t, h.Addr().String(), nil)
	if err := refused.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), "connect refused") {
		t.Fatalf("while down: %v", err)
	}
	waitFor(t, func() bool { return h.Up() && term.Link() != nil && signons.Load() == 2 })
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100}); o.Class != terminal.Approved {
		t.Fatalf("after recovery: %s", o)
	}
}

func TestUnsolicitedEchoIsAnswered(t *testing.T) {
	h, rs := hostWithFaults(t, "unsolicited:code=301,after=100ms,count=1")
	term := newTerm(t, h.Addr().String(), nil)
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return rs.TotalFired() == 1 })
	waitFor(t, func() bool {
		return hostkit.LastEvent(h, host.EventFault, "unsolicited 0800 301 sent on 1 links") != ""
	})
	// The terminal's 0810 matched the host's 0800: no unmatched, no error.
	for _, e := range h.EventLog() {
		if e.Kind == host.EventNetwork || strings.Contains(e.Text, "host 0800") || strings.Contains(e.Text, "unmatched") {
			t.Fatalf("host event: %s", e)
		}
	}
}

// A terminal that dies after sending: the host keeps an approved
// transaction that nobody reverses.
func TestTerminalDiesWithoutReversing(t *testing.T) {
	h := startHost(t, "")
	rs, _ := fault.Parse([]string{"die:mti=0200"}, fault.Options{Seed: 1, Dialect: ascii})
	term := newTerm(t, h.Addr().String(), func(c *terminal.Config) { c.Faults = rs })
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100})
	if o.Class != terminal.LinkFailed || o.Reversal != nil || term.PendingReversals() != 0 {
		t.Fatalf("got %s", o)
	}
	waitFor(t, func() bool { c := h.Ledger().Counts(); return c.Approved == 1 })
	if c := h.Ledger().Counts(); c.Reversed != 0 || c.ReversalsReceived != 0 {
		t.Fatalf("host ledger %+v", c)
	}
}

// The control API changes faults on a running host with no restart and no
// lost transaction.
func TestControlAPIOnRunningHost(t *testing.T) {
	h, rs := hostWithFaults(t)
	srv, addr, err := fault.ListenControl("127.0.0.1:0", "", rs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	term := newTerm(t, h.Addr().String(), nil)
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100}); o.Class != terminal.Approved {
		t.Fatalf("before: %s", o)
	}
	body, _ := json.Marshal(map[string]string{"spec": "rc:mti=0210,rc=96"})
	resp, err := http.Post("http://"+addr.String()+"/faults", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("add fault: %v %v", err, resp)
	}
	resp.Body.Close()
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100}); o.RC != "96" {
		t.Fatalf("with fault: %s", o)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr.String()+"/faults/reset", nil)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("reset: %v %v", err, resp)
	}
	resp.Body.Close()
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100}); o.Class != terminal.Approved {
		t.Fatalf("after reset: %s", o)
	}
	c := h.Ledger().Counts()
	if c.Approved+c.Declined != 3 || len(h.Links()) != 1 {
		t.Fatalf("lost something: %+v, %d links", c, len(h.Links()))
	}
}
