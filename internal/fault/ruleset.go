package fault

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/possim/possim/internal/iso"
)

// Options of a rule set. Zero values get defaults.
type Options struct {
	// Seed for every random decision; 0 picks one (see RuleSet.Seed, which
	// reports print so a run can be repeated).
	Seed uint64
	// Dialect tells frame-level faults the framing (length header,
	// TPDU/header) and the MAC's width on the wire; default iso87ascii.
	Dialect *iso.Dialect
	// Memory is how many firings Fired keeps; default 1000.
	Memory int
	// OnFire, if set, is called for every firing (transcripts). It runs on
	// link goroutines and must not block.
	OnFire func(Firing)
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Side is where the rule set is attached, if known: a rule whose fault
	// another side carries out (crash on a terminal, die on a host) is then
	// refused by New and Add (CheckSide). 0: any.
	Side Side
}

// RuleSet is a set of fault rules attached to one side of a link (or to a
// proxy). It is safe for concurrent use, and its rules can change while
// links use it: the list is copy-on-write behind an atomic pointer.
type RuleSet struct {
	seed    uint64
	dialect *iso.Dialect
	now     func() time.Time
	onFire  func(Firing)
	start   time.Time
	side    Side

	mu      sync.Mutex // serialises changes to the rule list
	nextID  int
	list    atomic.Pointer[ruleList]
	history []*rule // every rule ever added, for Stats

	connMu sync.Mutex
	conns  map[*faultConn]struct{}

	ring firingRing
}

// ruleList is one immutable version of the rules, split by where they act.
type ruleList struct {
	all    []*rule
	msg    []*rule // message faults
	conn   []*rule // link faults on the connection
	refuse []*rule // link faults on the listener
	die    []*rule
	host   []*rule // unsolicited, crash
}

func (l *ruleList) with(r *rule) *ruleList {
	all := append(append([]*rule(nil), l.all...), r)
	return split(all)
}

func split(all []*rule) *ruleList {
	n := &ruleList{all: all}
	for _, r := range all {
		if r.off {
			continue
		}
		switch {
		case r.msg != nil:
			n.msg = append(n.msg, r)
		case r.conn != nil:
			if r.Type == "refuse" {
				n.refuse = append(n.refuse, r)
			} else {
				n.conn = append(n.conn, r)
			}
		case r.t.Level == LevelTerminal:
			n.die = append(n.die, r)
		case r.t.Level == LevelHost:
			n.host = append(n.host, r)
		}
	}
	return n
}

// New validates rules and returns a rule set whose clock (after/until)
// starts now.
func New(rules []Rule, opts Options) (*RuleSet, error) {
	rs := &RuleSet{seed: opts.Seed, dialect: opts.Dialect, now: opts.Now, onFire: opts.OnFire,
		side: opts.Side, conns: map[*faultConn]struct{}{}}
	if rs.now == nil {
		rs.now = time.Now
	}
	if rs.seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		rs.seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	if rs.dialect == nil {
		d, err := iso.Lookup("iso87ascii")
		if err != nil {
			return nil, err
		}
		rs.dialect = d
	}
	if opts.Memory <= 0 {
		opts.Memory = 1000
	}
	rs.ring.buf = make([]Firing, opts.Memory)
	rs.start = rs.now()
	list := &ruleList{}
	for _, r := range rules {
		if err := CheckSide(r, rs.side); err != nil {
			return nil, err
		}
		rs.nextID++
		r.ID = rs.nextID
		cr, err := compile(r, rs.seed, rs.start)
		if err != nil {
			return nil, err
		}
		list.all = append(list.all, cr)
		rs.history = append(rs.history, cr)
	}
	rs.list.Store(split(list.all))
	return rs, nil
}

// Parse is New with rules in the flag grammar.
func Parse(specs []string, opts Options) (*RuleSet, error) {
	rules, err := ParseSpecs(specs)
	if err != nil {
		return nil, err
	}
	return New(rules, opts)
}

// Seed is the seed of every random decision, for reports.
func (rs *RuleSet) Seed() uint64 {
	if rs == nil {
		return 0
	}
	return rs.seed
}

// Start is when the rule set's clock started (after/until of its initial
// rules count from here).
func (rs *RuleSet) Start() time.Time {
	if rs == nil {
		return time.Time{}
	}
	return rs.start
}

// Rules returns the current rules, with their ids.
func (rs *RuleSet) Rules() []Rule {
	if rs == nil {
		return nil
	}
	l := rs.list.Load()
	out := make([]Rule, len(l.all))
	for i, r := range l.all {
		out[i] = r.Rule
	}
	return out
}

// Add validates r and adds it; its after/until count from now. A link fault
// is also decided at once for every connection already open.
func (rs *RuleSet) Add(r Rule) (Rule, error) {
	if rs == nil {
		return Rule{}, fmt.Errorf("fault: no rule set")
	}
	if err := CheckSide(r, rs.side); err != nil {
		return Rule{}, err
	}
	rs.mu.Lock()
	r.ID = rs.nextID + 1
	cr, err := compile(r, rs.seed, rs.now())
	if err != nil {
		rs.mu.Unlock()
		return Rule{}, err
	}
	rs.nextID++
	rs.history = append(rs.history, cr)
	rs.list.Store(rs.list.Load().with(cr))
	rs.mu.Unlock()
	if cr.conn != nil && cr.Type != "refuse" {
		for _, c := range rs.liveConns() {
			c.consider(cr)
		}
	}
	return cr.Rule, nil
}

// AddSpec parses a rule in the flag grammar and adds it.
func (rs *RuleSet) AddSpec(spec string) (Rule, error) {
	r, err := ParseSpec(spec)
	if err != nil {
		return Rule{}, err
	}
	return rs.Add(r)
}

// Remove deletes rule id; false if there is none. A link fault's effects
// on open connections stop (a blackhole passes bytes again, a half-open
// connection reads again).
func (rs *RuleSet) Remove(id int) bool {
	if rs == nil {
		return false
	}
	rs.mu.Lock()
	old := rs.list.Load()
	var keep []*rule
	var gone *rule
	for _, r := range old.all {
		if r.ID == id {
			gone = r
			continue
		}
		keep = append(keep, r)
	}
	if gone != nil {
		rs.list.Store(split(keep))
	}
	rs.mu.Unlock()
	if gone == nil {
		return false
	}
	if gone.conn != nil {
		for _, c := range rs.liveConns() {
			c.detach(gone)
		}
	}
	return true
}

// Reset removes every rule and returns how many there were.
func (rs *RuleSet) Reset() int {
	if rs == nil {
		return 0
	}
	rs.mu.Lock()
	old := rs.list.Load()
	rs.list.Store(&ruleList{})
	rs.mu.Unlock()
	for _, r := range old.all {
		if r.conn != nil {
			for _, c := range rs.liveConns() {
				c.detach(r)
			}
		}
	}
	return len(old.all)
}

func (rs *RuleSet) rule(id int) *rule {
	for _, r := range rs.list.Load().all {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (rs *RuleSet) liveConns() []*faultConn {
	rs.connMu.Lock()
	defer rs.connMu.Unlock()
	out := make([]*faultConn, 0, len(rs.conns))
	for c := range rs.conns {
		out = append(out, c)
	}
	return out
}

func (rs *RuleSet) String() string {
	if rs == nil {
		return "no fault rules"
	}
	return fmt.Sprintf("fault rules (seed %d): %d", rs.seed, len(rs.list.Load().all))
}
