package terminal

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/outcome"
)

// Outcome is the one outcome model (internal/outcome).
type Outcome = outcome.Outcome

// Class is how a transaction ended (internal/outcome).
type Class = outcome.Class

// ReversalResult is the reversal's story (internal/outcome).
type ReversalResult = outcome.Reversal

// The classes under the names the terminal has always used.
const (
	Approved        = outcome.Approved
	Declined        = outcome.Declined
	Reversed        = outcome.TimedOutReversed        // no trustworthy answer; the reversal was acknowledged
	ReversalPending = outcome.TimedOutReversalPending // no trustworthy answer; the reversal is stored to send again
	TimedOut        = outcome.TimedOutNoReversal      // no answer, nothing to reverse (echo, balance, sign-on)
	LinkFailed      = outcome.LinkFailed              // the link broke with the request in flight
	NotSent         = outcome.NotSent                 // never written: no link, connect failed, queue full
	Failed          = outcome.Failed                  // answered, but the answer failed the POS checks
)

// dialCause classifies a failed connect: words and catalogue id.
func dialCause(addr string, err error) (string, diagnose.ID) {
	var ne net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connect refused by %s (nothing listening: host down or wrong port)", addr), diagnose.HostRefused
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve %s: %v", addr, dnsErr), diagnose.HostUnreachable
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("connect timeout to %s (host unreachable or filtered)", addr), diagnose.HostUnreachable
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("connect to %s reset by peer", addr), diagnose.LinkReset
	}
	return fmt.Sprintf("cannot connect to %s: %v", addr, err), diagnose.HostUnreachable
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
