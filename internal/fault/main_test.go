package fault

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/internal/testkit/isokit"
)

func TestMain(m *testing.M) {
	testkit.VerifyMain(m)
}

var ascii, _ = iso.Lookup("iso87ascii")

const wait = testkit.Wait // upper bound for anything a test waits for

func req(t testing.TB, tid string, stan int) *iso8583.Message {
	t.Helper()
	return isokit.Sale(t, ascii, tid, stan)
}

func answer(in *link.Inbound, rc string) *iso8583.Message {
	return isokit.Answer(ascii, in.MTI, in.Msg, rc)
}

func echo() link.Handler {
	return link.HandlerFunc(func(l *link.Link, in *link.Inbound) { _ = l.Reply(in, answer(in, "00")) })
}

// conns returns both ends of a loopback TCP connection.
func conns(t testing.TB) (client, server net.Conn) { t.Helper(); return testkit.Pair(t) }

// events collects a link's events.
type events chan link.Event

func (e events) observe(ev link.Event) {
	select {
	case e <- ev:
	default:
	}
}

// next waits for the next event of kind k (others are skipped).
func (e events) next(t testing.TB, k link.EventKind) link.Event {
	t.Helper()
	tm := time.NewTimer(wait)
	defer tm.Stop()
	for {
		select {
		case ev := <-e:
			if ev.Kind == k {
				return ev
			}
		case <-tm.C:
			t.Fatalf("no %s event within %v", k, wait)
		}
	}
}

// setup is a terminal link (client) and a host link (server) over loopback
// TCP, with the rule set attached to the given side (links and conns).
type setup struct {
	c, s *link.Link
	ev   events // the terminal's events
	hev  events // the host's events
}

func start(t testing.TB, rs *RuleSet, side Side, handler link.Handler) *setup {
	t.Helper()
	cc, sc := conns(t)
	st := &setup{ev: make(events, 256), hev: make(events, 256)}
	ccfg := link.Config{Dialect: ascii, Observer: st.ev.observe}
	scfg := link.Config{Dialect: ascii, Observer: st.hev.observe, Handler: handler}
	switch side {
	case Host:
		scfg.Interceptor = rs.Interceptor(Host)
		sc = rs.WrapConn(sc, Host)
	case Terminal:
		ccfg.Interceptor = rs.Interceptor(Terminal)
		cc = rs.WrapConn(cc, Terminal)
	}
	st.c = link.New(cc, ccfg).Start()
	st.s = link.New(sc, scfg).Start()
	t.Cleanup(func() {
		st.c.Close()
		st.s.Close()
	})
	return st
}

func mustNew(t testing.TB, opts Options, specs ...string) *RuleSet {
	t.Helper()
	rs, err := Parse(specs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func contains(t testing.TB, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%q does not contain %q", got, want)
	}
}
