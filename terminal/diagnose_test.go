package terminal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/internal/testkit/hostkit"
	"github.com/possim/possim/terminal"
)

// The terminal names, over real TCP, the causes its own observations tell
// apart (internal/diagnose Refine), each with its fix; after a timeout it
// sends an echo test on the same link and watches every byte that arrives
// (the probe), which tells a lost answer or slow issuer (echo answered)
// from a black hole or a half-open link (echo unanswered, not one byte)
// and from lost framing (bytes, no frame).
func TestTerminalNamesRefinedCauses(t *testing.T) {
	tmk, _ := mac.ParseHexKey("0123456789ABCDEFFEDCBA9876543210")
	ascii4, _ := iso.Build("iso87ascii", iso.Options{LengthHeader: "ascii4"})
	fast := func(c *terminal.Config) {
		c.Timeout, c.ReversalAttempts, c.ReversalBackoff = 300*time.Millisecond, 1, 10*time.Millisecond
	}
	cases := []struct {
		name   string
		host   host.Config
		mod    func(*terminal.Config)
		idle   time.Duration // wait this long after the sign-on
		want   diagnose.ID
		detail string
		fix    string
	}{
		{"slow network: even the sign-on took 350 ms", host.Config{Faults: faults(t, "latency:latency=350ms", "drop:mti=0210")},
			func(c *terminal.Config) { c.Timeout = 800 * time.Millisecond }, 0, diagnose.NetworkSlow, "the sign-on on the same link took 3", "the network, not the issuer, is slow: the sign-on took 3"},
		{"RC 63 to a purchase without a MAC", host.Config{Security: &host.Security{TMK: tmk}},
			func(c *terminal.Config) { c.SignOnAtConnect = false }, 0, diagnose.MACNotSent, "without a MAC", "load the terminal's keys"},
		{"sign-on answered, then nothing: the purchase and its reversals unanswered", host.Config{Faults: faults(t, "blackhole:after=1")},
			fast, 0, diagnose.NetworkBlackhole, "not one byte arrived", "drop the link and reconnect"},
		{"the answer lost behind a live host: the reversal is answered", host.Config{Faults: faults(t, "drop:mti=0210")},
			fast, 0, diagnose.ResponseNeverSent, "its reversal on the same link was answered in", "the network and the host are fine"},
		{"a balance inquiry's answer lost behind a live host: the echo probe is answered", host.Config{Faults: faults(t, "drop:mti=0110")},
			fast, 0, diagnose.ResponseNeverSent, "an echo test on the same link was answered in", "the network and the host are fine (echo answered"},
		{"a length header that promises more than comes", host.Config{Faults: faults(t, "bad-length:mti=0210,delta=+5")},
			fast, 0, diagnose.FramingLost, "length header says", "the sender's length header disagrees with its message"},
		{"the host stops reading after the link was idle: half-open", host.Config{Faults: faults(t, "half-open:after=500ms")},
			fast, 1100 * time.Millisecond, diagnose.LinkHalfOpen, "was idle for", "send echo tests more often"},
		{"4 ASCII digits to a binary2 host", host.Config{},
			func(c *terminal.Config) { c.Dialect = ascii4; c.SignOnAtConnect = false }, 0, diagnose.FramingLengthHeader, "", "length-header format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := hostkit.Start(t, tc.host)
			term := newTerm(t, h.Addr().String(), tc.mod)
			if err := term.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.idle > 0 {
				<-time.After(tc.idle) // the idle time is what is under test
			}
			tx := terminal.Tx{Kind: terminal.Purchase, Amount: 1000}
			if strings.HasPrefix(tc.name, "a balance") {
				tx = terminal.Tx{Kind: terminal.Balance}
			}
			o := term.Do(tx)
			if o.Cause.Cause != tc.want || !strings.Contains(o.Cause.Explanation(), tc.detail) || !strings.Contains(o.Cause.FixText(), tc.fix) {
				t.Fatalf("outcome %s\n cause %s (%s), fix %q; want %s with %q, fix %q", o, o.Cause.Cause, o.Cause.Explanation(), o.Cause.FixText(), tc.want, tc.detail, tc.fix)
			}
		})
	}
}
