package studio

import (
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// The hub is the studio's model of what the page shows: the ladder as
// numbered rows, the merchant's screen, the failed transactions and the
// scenario on stage. Link events go in from any goroutine; the page's
// streams take the rows changed since their last look. Everything is
// bounded (rows, kept messages, changes), so a 1 000 messages/s stream
// runs for hours in the same memory.

// Row types.
const (
	RowMsg     = "msg"     // a message from one lane to another
	RowArrival = "arrival" // a message that arrived after other rows: its arrowhead
	RowNote    = "note"    // something that happened on one lane (link down, a fault on the link, a log line)
	RowOutcome = "outcome" // a transaction ended (merchant's words and the cause)
	RowStep    = "step"    // a scenario step begins
)

// Message states.
const (
	StateInFlight = "in_flight" // sent, not (yet) seen at the other end
	StateDone     = "delivered"
	StateLost     = "lost"      // never arrived (dropped, or in flight for too long)
	StateLate     = "late"      // arrived after its request had timed out
	StateBad      = "bad"       // arrived and could not be read or trusted
	StateUnmatch  = "unmatched" // arrived and matched no request
	StateSentOnly = "sent"      // the other end is not observed (an external host)
)

// Row is one line of the ladder. Times are milliseconds since the session
// started.
type Row struct {
	N    int64   `json:"n"`
	Type string  `json:"type"`
	AtMS float64 `json:"at_ms"`
	Lane string  `json:"lane,omitempty"` // note, outcome, step: where it happened

	// RowMsg and RowArrival
	Msg       int64    `json:"msg,omitempty"` // message id (details: GET /api/messages/{id})
	From      string   `json:"from,omitempty"`
	To        string   `json:"to,omitempty"`
	MTI       string   `json:"mti,omitempty"`
	What      string   `json:"what,omitempty"` // "purchase request", "reversal response"...
	STAN      string   `json:"stan,omitempty"`
	TID       string   `json:"tid,omitempty"`
	RC        string   `json:"rc,omitempty"`
	RCText    string   `json:"rc_text,omitempty"`
	State     string   `json:"state,omitempty"`
	TransitMS float64  `json:"transit_ms,omitempty"` // sent → received
	RoundMS   float64  `json:"round_ms,omitempty"`   // a response: its request sent → it received
	LateMS    float64  `json:"late_ms,omitempty"`
	Faults    []string `json:"faults,omitempty"` // faults that fired on it: "drop (lost-0210)"
	Arrival   int64    `json:"arrival,omitempty"`
	Detail    string   `json:"detail,omitempty"`

	// RowNote, RowOutcome, RowStep
	Icon string  `json:"icon,omitempty"`
	Tone string  `json:"tone,omitempty"` // ok, bad, warn, info
	Text string  `json:"text,omitempty"`
	Tx   *TxView `json:"tx,omitempty"`

	v       uint64
	sentAt  time.Time
	key     string
	recvAt  time.Time
	faultAt time.Time // a fault made the row before the message was sent
}

// keptMsg is a message kept for its details: the copy each end saw.
type keptMsg struct {
	id             int64
	sent, received *iso8583.Message
	fromD, toD     *iso.Dialect
	from, to       string
}

const (
	defaultRows     = 5000 // rows the server keeps ("load older" reaches this far)
	defaultKeptMsgs = 1000 // messages whose fields can still be opened
	maxChanges      = 8192 // changes a slow page can lag behind before it reloads
	arrivalAfter    = 50 * time.Millisecond
)

type hub struct {
	start     time.Time
	lostAfter time.Duration

	mu       sync.Mutex
	rows     []*Row // ring by N % len
	nextN    int64
	oldestN  int64
	changes  []int64 // ring: the row changed at version v is changes[v % len]
	version  uint64
	msgs     []*keptMsg // ring by id % len
	nextMsg  int64
	pending  map[string][]*Row // key → messages in flight, oldest first
	lastGot  map[string]*Row   // lane → message it received last (a late event follows its received event)
	reqSent  map[string]time.Time
	lanes    []string
	tidLane  map[string]string
	dialect  map[string]*iso.Dialect
	proxied  bool   // a proxy lane sits between the session's terminal and the host
	proxyTID string // the terminal behind the proxy (scenarios' terminals are not)
	hostSeen bool   // the host's events come in (false: an external host)

	state      State
	stateV     uint64
	notify     chan struct{}
	droppedOld int64
}

func newHub(lanes []string, lostAfter time.Duration) *hub {
	h := &hub{start: time.Now(), lostAfter: lostAfter, rows: make([]*Row, defaultRows), changes: make([]int64, maxChanges),
		msgs: make([]*keptMsg, defaultKeptMsgs), pending: map[string][]*Row{}, lastGot: map[string]*Row{},
		reqSent: map[string]time.Time{}, lanes: append([]string(nil), lanes...), tidLane: map[string]string{},
		dialect: map[string]*iso.Dialect{}, notify: make(chan struct{}), nextN: 1, oldestN: 1, nextMsg: 1}
	h.state.Lanes = h.lanes
	return h
}

func (h *hub) ms(t time.Time) float64 { return float64(t.Sub(h.start).Microseconds()) / 1000 }

// touch records that r changed; h.mu held.
func (h *hub) touch(r *Row) {
	h.version++
	r.v = h.version
	h.changes[h.version%uint64(len(h.changes))] = r.N
	h.wake()
}

func (h *hub) wake() {
	close(h.notify)
	h.notify = make(chan struct{})
}

// add appends a new row; h.mu held.
func (h *hub) add(r *Row) *Row {
	r.N = h.nextN
	h.nextN++
	slot := int(r.N % int64(len(h.rows)))
	if old := h.rows[slot]; old != nil {
		h.oldestN = old.N + 1
		h.droppedOld++
	}
	h.rows[slot] = r
	h.touch(r)
	return r
}

func (h *hub) row(n int64) *Row {
	if n < h.oldestN || n >= h.nextN {
		return nil
	}
	r := h.rows[int(n%int64(len(h.rows)))]
	if r == nil || r.N != n {
		return nil
	}
	return r
}

// setLane says which lane a TID belongs to and the dialect of a lane.
func (h *hub) setLane(lane, tid string, d *iso.Dialect) {
	h.mu.Lock()
	defer h.mu.Unlock()
	found := false
	for _, l := range h.lanes {
		found = found || l == lane
	}
	if !found { // a second terminal: a lane before the host's
		n := len(h.lanes)
		if n > 0 && h.lanes[n-1] == LaneHost {
			h.lanes = append(h.lanes[:n-1:n-1], lane, LaneHost)
		} else {
			h.lanes = append(h.lanes, lane)
		}
		h.state.Lanes = append([]string(nil), h.lanes...)
		h.stateChanged()
	}
	if tid != "" {
		h.tidLane[tid] = lane
	}
	if d != nil {
		h.dialect[lane] = d
	}
}

// peer is the lane at the other end of a message seen on lane.
func (h *hub) peer(lane, tid string) string {
	if h.proxied && tid == h.proxyTID {
		return LaneProxy
	}
	if lane != LaneHost {
		return LaneHost
	}
	if l, ok := h.tidLane[tid]; ok {
		return l
	}
	return LaneTerminal
}

// msgInfo reads the fields a ladder row shows.
func msgInfo(r *Row, m *iso8583.Message) {
	r.MTI, _ = m.GetMTI()
	r.STAN = iso.Get(m, 11)
	r.TID = strings.TrimRight(iso.Get(m, 41), " ")
	r.RC = iso.Get(m, 39)
	if r.RC != "" {
		r.RCText = iso.RCMeaning(r.RC)
	}
	r.What = mtiWords(r.MTI, iso.Get(m, 3), iso.Get(m, 70))
}

func msgKey(from, to, mti, tid, stan string) string {
	return from + ">" + to + "|" + mti + "|" + tid + "|" + stan
}

// Wire takes a link event seen on lane (terminal lanes, "host").
// hasPeer says whether the other end's events come in too (false for an
// external host).
func (h *hub) Wire(lane string, e link.Event, hasPeer bool) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch e.Kind {
	case link.EvSent:
		if e.Msg == nil {
			return
		}
		h.sent(lane, e, hasPeer)
	case link.EvReceived:
		if e.Msg == nil {
			return
		}
		h.received(lane, e, hasPeer)
	case link.EvLate:
		if r := h.lastGot[lane]; r != nil && e.Msg != nil && r.STAN == iso.Get(e.Msg, 11) {
			r.State = StateLate
			r.LateMS = float64(e.Late.Microseconds()) / 1000
			r.Detail = e.Detail
			if r.Arrival == 0 && h.nextN > r.N+1 {
				h.arrival(r)
			}
			h.touch(r)
			if a := h.row(r.Arrival); a != nil {
				a.State, a.LateMS, a.Detail = r.State, r.LateMS, r.Detail
				h.touch(a)
			}
			return
		}
		h.note(lane, e.Time, "⚠", "warn", "late: "+e.Detail)
	case link.EvUnmatched:
		if r := h.lastGot[lane]; r != nil && e.Msg != nil && r.STAN == iso.Get(e.Msg, 11) {
			r.State, r.Detail = StateUnmatch, e.Detail
			h.touch(r)
			return
		}
		h.note(lane, e.Time, "?", "warn", e.Detail)
	case link.EvBadMessage:
		if e.Msg != nil {
			mti, _ := e.Msg.GetMTI()
			tid := strings.TrimRight(iso.Get(e.Msg, 41), " ")
			k := msgKey(h.peer(lane, tid), lane, mti, tid, iso.Get(e.Msg, 11))
			if r := h.pop(k); r != nil {
				h.deliver(r, e.Msg, e.Time, lane)
				r.State, r.Detail = StateBad, e.Detail
				h.touch(r)
				return
			}
		}
		h.note(lane, e.Time, "✖", "bad", "unreadable: "+e.Detail)
	case link.EvDown:
		if e.Detail == link.FailLocalClose.String() {
			return
		}
		h.note(lane, e.Time, "✖", "bad", "link down: "+e.Detail)
	case link.EvFault:
		// Faults come from the rule sets (Fault), which also see the link
		// faults that have no message.
	}
}

func (h *hub) sent(lane string, e link.Event, hasPeer bool) {
	r := &Row{Type: RowMsg, AtMS: h.ms(e.Time), From: lane, State: StateInFlight, sentAt: e.Time}
	msgInfo(r, e.Msg)
	r.To = h.peer(lane, r.TID)
	r.key = msgKey(r.From, r.To, r.MTI, r.TID, r.STAN)
	// A fault on the sender's way out fires before the message is sent:
	// it made the row already.
	if q := h.pending[r.key]; len(q) > 0 && q[len(q)-1].sentAt.IsZero() {
		old := q[len(q)-1]
		old.sentAt = e.Time
		h.keep(old, e.Msg, lane, true)
		if old.State == StateLost { // dropped on the way out: it never reaches the peer
			if len(q) == 1 {
				delete(h.pending, r.key)
			} else {
				h.pending[r.key] = q[:len(q)-1]
			}
		}
		h.touch(old)
		return
	}
	if !hasPeer {
		r.State = StateSentOnly
	}
	h.add(r)
	h.keep(r, e.Msg, lane, true)
	if hasPeer {
		h.pending[r.key] = append(h.pending[r.key], r)
	}
	if iso.IsRequest(r.MTI) {
		h.reqSent[lane+"|"+r.TID+"|"+r.STAN+"|"+iso.Pair(r.MTI)] = e.Time
	}
}

func (h *hub) received(lane string, e link.Event, hasPeer bool) {
	mti, _ := e.Msg.GetMTI()
	tid := strings.TrimRight(iso.Get(e.Msg, 41), " ")
	stan := iso.Get(e.Msg, 11)
	from := h.peer(lane, tid)
	var r *Row
	if hasPeer {
		r = h.pop(msgKey(from, lane, mti, tid, stan))
	}
	if r == nil { // not seen leaving (an external host, or sent before we looked)
		r = &Row{Type: RowMsg, AtMS: h.ms(e.Time), From: from, To: lane}
		msgInfo(r, e.Msg)
		h.add(r)
		if hasPeer {
			r.Detail = "not seen leaving " + from
		}
	}
	h.deliver(r, e.Msg, e.Time, lane)
	if iso.IsResponse(mti) {
		k := lane + "|" + tid + "|" + stan + "|" + iso.Pair(mti)
		if t, ok := h.reqSent[k]; ok {
			r.RoundMS = float64(e.Time.Sub(t).Microseconds()) / 1000
			delete(h.reqSent, k)
		}
	}
	h.lastGot[lane] = r
	h.touch(r)
}

// deliver marks r received at t; h.mu held.
func (h *hub) deliver(r *Row, m *iso8583.Message, t time.Time, lane string) {
	r.recvAt = t
	if r.State == StateInFlight || r.State == StateLost || r.State == "" {
		r.State = StateDone
	}
	if !r.sentAt.IsZero() {
		r.TransitMS = float64(t.Sub(r.sentAt).Microseconds()) / 1000
		// Other rows came between its leaving and its arrival: its
		// arrowhead goes where it arrived, so a late answer shows after
		// the reversal.
		if h.nextN > r.N+1 && t.Sub(r.sentAt) >= arrivalAfter {
			h.arrival(r)
		}
	}
	h.keep(r, m, lane, false)
}

func (h *hub) arrival(r *Row) {
	a := &Row{Type: RowArrival, AtMS: h.ms(r.recvAt), Msg: r.Msg, From: r.From, To: r.To, MTI: r.MTI, What: r.What,
		STAN: r.STAN, TID: r.TID, RC: r.RC, RCText: r.RCText, State: r.State, TransitMS: r.TransitMS, Faults: r.Faults}
	if r.recvAt.IsZero() {
		a.AtMS = h.ms(time.Now())
	}
	h.add(a)
	r.Arrival = a.N
}

func (h *hub) pop(k string) *Row {
	q := h.pending[k]
	if len(q) == 0 {
		return nil
	}
	r := q[0]
	if len(q) == 1 {
		delete(h.pending, k)
	} else {
		h.pending[k] = q[1:]
	}
	return r
}

// keep stores the message of r for its details; h.mu held.
func (h *hub) keep(r *Row, m *iso8583.Message, lane string, sent bool) {
	var k *keptMsg
	if r.Msg != 0 {
		if old := h.msgs[int(r.Msg%int64(len(h.msgs)))]; old != nil && old.id == r.Msg {
			k = old
		}
	}
	if k == nil {
		if r.Msg != 0 {
			return // too old: its slot went to a newer message
		}
		k = &keptMsg{id: h.nextMsg, from: r.From, to: r.To, fromD: h.dialect[r.From], toD: h.dialect[r.To]}
		h.nextMsg++
		h.msgs[int(k.id%int64(len(h.msgs)))] = k
		r.Msg = k.id
	}
	if sent {
		k.sent = m
	} else {
		k.received = m
	}
}

// ProxyLine takes one message the proxy read and forwarded (or dropped):
// it completes the hop into the proxy and starts the hop out of it.
func (h *hub) ProxyLine(upstream bool, t time.Time, m *iso8583.Message, summary, faults string, dropped bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m == nil {
		h.note(LaneProxy, t, "✖", "bad", summary)
		return
	}
	mti, _ := m.GetMTI()
	tid := strings.TrimRight(iso.Get(m, 41), " ")
	stan := iso.Get(m, 11)
	from, to := h.tidLane[tid], LaneHost
	if from == "" {
		from = LaneTerminal
	}
	if !upstream {
		from, to = LaneHost, from
	}
	in := h.pop(msgKey(from, LaneProxy, mti, tid, stan))
	if in == nil {
		in = &Row{Type: RowMsg, AtMS: h.ms(t), From: from, To: LaneProxy}
		msgInfo(in, m)
		h.add(in)
	}
	h.deliver(in, m, t, LaneProxy)
	h.touch(in)
	out := &Row{Type: RowMsg, AtMS: h.ms(t), From: LaneProxy, To: to, State: StateInFlight, sentAt: t}
	msgInfo(out, m)
	out.key = msgKey(LaneProxy, to, out.MTI, out.TID, out.STAN)
	for _, f := range strings.Split(faults, ", ") {
		if f != "" {
			out.Faults = append(out.Faults, f)
		}
	}
	peerSeen := to != LaneHost || h.hostSeen
	switch {
	case dropped:
		out.State, out.Detail = StateLost, "dropped at the proxy by fault "+faults
	case !peerSeen:
		out.State = StateSentOnly
	}
	h.add(out)
	h.keep(out, m, LaneProxy, true)
	if !dropped && peerSeen {
		h.pending[out.key] = append(h.pending[out.key], out)
	}
}

// FaultFired marks a fault that fired on lane. With a message (mti/stan),
// the fault goes on that message's arrow; a drop makes it lost. Without,
// it is a note on the lane (a link fault: reset, blackhole...).
func (h *hub) FaultFired(lane, typ, label, mti, stan, tid, detail string, t time.Time) {
	if t.IsZero() {
		t = time.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	name := typ
	if label != "" && label != typ && !strings.HasPrefix(label, typ+"#") {
		name += " (" + label + ")"
	}
	if mti == "" {
		text := "fault " + name
		if detail != "" {
			text += ": " + detail
		}
		h.note(lane, t, "⚡", "warn", text)
		return
	}
	tid = strings.TrimRight(tid, " ")
	// Inbound: a message on its way to lane. Outbound: one lane sends.
	var r *Row
	if q := h.pending[msgKey(h.peer(lane, tid), lane, mti, tid, stan)]; len(q) > 0 {
		r = q[0]
		if typ == "drop" {
			h.pop(r.key)
		}
	} else {
		k := msgKey(lane, h.peer(lane, tid), mti, tid, stan)
		if q := h.pending[k]; len(q) > 0 && q[len(q)-1].sentAt.IsZero() {
			r = q[len(q)-1]
		} else {
			// The fault fires before the message leaves: the row starts
			// here and the send (if any: a drop may send nothing) joins it.
			r = &Row{Type: RowMsg, AtMS: h.ms(t), From: lane, To: h.peer(lane, tid), MTI: mti, STAN: stan, TID: tid,
				What: mtiWords(mti, "", ""), State: StateInFlight, key: k, faultAt: t}
			h.add(r)
			h.pending[k] = append(h.pending[k], r)
		}
	}
	r.Faults = append(r.Faults, name)
	if typ == "drop" {
		r.State = StateLost
		r.Detail = "dropped by fault " + name
	}
	h.touch(r)
}

// note adds a note row; h.mu held.
func (h *hub) note(lane string, t time.Time, icon, tone, text string) *Row {
	return h.add(&Row{Type: RowNote, AtMS: h.ms(t), Lane: lane, Icon: icon, Tone: tone, Text: text})
}

// Note adds a note row.
func (h *hub) Note(lane, icon, tone, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.note(lane, time.Now(), icon, tone, text)
}

// Step adds a scenario step row.
func (h *hub) Step(text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.add(&Row{Type: RowStep, AtMS: h.ms(time.Now()), Icon: "▶", Tone: "info", Text: text})
}

// expire marks messages in flight for longer than lostAfter as lost and
// forgets them (the map must not grow with a blackholed link).
func (h *hub) expire(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, q := range h.pending {
		keep := q[:0]
		for _, r := range q {
			from := r.sentAt
			if from.IsZero() {
				from = r.faultAt
			}
			if now.Sub(from) > h.lostAfter {
				if r.State == StateInFlight {
					r.State = StateLost
					if r.Detail == "" {
						r.Detail = "never arrived (in flight for more than " + h.lostAfter.String() + ")"
					}
					h.touch(r)
				}
				continue
			}
			keep = append(keep, r)
		}
		if len(keep) == 0 {
			delete(h.pending, k)
		} else {
			h.pending[k] = keep
		}
	}
	for k, t := range h.reqSent {
		if now.Sub(t) > 4*h.lostAfter {
			delete(h.reqSent, k)
		}
	}
	for l, r := range h.lastGot {
		if r.N < h.oldestN {
			delete(h.lastGot, l)
		}
	}
}

// Batch is what a page receives: rows new or changed since its version,
// and the state when it changed.
type Batch struct {
	Version uint64 `json:"version"`
	Rows    []*Row `json:"rows"`
	// Reset: the page fell too far behind (or just connected): these rows
	// are the newest window; drop what you have.
	Reset bool `json:"reset,omitempty"`
	// Skipped counts changed rows not sent (older than the window): "load
	// older" fetches them.
	Skipped int    `json:"skipped,omitempty"`
	Oldest  int64  `json:"oldest"` // the oldest row the server still has
	State   *State `json:"state,omitempty"`
}

const batchMax = 400 // rows per batch: the page shows no more at once

// since returns the batch for a page at version v that has seen state
// version sv.
func (h *hub) since(v, sv uint64) (Batch, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := Batch{Version: h.version, Oldest: h.oldestN}
	if h.stateV != sv {
		st := h.state.clone()
		b.State = &st
	}
	if v == h.version {
		return b, h.stateV
	}
	if v == 0 || h.version-v >= uint64(len(h.changes)) {
		b.Reset = true
		from := max(h.oldestN, h.nextN-batchMax)
		for n := from; n < h.nextN; n++ {
			if r := h.row(n); r != nil {
				b.Rows = append(b.Rows, copyRow(r))
			}
		}
		return b, h.stateV
	}
	seen := map[int64]bool{}
	var ns []int64
	for x := h.version; x > v; x-- {
		n := h.changes[x%uint64(len(h.changes))]
		if !seen[n] {
			seen[n] = true
			ns = append(ns, n)
		}
	}
	// newest first in ns: keep the newest batchMax, send oldest first
	if len(ns) > batchMax {
		b.Skipped = len(ns) - batchMax
		ns = ns[:batchMax]
	}
	for i := len(ns) - 1; i >= 0; i-- {
		if r := h.row(ns[i]); r != nil {
			b.Rows = append(b.Rows, copyRow(r))
		}
	}
	return b, h.stateV
}

// older returns up to limit rows before row n, oldest first.
func (h *hub) older(before int64, limit int) []*Row {
	h.mu.Lock()
	defer h.mu.Unlock()
	if before <= 0 || before > h.nextN {
		before = h.nextN
	}
	var out []*Row
	for n := max(h.oldestN, before-int64(limit)); n < before; n++ {
		if r := h.row(n); r != nil {
			out = append(out, copyRow(r))
		}
	}
	return out
}

// all returns every row kept, oldest first (the trace).
func (h *hub) all() ([]*Row, int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Row, 0, h.nextN-h.oldestN)
	for n := h.oldestN; n < h.nextN; n++ {
		if r := h.row(n); r != nil {
			out = append(out, copyRow(r))
		}
	}
	return out, h.droppedOld
}

func copyRow(r *Row) *Row {
	c := *r
	c.Faults = append([]string(nil), r.Faults...)
	return &c
}

// message returns the kept message id.
func (h *hub) message(id int64) *keptMsg {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := h.msgs[int(id%int64(len(h.msgs)))]
	if k == nil || k.id != id {
		return nil
	}
	c := *k
	return &c
}

// changed is closed at the next change.
func (h *hub) changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.notify
}

// mtiWords names a message for people: "purchase request".
func mtiWords(mti, pc, nmic string) string {
	if len(mti) != 4 {
		return mti
	}
	var what string
	switch mti[1] {
	case '1':
		what = "authorization"
		if strings.HasPrefix(pc, "31") {
			what = "balance"
		}
	case '2':
		what = "purchase"
		switch {
		case strings.HasPrefix(pc, "20"):
			what = "refund"
		case strings.HasPrefix(pc, "02"):
			what = "void"
		}
	case '4':
		what = "reversal"
	case '8':
		what = "network"
		switch nmic {
		case "001":
			what = "sign-on"
		case "002":
			what = "sign-off"
		case "301":
			what = "echo"
		case "101":
			what = "key change"
		}
	default:
		what = "message"
	}
	switch mti[2] {
	case '0':
		if mti[3] == '1' || mti[3] == '3' {
			return what + " repeat"
		}
		return what + " request"
	case '1':
		return what + " response"
	case '2':
		return what + " advice"
	case '3':
		return what + " advice response"
	}
	return what
}

func (h *hub) oldest() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.oldestN
}
