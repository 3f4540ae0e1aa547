package host

import "time"

// EventKind says what a host event (Host.EventLog) is about.
type EventKind int

const (
	// EventLink: a link came up, went down, was refused or evicted.
	EventLink EventKind = iota + 1
	// EventMessage: a bad, unmatched or late message on a link.
	EventMessage
	// EventDrop: a request the host did not answer, and why.
	EventDrop
	// EventFormat: a request answered RC 30 (format error).
	EventFormat
	// EventCard: a card check (PIN, expiry, read mode) that decided the RC.
	EventCard
	// EventAdvice: a void or completion and what it was matched to.
	EventAdvice
	// EventReversal: a reversal and what it reversed.
	EventReversal
	// EventMAC: a request whose MAC failed verification.
	EventMAC
	// EventKeys: working keys issued, changed, confirmed or refused.
	EventKeys
	// EventFault: a fault fired (crash, restart, unsolicited messages, a
	// fault on a message).
	EventFault
	// EventNetwork: a host-initiated network message that failed.
	EventNetwork
)

var eventKindNames = [...]string{EventLink: "link", EventMessage: "message", EventDrop: "drop", EventFormat: "format",
	EventCard: "card", EventAdvice: "advice", EventReversal: "reversal", EventMAC: "mac", EventKeys: "keys",
	EventFault: "fault", EventNetwork: "network"}

func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "unknown"
}

// Event is one notable thing the host did or saw.
type Event struct {
	Time time.Time
	Kind EventKind
	Text string
}

// String is the event as Events prints it: "15:04:05.000 text".
func (e Event) String() string { return e.Time.Format("15:04:05.000") + " " + e.Text }
