package link

import (
	"time"

	"github.com/moov-io/iso8583"
)

// EventKind is what happened on a link.
type EventKind uint8

const (
	EvSent       EventKind = iota // a message is being queued to the writer (always before its answer's EvReceived)
	EvReceived                    // a message was read and unpacked
	EvUnmatched                   // a response matched nothing in flight
	EvLate                        // a response arrived after its request timed out
	EvBadMessage                  // a frame or message could not be read
	EvDown                        // the link ended
	EvFault                       // a fault fired on a message (Detail names it)
	EvDuplicate                   // a second response to a request already answered (Late: since the first)
)

func (k EventKind) String() string {
	return [...]string{"sent", "received", "unmatched", "late", "bad-message", "down", "fault", "duplicate"}[k]
}

// Event is reported to Config.Observer. Msg may be nil.
type Event struct {
	Kind   EventKind
	Time   time.Time
	Msg    *iso8583.Message
	Detail string
	Late   time.Duration
}

func (l *Link) emit(e Event) {
	if l.cfg.Observer != nil {
		l.cfg.Observer(e)
	}
}
