package terminal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/terminal"
)

func hostWith(t *testing.T, cfg host.Config) *host.Host {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.Dialect == nil {
		cfg.Dialect = ascii
	}
	h, err := host.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// The terminal names, over real TCP, the causes its own observations tell
// apart (internal/diagnose Refine), each with its fix.
func TestTerminalNamesRefinedCauses(t *testing.T) {
	tmk, _ := mac.ParseHexKey("0123456789ABCDEFFEDCBA9876543210")
	slowAndLost, err := fault.Parse([]string{"latency:latency=350ms", "drop:mti=0210"}, fault.Options{Seed: 1, Dialect: ascii})
	if err != nil {
		t.Fatal(err)
	}
	ascii4, _ := iso.Build("iso87ascii", iso.Options{LengthHeader: "ascii4"})
	blackhole, err := fault.Parse([]string{"blackhole:after=1"}, fault.Options{Seed: 1, Dialect: ascii})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		host host.Config
		mod  func(*terminal.Config)
		want diagnose.ID
		fix  string
	}{
		{"slow network: even the sign-on took 350 ms", host.Config{Faults: slowAndLost},
			func(c *terminal.Config) { c.Timeout = 800 * time.Millisecond }, diagnose.NetworkSlow, "the network, not the issuer, is slow"},
		{"RC 63 to a purchase without a MAC", host.Config{Security: &host.Security{TMK: tmk}},
			func(c *terminal.Config) { c.SignOnAtConnect = false }, diagnose.MACNotSent, "load the terminal's keys"},
		{"sign-on answered, then nothing: the purchase and its reversals unanswered", host.Config{Faults: blackhole},
			func(c *terminal.Config) {
				c.Timeout, c.ReversalAttempts, c.ReversalBackoff = 200*time.Millisecond, 2, 10*time.Millisecond
			}, diagnose.NetworkBlackhole, "drop the link and reconnect"},
		{"4 ASCII digits to a binary2 host", host.Config{},
			func(c *terminal.Config) { c.Dialect = ascii4; c.SignOnAtConnect = false }, diagnose.FramingLengthHeader, "length-header format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := hostWith(t, tc.host)
			term := newTerm(t, h.Addr().String(), tc.mod)
			if err := term.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1000})
			if o.Cause.Cause != tc.want || !strings.Contains(o.Cause.FixText(), tc.fix) {
				t.Fatalf("outcome %s\n cause %s (%s), fix %q; want %s with %q", o, o.Cause.Cause, o.Cause.Explanation(), o.Cause.FixText(), tc.want, tc.fix)
			}
		})
	}
}
