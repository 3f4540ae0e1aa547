package link

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

var (
	// ErrTimeout: no response before the request's deadline.
	ErrTimeout = errors.New("response timeout")
	// ErrQueueFull: the writer queue stayed full for the whole write timeout;
	// the request was never written (not sent).
	ErrQueueFull = errors.New("not sent: writer queue full")
	// ErrDuplicateKey: a request with the same matching key is already in
	// flight on this link; it was not sent.
	ErrDuplicateKey = errors.New("not sent: a request with the same key (TID+STAN) is already in flight")
	// ErrClosedLocally: this side closed the link.
	ErrClosedLocally = errors.New("link closed locally")
	// ErrWrongMTI: the response matched a request by key but its MTI does not
	// answer the request's MTI.
	ErrWrongMTI = errors.New("response MTI does not answer the request")
)

// LinkError says a request failed because its link failed; Cause says how.
type LinkError struct {
	Kind  FailKind
	Cause error
}

func (e *LinkError) Error() string {
	if e.Cause == nil {
		return e.Kind.String()
	}
	return e.Kind.String() + ": " + e.Cause.Error()
}
func (e *LinkError) Unwrap() error { return e.Cause }

// FailKind classifies why a link ended, in the words a user needs.
type FailKind uint8

const (
	FailLocalClose   FailKind = iota
	FailPeerClosed            // FIN from the peer
	FailPeerReset             // RST from the peer
	FailIdle                  // nothing read within the idle timeout
	FailWriteTimeout          // the peer stopped reading (write deadline passed)
	FailFraming               // framing lost: bad length header, oversize frame, truncated frame
	FailIO                    // any other socket error
)

func (k FailKind) String() string {
	switch k {
	case FailLocalClose:
		return "link closed locally"
	case FailPeerClosed:
		return "link closed by peer"
	case FailPeerReset:
		return "link reset by peer"
	case FailIdle:
		return "link idle timeout"
	case FailWriteTimeout:
		return "write timeout (peer not reading)"
	case FailFraming:
		return "framing lost"
	}
	return "link I/O error"
}

// classify turns a socket error into a FailKind.
func classify(err error, reading bool) FailKind {
	switch {
	case errors.Is(err, ErrClosedLocally), errors.Is(err, net.ErrClosed):
		return FailLocalClose
	case errors.Is(err, io.EOF):
		return FailPeerClosed
	case errors.Is(err, io.ErrUnexpectedEOF):
		return FailFraming
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return FailPeerReset
	case errors.Is(err, os.ErrDeadlineExceeded):
		if reading {
			return FailIdle
		}
		return FailWriteTimeout
	}
	var fe *FrameError
	if errors.As(err, &fe) {
		return FailFraming
	}
	return FailIO
}

// FrameError is a frame the reader could not take: framing is lost.
type FrameError struct{ Reason string }

func (e *FrameError) Error() string { return "framing lost: " + e.Reason }

func frameErr(format string, a ...any) error { return &FrameError{Reason: fmt.Sprintf(format, a...)} }
