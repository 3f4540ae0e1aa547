package terminal

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// Class is how a transaction ended. Every transaction ends in exactly one.
type Class string

const (
	Approved        Class = "approved"
	Declined        Class = "declined"
	Reversed        Class = "timeout_reversed"         // no trustworthy answer; the reversal was acknowledged
	ReversalPending Class = "timeout_reversal_pending" // no trustworthy answer; the reversal is stored to send again
	TimedOut        Class = "timed_out"                // no answer, nothing to reverse (echo, balance, sign-on)
	LinkFailed      Class = "link_failed"              // the link broke with the request in flight
	NotSent         Class = "not_sent"                 // never written: no link, connect failed, queue full
)

// Outcome is the result of one transaction, with everything a person needs
// to understand it.
type Outcome struct {
	Kind      Kind
	Class     Class
	STAN      string
	RC        string
	RCMeaning string
	RRN       string
	AuthCode  string
	Latency   time.Duration // write → response (or → failure)
	// Why says what was seen, in words: "response timeout after 10s",
	// "link reset by peer", "connect refused by 127.0.0.1:8583"...
	Why      string
	Reversal *ReversalResult
	Req      *iso8583.Message
	Resp     *iso8583.Message
}

// ReversalResult is what happened to the reversal of a transaction.
type ReversalResult struct {
	STAN     string
	Attempts int  // 0400 + 0401 repeats sent
	Acked    bool // a 0410 arrived
	Pending  bool // stored to send again (store-and-forward)
	Why      string
}

func (o Outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %s", o.Kind, strings.ToUpper(strings.ReplaceAll(string(o.Class), "_", " ")))
	if o.STAN != "" {
		fmt.Fprintf(&b, "  stan=%s", o.STAN)
	}
	if o.RC != "" {
		fmt.Fprintf(&b, "  rc=%s (%s)", o.RC, o.RCMeaning)
	}
	if o.AuthCode != "" {
		fmt.Fprintf(&b, "  auth=%s", o.AuthCode)
	}
	if o.RRN != "" {
		fmt.Fprintf(&b, "  rrn=%s", o.RRN)
	}
	if o.Latency > 0 {
		fmt.Fprintf(&b, "  %s", o.Latency.Round(100*time.Microsecond))
	}
	if o.Why != "" {
		fmt.Fprintf(&b, "\n         why: %s", o.Why)
	}
	if r := o.Reversal; r != nil {
		state := "acknowledged (0410)"
		if !r.Acked {
			state = "NOT acknowledged — pending (store-and-forward)"
		}
		fmt.Fprintf(&b, "\n         reversal stan=%s: %d sent, %s", r.STAN, r.Attempts, state)
		if r.Why != "" {
			fmt.Fprintf(&b, "; %s", r.Why)
		}
	}
	return b.String()
}

// DialError classifies a failed connect.
func DialError(addr string, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connect refused by %s (nothing listening: host down or wrong port)", addr)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("connect timeout to %s (host unreachable or filtered)", addr)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("connect to %s reset by peer", addr)
	}
	return fmt.Sprintf("cannot connect to %s: %v", addr, err)
}

// explain says in words why a request got no trustworthy answer.
func explain(r link.Result, timeout time.Duration) string {
	var le *link.LinkError
	switch {
	case errors.Is(r.Err, link.ErrTimeout):
		return fmt.Sprintf("response timeout: no answer within %s", timeout)
	case errors.Is(r.Err, link.ErrWrongMTI):
		return r.Err.Error()
	case errors.As(r.Err, &le):
		return le.Error()
	case r.Resp != nil && r.Err != nil:
		return "response could not be read: " + r.Err.Error()
	case r.Err != nil:
		return r.Err.Error()
	}
	return ""
}

func fill(o *Outcome, resp *iso8583.Message) {
	o.Resp = resp
	o.RC = iso.Get(resp, 39)
	o.RCMeaning = iso.RCMeaning(o.RC)
	o.RRN = iso.Get(resp, 37)
	o.AuthCode = strings.TrimSpace(iso.Get(resp, 38))
}
