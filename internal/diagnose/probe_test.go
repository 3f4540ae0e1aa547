package diagnose_test

import (
	"context"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/internal/testkit/hostkit"
)

const testTMK = "0123456789ABCDEFFEDCBA9876543210"

// text is r's text report, for the test's log.
func text(r *diagnose.Report) string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}

func tmk(t *testing.T) []byte {
	k, err := mac.ParseHexKey(testTMK)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func probe(t *testing.T, cfg diagnose.ProbeConfig) *diagnose.Report {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = time.Second
	}
	if cfg.Echoes == 0 {
		cfg.Echoes = 3
	}
	cfg.SignOn = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := diagnose.Probe(ctx, cfg)
	t.Log("\n" + text(r))
	return r
}

func check(t *testing.T, r *diagnose.Report, name string) diagnose.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q", name)
	return diagnose.Check{}
}

// wantCause asserts that check name failed with cause id and that the fix
// printed for it is not empty.
func wantCause(t *testing.T, r *diagnose.Report, name string, id diagnose.ID) diagnose.Finding {
	t.Helper()
	c := check(t, r, name)
	if c.Status != diagnose.StatusFail {
		t.Fatalf("%s: status %s, want fail", name, c.Status)
	}
	for _, f := range c.Findings {
		if f.Cause == id {
			if f.FixText() == "" {
				t.Fatalf("%s: finding %s has no fix", name, id)
			}
			return f
		}
	}
	t.Fatalf("%s: findings %+v, want cause %s", name, c.Findings, id)
	return diagnose.Finding{}
}

// A host started with each framing and dialect possim speaks is detected,
// and the difference from the configured framing is named with its fix.
func TestProbeDetectsEachFraming(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	for _, d := range diagnose.Candidates(ascii) {
		t.Run(strings.NewReplacer(" ", "_", ",", "").Replace(diagnose.DescribeDialect(d)), func(t *testing.T) {
			t.Parallel()
			h := hostkit.Start(t, host.Config{Dialect: d})
			r := probe(t, diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, Echoes: 1})
			c := check(t, r, "framing")
			if !strings.Contains(c.Summary, diagnose.DescribeDialect(d)) {
				t.Fatalf("framing summary %q does not name %s", c.Summary, diagnose.DescribeDialect(d))
			}
			if diagnose.FramingKey(d) == diagnose.FramingKey(ascii) {
				if c.Status != diagnose.StatusOK || r.Failed() {
					t.Fatalf("configured framing works, report failed")
				}
				return
			}
			var want diagnose.ID
			def, _ := iso.Lookup(d.Name)
			switch {
			case d.Framing.Length != ascii.Framing.Length:
				want = diagnose.FramingLengthHeader
			case d.Name != ascii.Name:
				want = diagnose.FramingDialect
			default:
				want = diagnose.FramingTPDU
			}
			if d.Name != ascii.Name && d.Framing.Length == def.Framing.Length && len(d.Framing.TPDU) != len(def.Framing.TPDU) &&
				!strings.Contains(check(t, r, "framing").Findings[0].FixText(), "--tpdu") {
				t.Fatalf("fix does not name the TPDU: %s", check(t, r, "framing").Findings[0].FixText())
			}
			f := wantCause(t, r, "framing", want)
			if d.Framing.Length != ascii.Framing.Length && !strings.Contains(f.FixText(), "set the terminal's length header to "+d.Framing.Length.String()) {
				t.Fatalf("fix %q does not name the length header", f.FixText())
			}
			if d.Name != ascii.Name && !strings.Contains(f.FixText(), "--dialect "+d.Name) {
				t.Fatalf("fix %q does not name the dialect", f.FixText())
			}
			// The rest of the probe ran in the detected framing.
			if check(t, r, "echo").Status != diagnose.StatusOK || check(t, r, "sign-on").Status != diagnose.StatusOK {
				t.Fatal("sign-on/echo did not pass in the detected framing")
			}
		})
	}
}

func TestProbeRefused(t *testing.T) {
	addr := testkit.Refused(t)
	r := probe(t, diagnose.ProbeConfig{Target: addr})
	wantCause(t, r, "tcp connect", diagnose.HostRefused)
	if check(t, r, "framing").Status != diagnose.StatusSkipped {
		t.Fatal("framing not skipped")
	}
}

// A host that is down behind an address that does not answer SYNs: a
// listening socket with a full accept queue drops new SYNs, so connect
// times out as with a powered-off machine.
func TestProbeHostDownConnectTimeout(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skip("raw socket:", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := sa.(*syscall.SockaddrInet4).Port
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	// Fill the accept queue (backlog 0 holds one) and the SYN queue.
	var fill []net.Conn
	defer func() {
		for _, c := range fill {
			c.Close()
		}
	}()
	for range 4 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		fill = append(fill, c)
	}
	r := probe(t, diagnose.ProbeConfig{Target: addr, ConnectTimeout: 300 * time.Millisecond})
	wantCause(t, r, "tcp connect", diagnose.HostUnreachable)
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// A listener that accepts and never answers, in any framing.
func TestProbeHostAcceptsButNeverAnswers(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	addr := testkit.Peer(t, func(net.Conn) { <-done })
	ascii, _ := iso.Lookup("iso87ascii")
	r := probe(t, diagnose.ProbeConfig{Target: addr, Dialect: ascii, Timeout: 150 * time.Millisecond})
	wantCause(t, r, "framing", diagnose.HostNotAnswering)
}

// Sign-on and the first echo answered, then nothing: a black hole on the
// host side of the link, found by the echo test after the timeout.
func TestProbeBlackholeAfterSignOn(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	h := hostkit.Start(t, host.Config{Dialect: ascii, Faults: hostkit.Faults(t, ascii, "blackhole:after=2")})
	r := probe(t, diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, Timeout: 300 * time.Millisecond})
	wantCause(t, r, "echo", diagnose.NetworkBlackhole)
}

// The link works, stays idle, then an echo on it goes unanswered while a
// new connection works: half-open after idle.
func TestProbeHalfOpenAfterIdle(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	// Every connection goes silent 750 ms after it opened; the links
	// beside the main one are echoed after 300, 600 and 900 ms idle (D/4,
	// D/2, 3D/4 of 1.2 s): the report brackets the survival.
	h := hostkit.Start(t, host.Config{Dialect: ascii, Faults: hostkit.Faults(t, ascii, "blackhole:after=750ms")})
	r := probe(t, diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, Timeout: 300 * time.Millisecond, Idle: 1200 * time.Millisecond})
	f := wantCause(t, r, "idle", diagnose.LinkHalfOpen)
	if !strings.Contains(f.Explanation(), "survived less than") || !regexp.MustCompile(`survived [56]\d\d\.\d ms idle, dead at [89]\d\d\.\d ms`).MatchString(f.Explanation()) {
		t.Fatalf("explanation %q does not bracket how long the link survived", f.Explanation())
	}
	if !regexp.MustCompile(`at an interval below [56]\d\d\.\d ms`).MatchString(f.FixText()) {
		t.Fatalf("fix %q does not give the echo interval below the bracket", f.FixText())
	}
}

// The host closes idle links: the probe says after how long.
func TestProbeIdleTimeoutNamed(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	h := hostkit.Start(t, host.Config{Dialect: ascii, IdleTimeout: 300 * time.Millisecond})
	r := probe(t, diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, Idle: 2 * time.Second})
	wantCause(t, r, "idle", diagnose.LinkIdleTimeout)
}

// A host whose answers carry a damaged MAC: the test purchase names it.
func TestProbeBadMACFromHost(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	h := hostkit.Start(t, host.Config{Dialect: ascii, Security: &host.Security{TMK: tmk(t)}, Faults: hostkit.Faults(t, ascii, "bad-mac:mti=0210")})
	r := probe(t, diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, TMK: tmk(t), Financial: true})
	if d := check(t, r, "sign-on").Details; len(d) == 0 || !strings.Contains(d[0], "KCV") {
		t.Fatalf("sign-on details %q lack the working keys' KCVs", d)
	}
	wantCause(t, r, "financial", diagnose.MACCorrupted)
}

// Host and probe pad the MAC differently: named as padding, not as a key.
func TestProbeMACPaddingMismatch(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	h := hostkit.Start(t, host.Config{Dialect: ascii, Security: &host.Security{TMK: tmk(t), Pad: mac.Pad2}})
	r := probe(t, diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, TMK: tmk(t), MACPad: mac.Pad1, Financial: true})
	wantCause(t, r, "financial", diagnose.MACPaddingMismatch)
}

// Everything answers, slowly: echo tests take 400 ms, so the network is
// named slow with the measured time.
func TestProbeSlowNetwork(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	h := hostkit.Start(t, host.Config{Dialect: ascii, Faults: hostkit.Faults(t, ascii, "latency:latency=350ms")})
	r := probe(t, diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, Timeout: 2 * time.Second, Echoes: 2})
	f := wantCause(t, r, "echo", diagnose.NetworkSlow)
	if !strings.Contains(f.FixText(), "the network, not the issuer, is slow") {
		t.Fatal(f.FixText())
	}
}

// The happy path with keys and a test purchase: all checks pass.
func TestProbeAllGood(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	h := hostkit.Start(t, host.Config{Dialect: ascii, Security: &host.Security{TMK: tmk(t)}})
	r := probe(t, diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, TMK: tmk(t), Financial: true, Idle: 100 * time.Millisecond})
	if r.Failed() {
		t.Fatal("a healthy host failed the probe")
	}
	var b strings.Builder
	if err := r.WriteJSON(&b); err != nil || !strings.Contains(b.String(), `"durations": "ms"`) {
		t.Fatalf("json: %v %s", err, b.String())
	}
}
