package diagnose

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

// The terminal-side rules: pure functions from what one side could see of a
// failed exchange to the cause that explains it. The terminal engine, the
// live probe and the proxy call them, so neighbouring causes are told apart
// the same way everywhere (DESIGN.md §9).

// SlowRTT is the round trip of network management (sign-on, echo) above
// which the network, not the issuer, is called slow. A LAN round trip is
// well under a millisecond and a 4G one 30–100 ms; a host answers an echo
// without asking anyone.
const SlowRTT = 300 * time.Millisecond

// Outcome is how an exchange ended, as the side that sent it saw it.
type Outcome uint8

const (
	Answered      Outcome = iota // a response matched
	TimedOut                     // nothing matched before the deadline
	LinkFailed                   // the link ended with the request outstanding
	NotSent                      // never written
	ConnectFailed                // no link could be opened
)

// ProbeResult is what an echo test on the same link said after a timeout
// (the terminal sends one before it gives up on a link).
type ProbeResult uint8

const (
	ProbeNone       ProbeResult = iota // no probe was made
	ProbeAnswered                      // the echo was answered: the link carries bytes
	ProbeUnanswered                    // the echo timed out too
	ProbeLinkDown                      // the link ended during the probe
)

// Observation is what a terminal can see of one failed exchange on its
// link. Zero values mean "not seen / not known".
type Observation struct {
	MTI     string        // the request's MTI
	Outcome Outcome       // how it ended
	Took    time.Duration // write to answer (or to the deadline)
	Timeout time.Duration // the response timeout in force

	// LinkFail is the link's classification when Outcome is LinkFailed;
	// LinkErr its error text.
	LinkFail link.FailKind
	LinkErr  string
	// ConnectErr is the dial error when Outcome is ConnectFailed.
	ConnectErr error

	RC string // the response code, when answered

	// SignOnRTT and EchoRTT are round trips of network management on the
	// same link (0: none measured): they tell a slow network from a slow
	// issuer.
	SignOnRTT, EchoRTT time.Duration
	// Probe is the echo test sent after a timeout; BytesAfterTimeout says
	// whether anything at all arrived on the link after the deadline.
	Probe             ProbeResult
	BytesAfterTimeout bool
	// ProbeWhat names what probed the link ("" : an echo test; the
	// terminal's reversals serve as probes too).
	ProbeWhat string
	// ProbeBound is how long the probe waited for its answer (0: unknown),
	// ProbeRTT its round trip when answered (a reversal's counts here and
	// not as EchoRTT: it may involve the issuer).
	ProbeBound, ProbeRTT time.Duration
	// PartialBytes counts the bytes that arrived on the link after the
	// request was written without making a single frame (0: none, or
	// frames did parse); PartialHead holds the first of them when known.
	// Bytes that never make a frame are a framing fault, not silence.
	PartialBytes int
	PartialHead  []byte
	// Waited is how long the side watched the link after writing the
	// request (its timeout plus the probe): "no byte in 1.2 s".
	Waited time.Duration
	// Late is how late a response arrived after its deadline (0: never).
	Late time.Duration
	// Unmatched is the link's reason for an answer that arrived while the
	// request waited and matched nothing ("STAN differs: …"), "" if none.
	Unmatched string
	// AnsweredBefore says earlier requests on this link were answered.
	AnsweredBefore bool
	// Idle is how long the link was idle before this request.
	Idle time.Duration

	// BadFrame holds the first bytes of a frame that failed to parse (length
	// header included), FramesBefore how many frames parsed on this link
	// before it, and Framing the framing the side expected.
	BadFrame     []byte
	FramesBefore int
	Framing      iso.Framing
	// UnpackErr is set when a frame split but did not unpack.
	UnpackErr string
	// WrongMTI is the link's error for an answer whose MTI does not
	// answer the request's.
	WrongMTI string

	// SentMAC says whether this side put a MAC on the request; MACVerify
	// is the verification failure of the response, if any.
	SentMAC   bool
	MACVerify *mac.VerifyError
	// PaddingMismatch is set by a checker that verified the MAC with the
	// other padding method and found it right.
	PaddingMismatch bool
}

// Diagnose names the cause of one failed exchange. It returns false when
// the exchange did not fail (an approval).
func Diagnose(o Observation) (Finding, bool) {
	switch o.Outcome {
	case ConnectFailed:
		id, detail := ConnectCause(o.ConnectErr)
		return Finding{Cause: id, Detail: detail}, true
	case NotSent:
		return Finding{Cause: TerminalQueueFull}, true
	case LinkFailed:
		return linkFailure(o), true
	case TimedOut:
		return timeoutCause(o), true
	}
	if o.MACVerify != nil {
		return MACFinding(o.MACVerify, o.PaddingMismatch), true
	}
	if o.WrongMTI != "" {
		return Finding{Cause: ResponseWrongMTI, Detail: o.WrongMTI}, true
	}
	if o.UnpackErr != "" {
		return Finding{Cause: FramingUnreadable, Detail: "the answer does not unpack: " + o.UnpackErr}, true
	}
	if o.RC == "" || iso.IsApproval(o.RC) {
		if o.RC == "" {
			return Finding{Cause: ResponseMissingField, Detail: "the answer has no response code (field 39)"}, true
		}
		if slow := slowNetwork(o); slow != nil {
			return *slow, true
		}
		return Finding{}, false
	}
	if o.RC == "63" && !o.SentMAC {
		return Finding{Cause: MACNotSent, Detail: fmt.Sprintf("the host answered RC 63 (security violation) to a %s the terminal sent without a MAC: it has no working MAC key", o.MTI)}, true
	}
	id := ForRC(o.RC)
	return Finding{Cause: id, Detail: fmt.Sprintf("the host answered RC %s (%s)", o.RC, iso.RCMeaning(o.RC))}, true
}

// slowNetwork names network.slow when the network-management round trips
// of the same link are slow, nil otherwise.
func slowNetwork(o Observation) *Finding {
	rtt, what := o.EchoRTT, "echo test"
	if o.SignOnRTT > rtt {
		rtt, what = o.SignOnRTT, "sign-on"
	}
	if rtt < SlowRTT {
		return nil
	}
	return &Finding{Cause: NetworkSlow,
		Detail: fmt.Sprintf("the %s on the same link took %s, so the network is slow before any issuer is asked", what, Took(rtt)),
		Fix:    fmt.Sprintf("the network, not the issuer, is slow: the %s took %s — check the signal or the carrier", what, Took(rtt))}
}

// Took words a round trip for a sentence: "820 ms", "1.2 s", "0.35 ms".
func Took(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func timeoutCause(o Observation) Finding {
	if o.UnpackErr != "" {
		return Finding{Cause: FramingUnreadable, Detail: fmt.Sprintf("the %s timed out while a frame arrived that does not unpack (so it could not be matched): %s", o.MTI, o.UnpackErr)}
	}
	if o.Unmatched != "" {
		return Finding{Cause: ResponseUnmatched, Detail: fmt.Sprintf("the %s timed out while an answer arrived that matches no request in flight: %s", o.MTI, o.Unmatched)}
	}
	if o.Late > 0 {
		late := o.Late.Round(time.Millisecond)
		// A late answer on a link whose network management is fast: the
		// time went behind the host (the issuer), not on the wire.
		if rtt := max(o.EchoRTT, o.SignOnRTT); rtt > 0 && rtt < SlowRTT {
			return Finding{Cause: IssuerSlow, Detail: fmt.Sprintf("the answer came %s after the %s deadline while an echo/sign-on on the same link took %s", late, o.Timeout, Took(rtt))}
		}
		return Finding{Cause: ResponseLate, Detail: fmt.Sprintf("the answer came %s after the deadline", late)}
	}
	if o.PartialBytes > 0 {
		return PartialFrameFinding(o.MTI, o.PartialBytes, o.PartialHead, o.Framing)
	}
	if slow := slowNetwork(o); slow != nil {
		return *slow
	}
	switch o.Probe {
	case ProbeUnanswered:
		if !o.BytesAfterTimeout {
			return silentLink(o)
		}
		return Finding{Cause: ResponseTimeout, Detail: fmt.Sprintf("bytes arrived on the link after the %s, but neither it nor an echo test on the same link was answered", o.MTI)}
	case ProbeLinkDown:
		return Finding{Cause: LinkClosed, Detail: "the link ended while an echo test was checking it after the timeout"}
	case ProbeAnswered:
		return probeAnswered(o)
	}
	if o.EchoRTT > 0 || o.SignOnRTT > 0 {
		// A fast sign-on/echo on this link: the network is not slow.
		return Finding{Cause: IssuerSlow, Detail: fmt.Sprintf("network management on this link is fast (sign-on %s, echo %s), the %s got no answer within %s",
			Took(o.SignOnRTT), Took(o.EchoRTT), o.MTI, o.Timeout)}
	}
	return Finding{Cause: ResponseTimeout}
}

// silentLink names a link on which neither the request nor the probe after
// it got an answer and no byte at all arrived: a link idle before is one a
// middlebox forgot (half-open), otherwise the path swallows the traffic.
func silentLink(o Observation) Finding {
	probe := o.ProbeWhat
	if probe == "" {
		probe = "an echo test"
		if o.ProbeBound > 0 {
			probe += " (waited " + Took(o.ProbeBound) + ")"
		}
	}
	silence := ""
	if o.Waited > 0 {
		silence = fmt.Sprintf("; not one byte arrived in the %s after the %s was written", Took(o.Waited), o.MTI)
	}
	if o.Idle > 0 && o.AnsweredBefore {
		return Finding{Cause: LinkHalfOpen, Detail: fmt.Sprintf("the link answered before, was idle for %s, and now neither the %s nor %s gets an answer%s",
			Took(o.Idle), o.MTI, probe, silence),
			Fix: fmt.Sprintf("a firewall or NAT dropped the link within %s of idleness: send echo tests more often than that (e.g. --echo-idle below it) or reconnect after an idle period; raise the middlebox's idle timeout", Took(o.Idle))}
	}
	return Finding{Cause: NetworkBlackhole, Detail: fmt.Sprintf("neither the %s nor %s on the same link got an answer, and the link stayed open%s", o.MTI, probe, silence)}
}

// probeAnswered names a timeout after which an echo test (or the reversal)
// on the same link was answered and no late answer came: TCP delivered the
// request in order before the probe, and the host answered the probe, so
// the host received the request and never answered it (or its issuer never
// did). A late answer is named response.late before this is reached.
func probeAnswered(o Observation) Finding {
	rtt := ""
	d := o.ProbeRTT
	if d == 0 {
		d = o.EchoRTT
	}
	if d > 0 {
		rtt = " in " + Took(d)
	}
	probe, short := o.ProbeWhat, "its reversal"
	if probe == "" {
		probe, short = "an echo test", "echo"
	}
	if iso.Class(o.MTI) == '8' {
		return Finding{Cause: ResponseTimeout, Detail: probe + " on the same link was answered" + rtt + " but this request was not: the host ignores it"}
	}
	return Finding{Cause: ResponseNeverSent,
		Detail: fmt.Sprintf("%s on the same link was answered%s, the %s was not answered within %s: the link and the host are alive, the host received this request and has not answered it (the issuer behind it may be too slow)", probe, rtt, o.MTI, o.Timeout),
		Fix:    fmt.Sprintf("the network and the host are fine (%s answered%s): look up this request's STAN in the host's log — if the host answered, its answer was lost after it; if not, ask the acquirer about the issuer's response times", short, rtt)}
}

// PartialFrameFinding names bytes that arrived after a request without
// making a frame: a length header that promises more than comes (a wrong
// length, a truncated message) or one of another format.
func PartialFrameFinding(mti string, n int, head []byte, fr iso.Framing) Finding {
	d := fmt.Sprintf("%d byte(s) arrived after the %s but no frame parsed", n, mti)
	if len(head) > 0 {
		d += fmt.Sprintf(" (first bytes % X)", clip(head, 8))
	}
	lh := fr.Length
	if hs := lh.Size(); hs > 0 && len(head) >= hs && len(head) == n {
		if want, err := lh.Get(head[:hs]); err == nil && want > n-hs {
			return Finding{Cause: FramingLost,
				Detail: fmt.Sprintf("%s: the %s length header says %d bytes follow, only %d came", d, lh, want, n-hs),
				Fix:    "the sender's length header disagrees with its message (a wrong length or a cut message): check the host's framing code, or a proxy or modem that changes the message"}
		}
	}
	if s := Sniff(head); s.Length != nil && *s.Length != lh {
		return Finding{Cause: FramingLengthHeader,
			Detail: fmt.Sprintf("%s: they read as a %s length header (%s), not %s", d, *s.Length, s.Describe(), lh),
			Fix:    fmt.Sprintf("set the length header to %s on the side that expects %s", *s.Length, lh)}
	}
	return Finding{Cause: FramingLost, Detail: d + ": the stream is not framed as " + fr.Describe()}
}

// linkFailure reads a failed link's observation: LinkCause, made finer
// where the observation says more (the bad frame, a close at the first
// message).
func linkFailure(o Observation) Finding {
	if f, ok := ClientCertAlert(o.LinkErr); ok {
		return f
	}
	switch o.LinkFail {
	case link.FailFraming:
		return FrameFinding(o.BadFrame, o.FramesBefore, o.Framing, o.LinkErr)
	case link.FailPeerClosed:
		if !o.AnsweredBefore && o.FramesBefore == 0 {
			// Closed at the first message, nothing ever answered: hosts
			// close links whose framing they reject.
			return Finding{Cause: FramingLengthHeader,
				Detail: fmt.Sprintf("the host closed the link at the first message (%s) without answering anything: it does not accept this framing (%s)", o.MTI, o.Framing.Describe()),
				Fix:    "check the host's length-header format and TPDU (possim diagnose --target finds them) and set the terminal's to match"}
		}
	}
	return Finding{Cause: LinkCause(o.LinkFail, o.LinkErr), Detail: o.LinkErr}
}

// LinkCause is the catalogue id of a link failure from the link's own
// classification and error text alone: a TLS alert after the handshake
// (ClientCertAlert), a reset, a close, a write timeout, an idle timeout,
// lost framing, or else the link down. The terminal names its failed
// links with it; linkFailure refines it from a whole observation.
func LinkCause(kind link.FailKind, linkErr string) ID {
	if f, ok := ClientCertAlert(linkErr); ok {
		return f.Cause // a TLS alert after the handshake (TLS 1.3 mutual TLS)
	}
	switch kind {
	case link.FailPeerReset:
		return LinkReset
	case link.FailPeerClosed:
		return LinkClosed
	case link.FailWriteTimeout:
		return LinkWriteTimeout
	case link.FailIdle:
		return LinkIdleTimeout
	case link.FailFraming:
		return FramingLost
	}
	return LinkDown
}

// ClientCertAlert names a TLS alert that ends a link after the handshake.
// With TLS 1.3 the client's handshake completes before the host has
// checked the client certificate, so a host refusing it is heard only at
// the first read, as "remote error: tls: bad certificate" (or unknown
// certificate authority, expired certificate, certificate required).
func ClientCertAlert(linkErr string) (Finding, bool) {
	i := strings.Index(linkErr, "remote error: tls: ")
	if i < 0 {
		return Finding{}, false
	}
	alert := linkErr[i+len("remote error: tls: "):]
	switch {
	case strings.HasPrefix(alert, "certificate required"):
		return Finding{Cause: TLSClientCertRequired, Detail: "the host ended the link with the TLS alert \"" + alert + "\": it requires a client certificate (mutual TLS) and this terminal sent none"}, true
	case strings.HasPrefix(alert, "bad certificate"), strings.HasPrefix(alert, "unknown certificate authority"),
		strings.HasPrefix(alert, "expired certificate"), strings.HasPrefix(alert, "unsupported certificate"), strings.HasPrefix(alert, "revoked certificate"):
		return Finding{Cause: TLSClientCertRejected, Detail: "the host rejected this terminal's client certificate after the handshake (TLS alert \"" + alert + "\")"}, true
	}
	return Finding{}, false
}

// FrameFinding names the cause of a frame that failed to parse: stray bytes
// after good frames, or a length header of another format (saying which).
func FrameFinding(bad []byte, framesBefore int, fr iso.Framing, reason string) Finding {
	s := Sniff(bad)
	if framesBefore > 0 {
		return Finding{Cause: FramingTrailingBytes,
			Detail: fmt.Sprintf("%d frame(s) parsed on this link, then bytes that do not start a %s frame (% X): stray bytes after a valid message, not a wrong length format", framesBefore, fr.Length, clip(bad, 8))}
	}
	if s.Length != nil && *s.Length != fr.Length {
		return Finding{Cause: FramingLengthHeader,
			Detail: fmt.Sprintf("expected a %s length header; the first bytes (% X) read as a %s header (%s)", fr.Length, clip(bad, 6), *s.Length, s.Describe()),
			Fix:    fmt.Sprintf("set the length header to %s on the side that expects %s", *s.Length, fr.Length)}
	}
	if len(fr.TPDU) == 0 && s.TPDU {
		return Finding{Cause: FramingTPDU, Detail: "the frame starts with a TPDU (0x60 …) where an MTI was expected",
			Fix: "configure the TPDU on the side that does not expect one (or remove it from the sender)"}
	}
	if reason == "" {
		reason = "the length header does not parse"
	}
	return Finding{Cause: FramingLost, Detail: reason}
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// FrameSniff is what the first bytes of a frame look like.
type FrameSniff struct {
	// Length is the length-header format the bytes fit best (nil: none).
	Length *iso.LengthHeader
	Value  int  // the length that header says
	TPDU   bool // a TPDU (0x60) follows the header
	// ASCIIMTI: four ASCII digits (an ASCII MTI) follow the header.
	ASCIIMTI bool
}

// Describe says what the bytes look like.
func (s FrameSniff) Describe() string {
	if s.Length == nil {
		return "no length format fits"
	}
	d := fmt.Sprintf("length %d", s.Value)
	if s.Value < 0 {
		d = "the first two of its digits"
	}
	if s.TPDU {
		d += ", then a TPDU"
	} else if s.ASCIIMTI {
		d += ", then an ASCII MTI"
	}
	return d
}

// Sniff guesses the length-header format of a frame's first bytes. b is
// everything seen from the start of the frame: when one format's length
// accounts for exactly the bytes seen, that format wins; otherwise four ASCII
// digits are ascii4, two bytes of decimal nibbles whose binary reading would
// be implausible (> 4096) are bcd2, and a plausible binary length is binary2.
func Sniff(b []byte) FrameSniff {
	var s FrameSniff
	set := func(h iso.LengthHeader, v int) FrameSniff {
		s.Length, s.Value = &h, v
		rest := b[h.Size():]
		s.TPDU = len(rest) > 0 && rest[0] == 0x60
		s.ASCIIMTI = len(rest) >= 4 && allDigits(rest[:4])
		return s
	}
	if len(b) < 2 {
		return s
	}
	if len(b) < 4 && allDigits(b) {
		// Only a 2-byte header was kept (a proxy's or link's view): two
		// ASCII digits are the start of a 4-digit ASCII length.
		h := iso.ASCII4
		s.Length, s.Value = &h, -1
		return s
	}
	for _, h := range []iso.LengthHeader{iso.ASCII4, iso.BCD2, iso.Binary2} {
		if len(b) < h.Size() {
			continue
		}
		if n, err := h.Get(b); err == nil && n > 0 && n+h.Size() == len(b) {
			return set(h, n)
		}
	}
	if len(b) >= 4 && allDigits(b[:4]) {
		n, _ := iso.ASCII4.Get(b)
		return set(iso.ASCII4, n)
	}
	bin := int(b[0])<<8 | int(b[1])
	if n, err := iso.BCD2.Get(b); err == nil && n > 0 && bin > 4096 {
		return set(iso.BCD2, n)
	}
	if bin > 0 && bin <= 8192 {
		return set(iso.Binary2, bin)
	}
	return s
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ConnectCause classifies a dial error: refused, timed out, no route, name
// not resolved, reset.
func ConnectCause(err error) (ID, string) {
	if err == nil {
		return LinkDown, ""
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return HostNameUnresolved, fmt.Sprintf("the name %q does not resolve: %v", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return HostRefused, "the connection was refused: " + err.Error()
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return HostNoRoute, err.Error()
	case errors.Is(err, syscall.ECONNRESET):
		return LinkReset, "the connection was reset while it was being opened: " + err.Error()
	case errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return HostUnreachable, "the connection attempt timed out: " + err.Error()
	}
	return LinkDown, err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// MACFinding names the cause of a MAC that did not verify.
func MACFinding(ve *mac.VerifyError, paddingMismatch bool) Finding {
	d := ve.Error()
	switch {
	case paddingMismatch:
		return Finding{Cause: MACPaddingMismatch, Detail: d + "; it verifies with the other padding method"}
	case ve.Kind == mac.NoKey:
		return Finding{Cause: KeysNotLoaded, Detail: d}
	case ve.Kind == mac.Corrupted:
		return Finding{Cause: MACCorrupted, Detail: d}
	case ve.Kind == mac.WrongKey || ve.Kind == mac.StaleKey || ve.Kind == mac.KeyDesync:
		return Finding{Cause: MACWrongKey, Detail: d}
	}
	return Finding{Cause: MACResponseInvalid, Detail: d}
}

// refinable are the causes the rules name better than a terminal engine's
// own classification of a link result: they use context the engine's
// switch does not look at (the sign-on's round trip, the terminal's own
// MAC, what came before on the link).
var refinable = map[ID]bool{
	NetworkSlow: true, NetworkBlackhole: true, LinkHalfOpen: true, MACNotSent: true, MACWrongKey: true,
	MACCorrupted: true, MACPaddingMismatch: true, KeysNotLoaded: true, FramingLengthHeader: true,
	FramingTrailingBytes: true, FramingTPDU: true, ResponseUnmatched: true,
}

// Refine is the one call a terminal engine makes where it picks an
// outcome's Finding: given its own finding and what it saw, it returns the
// rules' cause when the rules know more (a slow network rather than a
// timeout, the terminal's missing MAC rather than a plain RC 63, a length
// header of another format rather than a closed link), keeping the
// engine's words as evidence; otherwise the engine's finding unchanged.
// An observation with a probe after a timeout (an echo test on the same
// link) is evidence the engine lacks: the rules' cause replaces its
// timeout whatever it is (issuer slow, black hole, half-open, framing).
func Refine(o Observation, engine Finding) Finding {
	g, bad := Diagnose(o)
	if !bad || g.Cause == engine.Cause {
		return engine
	}
	if !refinable[g.Cause] && o.Probe == ProbeNone {
		return engine
	}
	g.Evidence = append(append([]Evidence(nil), engine.Evidence...), g.Evidence...)
	switch {
	case engine.Detail == "":
	case o.MACVerify != nil:
		// The engine already says what the MAC check found; the rule adds
		// the precise cause and its fix.
		g.Detail = engine.Detail
	default:
		g.Detail = engine.Detail + "; " + g.Detail
	}
	return g
}
