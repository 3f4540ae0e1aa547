package diagnose

import (
	"errors"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

// ObservationOf fills an Observation from a link Result: what a terminal
// engine knows of every exchange without extra work. The engine adds what
// only it knows (SignOnRTT, EchoRTT, the echo Probe after a timeout, Idle,
// Late, Unmatched) and calls Diagnose — the one call where it picks the
// outcome's Finding.
func ObservationOf(d *iso.Dialect, req *iso8583.Message, r link.Result, timeout time.Duration) Observation {
	o := Observation{Timeout: timeout}
	if req != nil {
		o.MTI, _ = req.GetMTI()
		o.SentMAC = iso.Has(req, 64) || iso.Has(req, 128)
	}
	if !r.Done.IsZero() && !r.Sent.IsZero() {
		o.Took = r.Done.Sub(r.Sent)
	}
	if r.Resp != nil {
		if d != nil {
			o.RC = d.RC(r.Resp)
		} else {
			o.RC = iso.Get(r.Resp, 39)
		}
	}
	var le *link.LinkError
	switch {
	case r.Err == nil:
		o.Outcome = Answered
	case errors.Is(r.Err, link.ErrTimeout):
		o.Outcome = TimedOut
	case errors.Is(r.Err, link.ErrQueueFull), errors.Is(r.Err, link.ErrDuplicateKey):
		o.Outcome = NotSent
	case errors.As(r.Err, &le):
		o.Outcome, o.LinkFail, o.LinkErr = LinkFailed, le.Kind, le.Error()
		if d != nil {
			o.Framing = d.Framing
		}
	default:
		o.Outcome = Answered
		if ve, ok := mac.AsVerifyError(r.Err); ok {
			o.MACVerify = ve
		} else if errors.Is(r.Err, link.ErrWrongMTI) {
			o.WrongMTI = r.Err.Error()
		} else {
			o.UnpackErr = r.Err.Error()
		}
	}
	return o
}
