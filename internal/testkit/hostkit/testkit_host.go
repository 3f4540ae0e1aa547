package hostkit

import (
	"strings"
	"testing"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/testkit"
)

// Start starts a host with cfg on testkit.Loopback (unless cfg.Listen
// names an address) and closes it when the test ends; a nil cfg.Dialect
// is the host's default, iso87ascii.
func Start(t testing.TB, cfg host.Config) *host.Host {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = testkit.Loopback
	}
	h, err := host.New(cfg)
	return testkit.Serve(t, h, err)
}

// LastEvent is the text of h's newest event of kind that contains substr,
// or "".
func LastEvent(h *host.Host, kind host.EventKind, substr string) string {
	e, _ := testkit.LastOf(h.EventLog(), func(e host.Event) bool { return e.Kind == kind && strings.Contains(e.Text, substr) })
	return e.Text
}

// Rules parses a host rules file's YAML; with cards, the host's test cards
// (host.DefaultRules) answer what the rules do not match.
func Rules(t testing.TB, yaml string, cards bool) *host.RuleSet {
	t.Helper()
	rs, err := host.ParseRules("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if cards {
		rs = rs.Then(host.DefaultRules())
	}
	return rs
}

// Faults parses fault specs in the command line's grammar for dialect d,
// with seed 1.
func Faults(t testing.TB, d *iso.Dialect, specs ...string) *fault.RuleSet {
	t.Helper()
	return FaultsSeeded(t, d, 1, specs...)
}

// FaultsSeeded is Faults with the random decisions' seed.
func FaultsSeeded(t testing.TB, d *iso.Dialect, seed uint64, specs ...string) *fault.RuleSet {
	t.Helper()
	rs, err := fault.Parse(specs, fault.Options{Seed: seed, Dialect: d})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
