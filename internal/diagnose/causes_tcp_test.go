package diagnose_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/internal/testkit/hostkit"
)

// Each cause reproduced over TCP: a host on 127.0.0.1 with the fault that
// makes it, probed as a terminal would talk to it; the named cause and its
// fix are checked. (Framing, host-down, black hole, half-open, idle, slow
// network, MAC padding and corruption: probe_test.go; capture-only causes:
// pcap_test.go.)
func TestCausesOverTCP(t *testing.T) {
	sec := func() *host.Security { return &host.Security{TMK: tmk(t)} }
	cases := []struct {
		want      diagnose.ID
		faults    []string
		security  bool // host MACs and keys
		tmk       bool // probe checks keys and MACs
		financial bool
		check     string
		timeout   time.Duration
	}{
		{want: diagnose.ResponseFieldMismatch, faults: []string{"corrupt-field:mti=0210,field=4"}, financial: true, check: "financial"},
		{want: diagnose.ResponseNoAuthCode, faults: []string{"remove-field:mti=0210,field=38"}, financial: true, check: "financial"},
		{want: diagnose.ResponseMissingField, faults: []string{"remove-field:mti=0210,field=39"}, financial: true, check: "financial"},
		{want: diagnose.ResponseWrongMTI, faults: []string{"wrong-mti:mti=0210"}, financial: true, check: "financial"},
		{want: diagnose.ResponseUnmatched, faults: []string{"stan-mismatch:mti=0210"}, financial: true, check: "financial", timeout: 300 * time.Millisecond},
		{want: diagnose.FramingUnreadable, faults: []string{"corrupt-field:mti=0210,field=4,mode=unpackable"}, financial: true, check: "financial"},
		{want: diagnose.FramingTrailingBytes, faults: []string{"garbage:mti=0810,nth=2"}, check: "echo"},
		{want: diagnose.IssuerSlow, faults: []string{"delay:mti=0210,delay=1s"}, financial: true, check: "financial", timeout: 300 * time.Millisecond},
		{want: diagnose.ReversalUnacknowledged, faults: []string{"drop:mti=0410"}, financial: true, check: "financial", timeout: 300 * time.Millisecond},
		{want: diagnose.IssuerInsufficientFunds, faults: []string{"rc:mti=0210,rc=51"}, financial: true, check: "financial"},
		{want: diagnose.IssuerDeclined, faults: []string{"rc:mti=0210,rc=05"}, financial: true, check: "financial"},
		{want: diagnose.IssuerUnavailable, faults: []string{"rc:mti=0210,rc=91"}, financial: true, check: "financial"},
		{want: diagnose.CardExpired, faults: []string{"rc:mti=0210,rc=54"}, financial: true, check: "financial"},
		{want: diagnose.CardInvalid, faults: []string{"rc:mti=0210,rc=14"}, financial: true, check: "financial"},
		{want: diagnose.CardPINIncorrect, faults: []string{"rc:mti=0210,rc=55"}, financial: true, check: "financial"},
		{want: diagnose.RequestFormatError, faults: []string{"rc:mti=0210,rc=30"}, financial: true, check: "financial"},
		{want: diagnose.MACNotSent, security: true, financial: true, check: "financial"},
		{want: diagnose.MACWrongKey, faults: []string{"mac-wrong-key:mti=0210"}, security: true, tmk: true, financial: true, check: "financial"},
		{want: diagnose.KeysKCVMismatch, faults: []string{"kcv-wrong:mti=0810"}, security: true, tmk: true, check: "sign-on"},
		{want: diagnose.KeysNotLoaded, tmk: true, check: "sign-on"},
		{want: diagnose.LinkReset, faults: []string{"reset:after=2"}, check: "echo"},
		{want: diagnose.LinkClosed, faults: []string{"close:after=2"}, check: "echo"},
	}
	for _, tc := range cases {
		t.Run(string(tc.want), func(t *testing.T) {
			t.Parallel()
			cfg := host.Config{Dialect: ascii}
			if len(tc.faults) > 0 {
				cfg.Faults = hostkit.Faults(t, ascii, tc.faults...)
			}
			if tc.security {
				cfg.Security = sec()
			}
			h := hostkit.Start(t, cfg)
			pc := diagnose.ProbeConfig{Target: h.Addr().String(), Dialect: ascii, Financial: tc.financial, Timeout: tc.timeout, Echoes: 2}
			if tc.tmk {
				pc.TMK, pc.MACPad = tmk(t), mac.Pad1
			}
			r := probe(t, pc)
			wantCause(t, r, tc.check, tc.want)
		})
	}
}

// Every cause in the catalogue is reproduced by a test of this package
// (its constant appears in a test that asserts it), or is on the short
// list below of causes reproduced elsewhere.
func TestEveryCauseHasAReproducer(t *testing.T) {
	elsewhere := map[diagnose.ID]string{
		diagnose.TerminalDied:        "terminal tests (a terminal that dies mid-transaction)",
		diagnose.TerminalQueueFull:   "link tests (writer queue full)",
		diagnose.LinkWriteTimeout:    "link tests (peer not reading)",
		diagnose.LinkDown:            "terminal tests (no link)",
		diagnose.MACResponseInvalid:  "the generic MAC cause: the specific ones (wrong key, corrupted, padding) are reproduced here",
		diagnose.MACRejectedByHost:   "rules_test (RC 63 to a MACed request) and the terminal's MAC tests",
		diagnose.FramingLost:         "rules_test and pcap_test (bad input)",
		diagnose.ResponseTimeout:     "rules_test; the probe names the neighbours instead",
		diagnose.ResponseLate:        "trace_test (late response over TCP)",
		diagnose.HostNameUnresolved:  "rules_test (a DNS lookup would leave loopback)",
		diagnose.HostNoRoute:         "rules_test (needs a route that does not exist on loopback)",
		diagnose.JournalCorrupt:      "cmd/possim TestTerminalNamesItsOwnCauses (real files, RC 12 over TCP, SIGINT to a subprocess)",
		diagnose.JournalLocked:       "cmd/possim TestTerminalNamesItsOwnCauses (real files, RC 12 over TCP, SIGINT to a subprocess)",
		diagnose.JournalUnwritable:   "cmd/possim TestTerminalNamesItsOwnCauses (real files, RC 12 over TCP, SIGINT to a subprocess)",
		diagnose.RequestDuplicate:    "cmd/possim terminal_test (RC 94 to a repeated void)",
		diagnose.VoidUnknownOriginal: "cmd/possim TestTerminalNamesItsOwnCauses (real files, RC 12 over TCP, SIGINT to a subprocess)",
		diagnose.TerminalInterrupted: "cmd/possim TestTerminalNamesItsOwnCauses (real files, RC 12 over TCP, SIGINT to a subprocess)",
		// TLS: each host TLS fault is reproduced over TCP by internal/tlsconf
		// (TestEveryTLSFaultIsNamed, TestPlainHostIsNotTLS) and through the
		// binary by cmd/possim (TestTerminalOverTLS).
		diagnose.TLSCertExpired:        "internal/tlsconf TestEveryTLSFaultIsNamed (expired)",
		diagnose.TLSUnknownCA:          "internal/tlsconf TestEveryTLSFaultIsNamed (untrusted)",
		diagnose.TLSNameMismatch:       "internal/tlsconf TestEveryTLSFaultIsNamed (wrong-name)",
		diagnose.TLSOldVersion:         "internal/tlsconf TestEveryTLSFaultIsNamed (old-version)",
		diagnose.TLSClientCertRequired: "internal/tlsconf TestEveryTLSFaultIsNamed (client-cert)",
		diagnose.TLSHandshakeStalled:   "internal/tlsconf TestEveryTLSFaultIsNamed (stall)",
		diagnose.TLSNotTLS:             "internal/tlsconf TestPlainHostIsNotTLS",
		diagnose.TLSClientCertRejected: "cmd/possim TestTerminalNamesRejectedClientCert (a client certificate from another CA, refused after a TLS 1.3 handshake)",
		diagnose.TLSHandshakeFailed:    "the catch-all of internal/tlsconf.Classify: no specific reproducer",
	}
	var src strings.Builder
	files, _ := filepath.Glob("*_test.go")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		src.Write(b)
	}
	consts := map[string]diagnose.ID{}
	for _, f := range []string{"causes_framing.go", "causes_host.go", "causes_issuer.go", "causes_link.go", "causes_message.go", "causes_network.go", "causes_security.go", "causes_timing.go", "causes_terminal.go", "causes_tls.go"} {
		b, _ := os.ReadFile(f)
		for _, m := range regexp.MustCompile(`(\w+)\s+ID = "([a-z0-9_.]+)"`).FindAllStringSubmatch(string(b), -1) {
			consts[m[1]] = diagnose.ID(m[2])
		}
	}
	byID := map[diagnose.ID]string{}
	for name, id := range consts {
		byID[id] = name
	}
	for _, c := range diagnose.All() {
		name := byID[c.ID]
		if name == "" {
			t.Errorf("%s: no constant found", c.ID)
			continue
		}
		if _, ok := elsewhere[c.ID]; ok {
			continue
		}
		if !strings.Contains(strings.ReplaceAll(src.String(), "elsewhere", ""), "diagnose."+name+",") &&
			!strings.Contains(src.String(), "diagnose."+name+")") && !strings.Contains(src.String(), "diagnose."+name+"}") &&
			!strings.Contains(src.String(), "diagnose."+name+"\n") {
			t.Errorf("%s (%s) is reproduced by no test", c.ID, name)
		}
	}
}
