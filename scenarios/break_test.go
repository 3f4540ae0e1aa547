package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/terminal"
)

// Each library scenario must fail, with a clear message, when the
// behaviour it checks is broken. These tests break a behaviour on purpose
// (through Options.ModifyHost / ModifyTerminal) and check that the scenario
// fails on the right expectations, with evidence a person can act on.

// runBroken runs a library scenario with a behaviour broken and returns the
// failed results (it fails the test if the scenario still passes).
func runBroken(t *testing.T, name string, opts Options) (*Report, string) {
	t.Helper()
	sc, err := Library(name)
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), sc, opts)
	var b strings.Builder
	_ = rep.WriteText(&b)
	if rep.OK() {
		t.Fatalf("%s still passes with the behaviour broken:\n%s", name, b.String())
	}
	t.Logf("%s with the behaviour broken:\n%s", name, b.String())
	return rep, b.String()
}

// wantFailure checks that an unmet expectation whose name contains name
// has evidence containing each of the given strings.
func wantFailure(t *testing.T, rep *Report, name string, evidence ...string) {
	t.Helper()
	for _, r := range rep.Results {
		if r.OK || !strings.Contains(r.Name, name) {
			continue
		}
		for _, e := range evidence {
			if !strings.Contains(r.Evidence, e) {
				t.Errorf("%q: evidence %q does not contain %q", r.Name, r.Evidence, e)
			}
		}
		return
	}
	var failed []string
	for _, r := range rep.Results {
		if !r.OK {
			failed = append(failed, r.Name)
		}
	}
	t.Errorf("no unmet expectation named like %q; unmet: %q", name, failed)
}

// dropReversals is a terminal whose reversals never leave it: a
// link.Interceptor that silently drops every 04xx it writes.
type dropReversals struct{}

func (dropReversals) Outbound(m *iso8583.Message) link.Plan {
	if mti, _ := m.GetMTI(); iso.Class(mti) == '4' {
		return link.Plan{Drop: true}
	}
	return link.Plan{}
}
func (dropReversals) Inbound(*iso8583.Message) link.Plan { return link.Plan{} }

// Broken: the terminal's reversal never reaches the host. The host keeps
// the approval of a sale the terminal shows as failed: the customer is
// charged and the merchant will ask again.
func TestBrokenReversalIsCaught(t *testing.T) {
	t.Parallel()
	rep, _ := runBroken(t, "response-lost", Options{ModifyTerminal: func(_ string, c *terminal.Config) {
		c.Faults, c.Interceptor = nil, dropReversals{}
	}})
	wantFailure(t, rep, "step 3 (buy)", "outcome: want timeout_reversed, got timeout_reversal_pending")
	wantFailure(t, rep, "reversal of step 3 (buy)", "no 0410 answered it", "reversals that reached the host: 0")
	wantFailure(t, rep, "host's account", "reversed: 0, want 1")
	wantFailure(t, rep, "accounts agree", "purchase STAN 000003 on T1: the terminal shows timeout_reversal_pending, the host's account approved")
	wantFailure(t, rep, "no duplicate charge", "stands approved at the host but the terminal shows timeout_reversal_pending")
}

// Broken: a terminal that does not sign on again after a reconnect.
func TestBrokenReSignOnIsCaught(t *testing.T) {
	t.Parallel()
	rep, _ := runBroken(t, "host-restart", Options{ModifyTerminal: func(_ string, c *terminal.Config) {
		c.SignOnAtConnect = false
	}})
	wantFailure(t, rep, "wait for signed on on T1", "not within 3s", "last sign-on answered: never")
	wantFailure(t, rep, "T1 sends 1 sign-on(s) after step 2 (restart)", "counted 0, want 1")
}

// Broken: a host that approves every card (its decline rules are gone).
func TestBrokenDeclinesAreCaught(t *testing.T) {
	t.Parallel()
	approveAll, err := host.ParseRules("approve-all", []byte(`default: {rc: "00"}`))
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := runBroken(t, "card-declined", Options{ModifyHost: func(c *host.Config) { c.Rules = approveAll }})
	wantFailure(t, rep, "step 1", "outcome: want declined, got approved", "rc: want 51, got 00 (approved)")
	wantFailure(t, rep, "step 2", "rc: want 54, got 00")
	wantFailure(t, rep, "step 3", "rc: want 14, got 00")
	wantFailure(t, rep, "host's account", "approved: 4, want 1", "declined: 0, want 3")
}

// Broken: a terminal without the echo test never finds the half-open link.
func TestBrokenEchoTestIsCaught(t *testing.T) {
	t.Parallel()
	rep, _ := runBroken(t, "half-open", Options{ModifyTerminal: func(_ string, c *terminal.Config) {
		c.EchoIdle = 0
	}})
	wantFailure(t, rep, "wait for event down at T1", "not within 3s", "0 such events")
	wantFailure(t, rep, "T1's link goes down 1 time(s) with \"echo test failed\"", "counted 0, want 1")
	// (It still sends one echo test: the probe after its purchase's
	// reversal timed out, which names the half-open link but does not
	// drop it — the idle echo test is what recovers the link.)
}

// Broken: a host that never sends its stored-reversal acknowledgement
// because it drops every reversal it receives (a host that ignores
// 04xx): after the link drop, the reversal is never acknowledged and the
// charge stays.
func TestBrokenStoreAndForwardIsCaught(t *testing.T) {
	t.Parallel()
	rep, _ := runBroken(t, "link-dropped", Options{ModifyHost: func(c *host.Config) {
		c.Faults, c.Interceptor = nil, dropInboundReversals{}
	}})
	wantFailure(t, rep, "wait for reversals flushed on T1", "still holds 1 reversal(s)")
	wantFailure(t, rep, "accounts agree", "the host's account approved")
}

type dropInboundReversals struct{}

func (dropInboundReversals) Outbound(*iso8583.Message) link.Plan { return link.Plan{} }
func (dropInboundReversals) Inbound(m *iso8583.Message) link.Plan {
	if mti, _ := m.GetMTI(); iso.Class(mti) == '4' {
		return link.Plan{Drop: true}
	}
	return link.Plan{}
}
