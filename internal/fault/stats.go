package fault

import (
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// Firing is one time a rule fired.
type Firing struct {
	Time   time.Time `json:"time"`
	Rule   int       `json:"rule"`
	Label  string    `json:"label"` // the rule's name, or type#id
	Type   string    `json:"type"`
	Stream Stream    `json:"stream"` // the direction of the message or connection
	MTI    string    `json:"mti,omitempty"`
	STAN   string    `json:"stan,omitempty"`
	TID    string    `json:"tid,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// RuleStats counts one rule's firings.
type RuleStats struct {
	ID     int    `json:"id"`
	Label  string `json:"label"`
	Type   string `json:"type"`
	Spec   string `json:"spec"`
	Seen   uint64 `json:"seen"`   // messages (or connections) that passed its filters
	Fired  uint64 `json:"fired"`  // times it fired
	Active bool   `json:"active"` // false once removed
}

// Stats counts every rule's firings, including rules removed since.
func (rs *RuleSet) Stats() []RuleStats {
	if rs == nil {
		return nil
	}
	live := map[int]bool{}
	for _, r := range rs.list.Load().all {
		live[r.ID] = true
	}
	rs.mu.Lock()
	hist := append([]*rule(nil), rs.history...)
	rs.mu.Unlock()
	out := make([]RuleStats, len(hist))
	for i, r := range hist {
		out[i] = RuleStats{ID: r.ID, Label: r.Label(), Type: r.Type, Spec: r.Rule.String(),
			Seen: r.seen.Load(), Fired: r.fired.Load(), Active: live[r.ID]}
	}
	return out
}

// Fired returns the most recent firings, oldest first (at most
// Options.Memory of them).
func (rs *RuleSet) Fired() []Firing {
	if rs == nil {
		return nil
	}
	return rs.ring.snapshot()
}

// TotalFired is the number of firings since the rule set started.
func (rs *RuleSet) TotalFired() uint64 {
	if rs == nil {
		return 0
	}
	rs.ring.mu.Lock()
	defer rs.ring.mu.Unlock()
	return rs.ring.total
}

func (rs *RuleSet) record(r *rule, dir Stream, m *iso8583.Message, detail string) Firing {
	f := Firing{Time: rs.now(), Rule: r.ID, Label: r.Label(), Type: r.Type, Stream: dir, Detail: detail}
	if m != nil {
		f.MTI, _ = m.GetMTI()
		f.STAN = iso.Get(m, 11)
		f.TID = trimRight(iso.Get(m, 41))
	}
	rs.ring.add(f)
	if rs.onFire != nil {
		rs.onFire(f)
	}
	return f
}

func trimRight(s string) string {
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// firingRing keeps the last len(buf) firings.
type firingRing struct {
	mu    sync.Mutex
	buf   []Firing
	next  int
	total uint64
}

func (r *firingRing) add(f Firing) {
	r.mu.Lock()
	r.buf[r.next] = f
	r.next = (r.next + 1) % len(r.buf)
	r.total++
	r.mu.Unlock()
}

func (r *firingRing) snapshot() []Firing {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.buf)
	if r.total < uint64(n) {
		return append([]Firing(nil), r.buf[:r.next]...)
	}
	out := make([]Firing, 0, n)
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}
