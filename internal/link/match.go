package link

import (
	"fmt"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// Match says which parts of a message make the key that pairs a response
// with its request. The default, TID (41) + STAN (11), is what POS hosts use.
type Match struct {
	TID, STAN, RRN, MTIClass bool
}

// DefaultMatch is TID + STAN.
var DefaultMatch = Match{TID: true, STAN: true}

// ParseMatch reads "tid,stan[,rrn][,mti]".
func ParseMatch(s string) (Match, error) {
	var m Match
	for _, p := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "tid", "41":
			m.TID = true
		case "stan", "11":
			m.STAN = true
		case "rrn", "37":
			m.RRN = true
		case "mti", "class":
			m.MTIClass = true
		default:
			return m, fmt.Errorf("matching key part %q: valid parts are tid, stan, rrn, mti", p)
		}
	}
	if !m.TID && !m.STAN && !m.RRN {
		return m, fmt.Errorf("matching key %q needs at least one of tid, stan, rrn", s)
	}
	return m, nil
}

// Key is a matching key; parts not in the Match are empty.
type Key struct {
	TID, STAN, RRN string
	Class          byte
}

func (k Key) String() string {
	var parts []string
	if k.TID != "" {
		parts = append(parts, "TID "+k.TID)
	}
	if k.STAN != "" {
		parts = append(parts, "STAN "+k.STAN)
	}
	if k.RRN != "" {
		parts = append(parts, "RRN "+k.RRN)
	}
	if k.Class != 0 {
		parts = append(parts, "class "+string(k.Class))
	}
	return strings.Join(parts, ", ")
}

func (m Match) key(msg *iso8583.Message, mti string) Key {
	var k Key
	if m.TID {
		k.TID = strings.TrimRight(iso.Get(msg, 41), " ")
	}
	if m.STAN {
		k.STAN = iso.Get(msg, 11)
	}
	if m.RRN {
		k.RRN = iso.Get(msg, 37)
	}
	if m.MTIClass {
		k.Class = iso.Class(mti)
	}
	return k
}

// unmatchedReason explains, for a response whose key matches nothing, which
// key part differed from what is in flight. Called with l.mu held; the
// in-flight table is bounded, and this path is rare.
func unmatchedReason(k Key, inflight map[Key]*pending) string {
	var sameTID, sameSTAN *pending
	for pk, p := range inflight {
		if k.TID != "" && pk.TID == k.TID && sameTID == nil {
			sameTID = p
		}
		if k.STAN != "" && pk.STAN == k.STAN && sameSTAN == nil {
			sameSTAN = p
		}
	}
	switch {
	case sameTID != nil && sameTID.key.STAN != k.STAN:
		return fmt.Sprintf("STAN differs: got %s, in flight for TID %s: STAN %s", k.STAN, k.TID, sameTID.key.STAN)
	case sameSTAN != nil && sameSTAN.key.TID != k.TID:
		return fmt.Sprintf("TID differs: got %q, STAN %s is in flight for TID %q", k.TID, k.STAN, sameSTAN.key.TID)
	case sameTID != nil:
		return fmt.Sprintf("RRN or class differs for %s (in flight: %s)", k, sameTID.key)
	case len(inflight) == 0:
		return fmt.Sprintf("nothing in flight (%s)", k)
	}
	return fmt.Sprintf("no request in flight with %s", k)
}

// expiredRing remembers recently timed-out keys so that a response that
// arrives after its deadline is classified late (with how late), not
// unmatched. Bounded: the oldest entries are forgotten first.
type expiredRing struct {
	slots []expiredSlot // grows up to max, then wraps
	at    map[Key]time.Time
	next  int
	max   int
}

type expiredSlot struct {
	key Key
	at  time.Time
}

// newExpiredRing remembers up to n keys. Nothing is allocated until the
// first timeout: most links never have one.
func newExpiredRing(n int) *expiredRing { return &expiredRing{max: n} }

func (r *expiredRing) add(k Key, deadline time.Time) {
	if r.at == nil {
		r.at = make(map[Key]time.Time)
	}
	if len(r.slots) < r.max {
		r.slots = append(r.slots, expiredSlot{k, deadline})
		r.at[k] = deadline
		r.next = len(r.slots) % r.max
		return
	}
	if old := r.slots[r.next]; old.key != (Key{}) && r.at[old.key].Equal(old.at) {
		delete(r.at, old.key)
	}
	r.slots[r.next] = expiredSlot{k, deadline}
	r.at[k] = deadline
	r.next = (r.next + 1) % len(r.slots)
}

func (r *expiredRing) take(k Key) (time.Time, bool) {
	if r.at == nil {
		return time.Time{}, false
	}
	d, ok := r.at[k]
	if ok {
		delete(r.at, k)
	}
	return d, ok
}
