package scenarios

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// Event is one thing that happened during a run, on one side: a message
// sent or received, a late or unmatched response, a bad frame, a link
// down, a fault that fired, a log line, a step, an outcome.
type Event struct {
	At       time.Duration `json:"-"`
	AtMS     float64       `json:"at_ms"`
	Time     time.Time     `json:"time"`
	Side     string        `json:"side,omitempty"` // "host", a terminal id, "" for the runner
	Kind     EventKind     `json:"kind"`
	MTI      string        `json:"mti,omitempty"`
	STAN     string        `json:"stan,omitempty"`
	TID      string        `json:"tid,omitempty"`
	RC       string        `json:"rc,omitempty"`
	NMIC     string        `json:"nmic,omitempty"`
	OrigSTAN string        `json:"orig_stan,omitempty"` // reversals: the original's STAN from field 90
	Rule     string        `json:"rule,omitempty"`      // fault: the rule's label
	Type     string        `json:"type,omitempty"`      // fault: the fault type
	Summary  string        `json:"summary,omitempty"`   // masked one-line summary
	Detail   string        `json:"detail,omitempty"`
	Late     time.Duration `json:"-"`
	Step     int           `json:"step,omitempty"`
}

// EventKind is what an Event records.
type EventKind string

// The event kinds. Those a link reports (sent to down) and fault and log
// can be matched by an event expectation or a wait_for.
const (
	EvSent       EventKind = "sent"
	EvReceived   EventKind = "received"
	EvLate       EventKind = "late"
	EvUnmatched  EventKind = "unmatched"
	EvDuplicate  EventKind = "duplicate"
	EvBadMessage EventKind = "bad_message"
	EvDown       EventKind = "down"
	EvFault      EventKind = "fault"
	EvLog        EventKind = "log"
	EvStep       EventKind = "step"    // a step began
	EvNote       EventKind = "note"    // a note: step, or the end of the steps
	EvOutcome    EventKind = "outcome" // a transaction's outcome
	EvConnect    EventKind = "connect" // a terminal connected (or failed to)
)

// matchableEvents are the kinds an event matcher may name.
var matchableEvents = []EventKind{EvSent, EvReceived, EvLate, EvUnmatched, EvDuplicate, EvBadMessage, EvDown, EvFault, EvLog}

// maxEvents bounds the log (a long echo loop must not grow it forever).
const maxEvents = 50000

// recorder is the run's timeline, fed by the host's and terminals'
// observers, the fault rule sets and their loggers.
type recorder struct {
	start time.Time

	mu       sync.Mutex
	events   []Event
	dropped  int
	notify   chan struct{}
	signedOn map[string]time.Time // terminal → last approved 0810 to a sign-on
	down     map[string]time.Time // terminal → last link down
	hook     func(Event)          // Hooks.OnEvent, called outside the lock
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start, notify: make(chan struct{}), signedOn: map[string]time.Time{}, down: map[string]time.Time{}}
}

func (r *recorder) add(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.At = e.Time.Sub(r.start)
	e.AtMS = float64(e.At.Microseconds()) / 1000
	r.mu.Lock()
	if len(r.events) >= maxEvents {
		r.dropped++
	} else {
		r.events = append(r.events, e)
	}
	if e.Side != "" && e.Side != "host" {
		switch {
		case e.Kind == EvReceived && e.MTI == "0810" && e.NMIC == "001" && e.RC == "00":
			if e.Time.After(r.signedOn[e.Side]) {
				r.signedOn[e.Side] = e.Time
			}
		case e.Kind == EvDown:
			if e.Time.After(r.down[e.Side]) {
				r.down[e.Side] = e.Time
			}
		}
	}
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
	if r.hook != nil {
		r.hook(e)
	}
}

// changed is closed at the next event.
func (r *recorder) changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notify
}

func (r *recorder) signOnState(id string) (signedOn, down time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.signedOn[id], r.down[id]
}

// snapshot returns the events in time order.
func (r *recorder) snapshot() []Event {
	r.mu.Lock()
	out := append([]Event(nil), r.events...)
	r.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func (r *recorder) count(m *Matcher, stans map[string]string) int {
	n := 0
	for _, e := range r.snapshot() {
		if m.matches(&e, stans) {
			n++
		}
	}
	return n
}

// msgFields fills an event's message fields from m.
func msgFields(e *Event, m *iso8583.Message) {
	if m == nil {
		return
	}
	e.MTI, _ = m.GetMTI()
	e.STAN = iso.Get(m, 11)
	e.TID = strings.TrimRight(iso.Get(m, 41), " ")
	e.RC = iso.Get(m, 39)
	e.NMIC = iso.Get(m, 70)
	if iso.Class(e.MTI) == '4' {
		if f90 := iso.Get(m, 90); len(f90) >= 10 {
			e.OrigSTAN = f90[4:10]
		}
	}
	e.Summary = iso.Summary(m)
}

var linkKinds = map[link.EventKind]EventKind{
	link.EvSent: EvSent, link.EvReceived: EvReceived, link.EvUnmatched: EvUnmatched, link.EvLate: EvLate,
	link.EvBadMessage: EvBadMessage, link.EvDown: EvDown, link.EvDuplicate: EvDuplicate,
}

// linkEvent records a link event seen by side. Fault events are recorded
// from the rule sets (OnFire), which also see link-level faults.
func (r *recorder) linkEvent(side string, le link.Event) {
	kind, ok := linkKinds[le.Kind]
	if !ok {
		return
	}
	e := Event{Time: le.Time, Side: side, Kind: kind, Detail: le.Detail, Late: le.Late}
	msgFields(&e, le.Msg)
	r.add(e)
}

// onFire records a fault firing of the rule set attached to side.
func (r *recorder) onFire(side string) func(fault.Firing) {
	return func(f fault.Firing) {
		r.add(Event{Time: f.Time, Side: side, Kind: EvFault, Rule: f.Label, Type: f.Type, MTI: f.MTI, STAN: f.STAN, TID: f.TID,
			Detail: f.Detail, Summary: strings.TrimSpace(fmt.Sprintf("%s %s", f.MTI, stanText(f.STAN)))})
	}
}

func stanText(s string) string {
	if s == "" {
		return ""
	}
	return "stan=" + s
}

// logHandler turns a side's log lines (link up, reconnect failed, echo
// test failed...) into events.
type logHandler struct {
	r     *recorder
	side  string
	attrs []slog.Attr
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *logHandler) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	add := func(a slog.Attr) bool {
		switch a.Key {
		case "tid", "target", "dialect", "framing":
			return true
		}
		fmt.Fprintf(&b, "; %s %v", strings.ReplaceAll(a.Key, "_", " "), a.Value.Any())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	rec.Attrs(add)
	msg := rec.Message
	switch msg {
	case "link down", "host listening", "bad-message", "unmatched", "late":
		if h.side == "host" {
			return nil // the link's own events say it; listening is the setup
		}
	}
	h.r.add(Event{Time: rec.Time, Side: h.side, Kind: EvLog, Detail: b.String()})
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{r: h.r, side: h.side, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

// matches reports whether e is selected by m. stans maps step ids to the
// STAN of their transaction.
func (m *Matcher) matches(e *Event, stans map[string]string) bool {
	if e.Kind != m.Kind {
		return false
	}
	switch m.Side {
	case "":
	case "terminal":
		if e.Side == "host" || e.Side == "" {
			return false
		}
	default:
		if e.Side != m.Side {
			return false
		}
	}
	if len(m.MTI) > 0 && !contains(m.MTI, e.MTI) {
		return false
	}
	if m.StanOf != "" {
		s := stans[m.StanOf]
		if s == "" || (e.STAN != s && e.OrigSTAN != s) {
			return false
		}
	}
	if m.Contains != "" && !strings.Contains(e.Summary+" "+e.Detail, m.Contains) {
		return false
	}
	return true
}
