package terminal_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/testkit/hostkit"

	"github.com/possim/possim/internal/testkit"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"
	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/terminal"
)

func TestMain(m *testing.M) {
	testkit.VerifyMain(m, testkit.IgnoreMoovReader, testkit.IgnoreBackoffSleep)
}

var ascii, _ = iso.Lookup("iso87ascii")

const slowRules = `
rules:
  - name: slow issuer
    match: {amount: "77777..77777"}
    respond: {rc: "00", delay: 2s}
default: {rc: "00"}
`

func startHost(t *testing.T, rules string) *host.Host {
	t.Helper()
	cfg := host.Config{Dialect: ascii}
	if rules != "" {
		cfg.Rules = hostkit.Rules(t, rules, true) // the test cards stay available
	}
	return hostkit.Start(t, cfg)
}

func newTerm(t *testing.T, addr string, mod func(*terminal.Config)) *terminal.Terminal {
	t.Helper()
	cfg := terminal.Config{Target: addr, Dialect: ascii, TID: "TERM0001", Timeout: 2 * time.Second,
		SignOnAtConnect: true, ReversalBackoff: 50 * time.Millisecond, ConnectAttempts: 1}
	if mod != nil {
		mod(&cfg)
	}
	term, err := terminal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	return term
}

func TestAgainstOurHost(t *testing.T) {
	h := startHost(t, "")
	term := newTerm(t, h.Addr().String(), nil)
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	ok := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1234})
	if ok.Class != terminal.Approved || ok.AuthCode == "" || ok.RRN == "" || ok.STAN != "000002" {
		t.Fatalf("purchase: %s", ok)
	}
	no := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1234, Card: terminal.Card{PAN: "4000000000000002", Expiry: "2812"}})
	if no.Class != terminal.Declined || no.RC != "51" || no.RCMeaning != "insufficient funds" {
		t.Fatalf("decline: %s", no)
	}
	if e := term.Do(terminal.Tx{Kind: terminal.Echo}); e.Class != terminal.Approved {
		t.Fatalf("echo: %s", e)
	}
	if strings.Contains(no.String(), "4000000000000002") {
		t.Fatal("outcome prints a full PAN")
	}
	c := h.Ledger().Counts()
	if c.Approved != 1 || c.Declined != 1 {
		t.Fatalf("host ledger %+v", c)
	}
}

func TestTimeoutReversesAndHostAgrees(t *testing.T) {
	h := startHost(t, slowRules)
	term := newTerm(t, h.Addr().String(), func(c *terminal.Config) { c.Timeout = 200 * time.Millisecond })
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 77777})
	if o.Class != terminal.Reversed || o.Reversal == nil || !o.Reversal.Acked || o.Reversal.Attempts != 1 {
		t.Fatalf("want reversed, got %s", o)
	}
	if !strings.Contains(o.Why(), "response timeout") {
		t.Fatalf("why: %q", o.Why())
	}
	if c := h.Ledger().Counts(); c.Reversed != 1 {
		t.Fatalf("host ledger %+v", c)
	}
}

func TestConnectRefusedIsClassified(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	term := newTerm(t, addr, nil)
	err := term.Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connect refused") {
		t.Fatalf("got %v", err)
	}
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1}); o.Class != terminal.NotSent {
		t.Fatalf("got %s", o)
	}
}

// The link dies with a purchase in flight: the outcome is link failed, the
// reversal is stored, and after the reconnect it is sent and acknowledged.
func TestLinkDropThenStoredReversal(t *testing.T) {
	h := startHost(t, slowRules)
	term := newTerm(t, h.Addr().String(), nil)
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := make(chan terminal.Outcome, 1)
	term.Begin(terminal.Tx{Kind: terminal.Purchase, Amount: 77777}, func(o terminal.Outcome) { res <- o })
	waitFor(t, func() bool { return h.Ledger().Counts().Approved == 1 })
	h.DropLinks()
	o := <-res
	if o.Class != terminal.LinkFailed || o.Reversal == nil || !o.Reversal.Pending || term.PendingReversals() != 1 {
		t.Fatalf("got %s (pending %d)", o, term.PendingReversals())
	}
	waitFor(t, func() bool { return term.Link() == nil })
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if term.PendingReversals() != 0 || !o.Reversal.Acked {
		t.Fatalf("stored reversal not sent: pending %d, %+v", term.PendingReversals(), o.Reversal)
	}
	if c := h.Ledger().Counts(); c.Reversed != 1 {
		t.Fatalf("host ledger %+v", c)
	}
}

func waitFor(t *testing.T, cond func() bool) { t.Helper(); testkit.WaitFor(t, cond) }

// Interop: our terminal against a host built with iso8583-connection's
// server package.
func TestAgainstMoovServer(t *testing.T) {
	handler := func(c *connection.Connection, m *iso8583.Message) {
		mti, _ := m.GetMTI()
		resp := ascii.NewMessage()
		rmti, _ := iso.ResponseMTI(mti)
		resp.MTI(rmti)
		for _, id := range []int{3, 4, 7, 11, 41, 70} {
			if v := iso.Get(m, id); v != "" {
				_ = iso.Set(resp, id, v)
			}
		}
		_ = iso.Set(resp, 39, "00")
		if mti[1] != '8' {
			_ = iso.Set(resp, 38, "A1B2C3") // a POS takes no approval without its code
		}
		_ = c.Reply(resp)
	}
	srv := server.New(ascii.Spec, testkit.ReadLen, testkit.WriteLen, connection.InboundMessageHandler(handler))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	term := newTerm(t, srv.Addr, nil)
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 500}); o.Class != terminal.Approved {
			t.Fatalf("purchase against moov server: %s", o)
		}
	}
	term.Close()
}

// readSeen tells when its connection's first read has failed.
type readSeen struct {
	net.Conn
	failed chan struct{}
	once   sync.Once
}

func (c *readSeen) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.once.Do(func() { close(c.failed) })
	}
	return n, err
}

// holdAtLinkUp is a log handler that, at "link up" (logged between the
// link's start and the sign-on), waits until the link has failed: the
// sign-on then always finds the link dead, the order a TLS 1.3 alert or
// a reset can take on a busy machine.
type holdAtLinkUp struct {
	slog.Handler
	wait func()
}

func (holdAtLinkUp) Enabled(context.Context, slog.Level) bool { return true }

func (h holdAtLinkUp) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "link up" {
		h.wait()
	}
	return nil
}

// A host that resets the link at once, before the sign-on is written: the
// terminal names the reset, not "no link".
func TestLinkDiedBeforeSignOnNamesTheFailure(t *testing.T) {
	addr := testkit.Peer(t, func(c net.Conn) {
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close() // an RST, not a FIN
	})
	seen := &readSeen{failed: make(chan struct{})}
	var term *terminal.Terminal
	wait := func() {
		<-seen.failed
		for deadline := time.Now().Add(5 * time.Second); term.Link() != nil && time.Now().Before(deadline); {
			runtime.Gosched() // the link's read loop is closing it
		}
	}
	term = newTerm(t, addr, func(c *terminal.Config) {
		c.WrapConn = func(nc net.Conn) net.Conn { seen.Conn = nc; return seen }
		c.Logger = slog.New(holdAtLinkUp{Handler: slog.DiscardHandler, wait: wait})
	})
	err := term.Connect(context.Background())
	var ce *terminal.ConnectError
	if !errors.As(err, &ce) || ce.Cause != diagnose.LinkReset || !strings.Contains(ce.Why, "reset") {
		t.Fatalf("want link.reset named, got %v", err)
	}
}
