package terminal

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/possim/possim/internal/diagnose"
)

// producedCauses are the causes the terminal's code names; the test below
// checks that the list is complete (against the source) and registered.
var producedCauses = map[string]diagnose.ID{
	"FramingLost": diagnose.FramingLost, "FramingUnreadable": diagnose.FramingUnreadable, "HostRefused": diagnose.HostRefused,
	"HostUnreachable": diagnose.HostUnreachable, "JournalCorrupt": diagnose.JournalCorrupt, "JournalLocked": diagnose.JournalLocked,
	"JournalUnwritable": diagnose.JournalUnwritable, "KeysKCVMismatch": diagnose.KeysKCVMismatch, "LinkClosed": diagnose.LinkClosed,
	"LinkDown": diagnose.LinkDown, "LinkIdleTimeout": diagnose.LinkIdleTimeout, "LinkReset": diagnose.LinkReset,
	"LinkWriteTimeout": diagnose.LinkWriteTimeout, "MACResponseInvalid": diagnose.MACResponseInvalid,
	"RequestFormatError": diagnose.RequestFormatError, "ResponseDuplicate": diagnose.ResponseDuplicate,
	"ResponseFieldMismatch": diagnose.ResponseFieldMismatch, "ResponseMissingField": diagnose.ResponseMissingField,
	"ResponseNoAuthCode": diagnose.ResponseNoAuthCode, "ResponseTimeout": diagnose.ResponseTimeout,
	"ResponseWrongMTI": diagnose.ResponseWrongMTI, "TerminalDied": diagnose.TerminalDied,
	"TerminalInterrupted": diagnose.TerminalInterrupted, "TerminalQueueFull": diagnose.TerminalQueueFull,
	"ResponseLate": diagnose.ResponseLate,
	// Named by the catalogue's rules through Refine (diagnose.go) and
	// checked in diagnose_test.go.
	"NetworkSlow": diagnose.NetworkSlow, "MACNotSent": diagnose.MACNotSent, "FramingLengthHeader": diagnose.FramingLengthHeader,
	"NetworkBlackhole": diagnose.NetworkBlackhole, "IssuerSlow": diagnose.IssuerSlow, "ResponseNeverSent": diagnose.ResponseNeverSent, "LinkHalfOpen": diagnose.LinkHalfOpen,
	// TLS: the handshake's cause comes from internal/tlsconf.
	"TLSHandshakeFailed": diagnose.TLSHandshakeFailed, "TLSCertExpired": diagnose.TLSCertExpired, "TLSUnknownCA": diagnose.TLSUnknownCA,
	"TLSNameMismatch": diagnose.TLSNameMismatch, "TLSOldVersion": diagnose.TLSOldVersion, "TLSClientCertRequired": diagnose.TLSClientCertRequired,
	"TLSHandshakeStalled": diagnose.TLSHandshakeStalled, "TLSNotTLS": diagnose.TLSNotTLS,
	// A TLS alert after a TLS 1.3 handshake, through diagnose.LinkCause.
	"TLSClientCertRejected": diagnose.TLSClientCertRejected,
}

// Every cause id the terminal can produce is in the catalogue: the ones
// its source names, and every id ForRC gives for an RC.
func TestEveryTerminalCauseIsRegistered(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	files = append(files, "../cmd/possim/terminal.go")
	re := regexp.MustCompile(`diagnose\.([A-Z][A-Za-z]*)`)
	notCauses := map[string]bool{"Finding": true, "ForRC": true, "ID": true, "Evidence": true, "Lookup": true, "MustLookup": true, "ObservationOf": true, "Refine": true, "ProbeUnanswered": true,
		"ProbeAnswered": true, "ProbeLinkDown": true, "ProbeResult": true, "Observation": true, "Took": true, "ClientCertAlert": true, "LinkCause": true}
	for _, f := range files {
		if filepath.Ext(f) != ".go" || f == "causes_test.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if notCauses[m[1]] {
				continue
			}
			if _, ok := producedCauses[m[1]]; !ok {
				t.Errorf("%s names diagnose.%s: add it to producedCauses", f, m[1])
			}
		}
	}
	for name, id := range producedCauses {
		if _, ok := diagnose.Lookup(id); !ok {
			t.Errorf("%s (%s) is not registered", name, id)
		}
	}
	for i := range 100 {
		rc := string([]byte{byte('0' + i/10), byte('0' + i%10)})
		if _, ok := diagnose.Lookup(diagnose.ForRC(rc)); !ok {
			t.Errorf("ForRC(%s) = %s is not registered", rc, diagnose.ForRC(rc))
		}
	}
	if _, ok := diagnose.Lookup("terminal.interrupted"); !ok {
		t.Error("terminal.interrupted (cmd/possim) is not registered")
	}
}
