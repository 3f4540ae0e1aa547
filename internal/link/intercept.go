package link

import (
	"time"

	"github.com/moov-io/iso8583"
)

// Interceptor lets message-level faults act on a link's traffic: it sees
// every message this side sends before it is encoded, and every message it
// receives after it is decoded. Byte-level faults wrap the net.Conn instead.
type Interceptor interface {
	Outbound(m *iso8583.Message) Plan
	Inbound(m *iso8583.Message) Plan
}

// Plan is what an interceptor wants done with one message. The zero Plan
// sends (or takes) the message unchanged.
type Plan struct {
	// Msg, when set, replaces the message (interceptors must not change the
	// caller's message in place: the terminal builds its reversal from it).
	Msg *iso8583.Message
	// Drop: outbound, the message is not written (a request stays in flight
	// until its deadline); inbound, it is ignored as if never received.
	Drop bool
	// Delay writes the frame later, from the link's scheduler (outbound).
	Delay time.Duration
	// Copies writes that many extra copies of the frame (outbound).
	Copies int
	// Hold keeps the frame back and writes it right after the next frame
	// (outbound): two responses swap places.
	Hold bool
	// Frame rewrites the encoded frame — length header included — before it
	// is written (outbound): bad MAC bits, a lying length header, truncation.
	Frame func([]byte) []byte
	// Fired names the faults that made this plan, for transcripts.
	Fired []string
}

func (p *Plan) zero() bool {
	return p.Msg == nil && !p.Drop && p.Delay == 0 && p.Copies == 0 && !p.Hold && p.Frame == nil
}
