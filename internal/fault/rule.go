package fault

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// Stream is the direction a message travels.
type Stream uint8

const (
	// StreamOut (the zero value) means the rule's type decides; for most
	// types that is the direction the side writes: a host's responses
	// (downstream), a terminal's requests (upstream); a proxy: downstream.
	StreamOut  Stream = iota
	Upstream          // terminal → host: requests, advices, the terminal's 0810
	Downstream        // host → terminal: responses, host-initiated 08xx
	Both
)

func (s Stream) String() string {
	switch s {
	case Upstream:
		return "upstream"
	case Downstream:
		return "downstream"
	case Both:
		return "both"
	}
	return "out"
}

// ParseStream reads upstream, downstream, both or out.
func ParseStream(s string) (Stream, error) {
	switch strings.ToLower(s) {
	case "upstream", "up":
		return Upstream, nil
	case "downstream", "down":
		return Downstream, nil
	case "both":
		return Both, nil
	case "out", "":
		return StreamOut, nil
	}
	return 0, fmt.Errorf("stream must be upstream, downstream or both")
}

func (s Stream) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Stream) UnmarshalText(b []byte) error {
	v, err := ParseStream(string(b))
	*s = v
	return err
}

// Side is where a rule set is attached: it says which direction an
// interceptor's Outbound and Inbound calls, and a wrapped connection's
// writes, are.
type Side uint8

const (
	// Host: sends downstream, receives upstream.
	Host Side = iota + 1
	// Terminal: sends upstream, receives downstream.
	Terminal
	// ProxyDownstream is a proxy's link to the terminals: it writes
	// downstream. Proxy sides act only on what they write (Inbound is a
	// no-op), so each message is decided once, where every plan works.
	ProxyDownstream
	// ProxyUpstream is a proxy's link to the host: it writes upstream.
	ProxyUpstream
)

func (s Side) String() string {
	switch s {
	case Host:
		return "host"
	case Terminal:
		return "terminal"
	case ProxyDownstream:
		return "proxy-downstream"
	case ProxyUpstream:
		return "proxy-upstream"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// out is the direction this side writes.
func (s Side) out() Stream {
	if s == Terminal || s == ProxyUpstream {
		return Upstream
	}
	return Downstream
}

// in is the direction this side reads.
func (s Side) in() Stream {
	if s.out() == Upstream {
		return Downstream
	}
	return Upstream
}

func (s Side) proxy() bool { return s == ProxyDownstream || s == ProxyUpstream }

// Match selects the messages a rule acts on. Empty parts match everything.
type Match struct {
	MTI    []string       // any of these MTIs
	PC     string         // processing code (field 3) prefix
	Fields map[int]string // field id → value (trailing spaces ignored)
	TID    string         // terminal id (field 41, trailing spaces ignored)
	Nth    int            // only the nth matching message (1-based); 0 = any
	Every  int            // every kth matching message; 0 = each
}

func (m *Match) empty() bool {
	return len(m.MTI) == 0 && m.PC == "" && len(m.Fields) == 0 && m.TID == "" && m.Nth == 0 && m.Every == 0
}

// Rule is one fault rule. Build it with ParseSpec, ParseYAML or as a
// literal; New and RuleSet.Add validate it.
type Rule struct {
	ID     int    // assigned by the rule set
	Name   string // optional label for reports
	Type   string
	Stream Stream
	Match  Match
	// Probability is the chance, per message (per connection for link
	// faults), that the rule fires. nil means 1.
	Probability *float64
	Count       int           // the most times it fires; 0 = unlimited
	After       time.Duration // active from this long after the rule set started (or the rule was added)
	Until       time.Duration // ...until this long after; 0 = no end
	// Attrs are the type's attributes (see Catalogue), as written.
	Attrs map[string]string
}

// P is the rule's probability (1 when unset).
func (r Rule) P() float64 {
	if r.Probability == nil {
		return 1
	}
	return *r.Probability
}

// Label names the rule in reports: its name, or type#id.
func (r Rule) Label() string {
	if r.Name != "" {
		return r.Name
	}
	if r.ID > 0 {
		return fmt.Sprintf("%s#%d", r.Type, r.ID)
	}
	return r.Type
}

// String renders the rule in the flag grammar; ParseSpec(r.String())
// gives the same rule back.
func (r Rule) String() string {
	var kv []string
	add := func(k, v string) { kv = append(kv, k+"="+v) }
	if r.Name != "" {
		add("name", r.Name)
	}
	if r.Stream != StreamOut {
		add("stream", r.Stream.String())
	}
	m := r.Match
	if len(m.MTI) > 0 {
		add("mti", strings.Join(m.MTI, "|"))
	}
	if m.PC != "" {
		add("pc", m.PC)
	}
	if m.TID != "" {
		add("tid", m.TID)
	}
	ids := make([]int, 0, len(m.Fields))
	for id := range m.Fields {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		add(fmt.Sprintf("field.%d", id), m.Fields[id])
	}
	if m.Nth > 0 {
		add("nth", fmt.Sprint(m.Nth))
	}
	if m.Every > 0 {
		add("every", fmt.Sprint(m.Every))
	}
	if r.Probability != nil && *r.Probability != 1 {
		add("p", fmt.Sprint(*r.Probability))
	}
	if r.Count > 0 {
		add("count", fmt.Sprint(r.Count))
	}
	if r.After > 0 {
		add("after", r.After.String())
	}
	if r.Until > 0 {
		add("until", r.Until.String())
	}
	var keys []string
	if t, ok := registry[r.Type]; ok {
		for _, a := range t.Attributes {
			if _, ok := r.Attrs[a.Name]; ok {
				keys = append(keys, a.Name)
			}
		}
	} else {
		for k := range r.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	for _, k := range keys {
		add(k, r.Attrs[k])
	}
	if len(kv) == 0 {
		return r.Type
	}
	return r.Type + ":" + strings.Join(kv, ",")
}

// rule is a validated Rule with its running state.
type rule struct {
	Rule
	t     *faultType
	a     attrs // attributes with defaults
	p     float64
	base  time.Time // After/Until are relative to this
	msg   msgFault
	conn  connFault
	fired atomic.Uint64
	seen  atomic.Uint64
	// off: switched off through the control API (PATCH "enabled": false);
	// kept in the list, out of every list that acts. Changed under rs.mu.
	off bool

	mu    sync.Mutex // guards rng, nth/every counting, count
	rng   *rand.Rand
	count uint64 // matching messages, for nth/every
	taken uint64 // firings, for Count
}

// compile validates r and builds its fault.
func compile(r Rule, seed uint64, base time.Time) (*rule, error) {
	fail := func(format string, a ...any) (*rule, error) {
		return nil, fmt.Errorf("fault %q: %s", r.String(), fmt.Sprintf(format, a...))
	}
	t, err := lookupType(r.Type)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkRule(t, &r); err != nil {
		return fail("%v", err)
	}
	a := attrs{}
	for _, at := range t.Attributes {
		if at.Default != "" {
			a[at.Name] = at.Default
		}
	}
	for k, v := range r.Attrs {
		if err := t.checkAttr(k, v); err != nil {
			return fail("%v", err)
		}
		a[k] = v
	}
	for _, at := range t.Attributes {
		if at.Required && a[at.Name] == "" {
			return fail("%s needs %s= (%s)", t.Name, at.Name, at.Doc)
		}
	}
	cr := &rule{Rule: r, t: t, a: a, p: r.P(), base: base,
		rng: rand.New(rand.NewPCG(seed, uint64(r.ID)))}
	switch {
	case t.msg != nil:
		cr.msg, err = t.msg(a)
	case t.conn != nil:
		cr.conn, err = t.conn(a)
	}
	if err != nil {
		return fail("%v", err)
	}
	return cr, nil
}

// checkRule validates the rule-level fields against the type.
func checkRule(t *faultType, r *Rule) error {
	if p := r.P(); p < 0 || p > 1 || p != p {
		return fmt.Errorf("p=%v: probability must be between 0 and 1", p)
	}
	if r.Count < 0 {
		return fmt.Errorf("count=%d: must not be negative", r.Count)
	}
	if r.After < 0 || r.Until < 0 {
		return fmt.Errorf("after/until must not be negative")
	}
	if r.Until > 0 && r.Until <= r.After {
		return fmt.Errorf("until=%v: must be later than after=%v", r.Until, r.After)
	}
	if r.Stream != StreamOut {
		ok := false
		for _, s := range t.Streams {
			ok = ok || s == r.Stream
		}
		if !ok {
			return fmt.Errorf("stream=%s: %s acts on %s only", r.Stream, t.Name, streamList(t.Streams))
		}
		if t.Level == LevelHost {
			return fmt.Errorf("stream=%s: %s is a host action, it has no stream", r.Stream, t.Name)
		}
	}
	m := &r.Match
	if (t.Level == LevelLink || t.Level == LevelHost) && !m.empty() {
		if t.Level == LevelLink {
			return fmt.Errorf("%s acts on the connection, not on messages: mti, pc, tid, field.N, nth and every do not apply (use after=N messages)", t.Name)
		}
		return fmt.Errorf("%s is a host action: mti, pc, tid, field.N, nth and every do not apply", t.Name)
	}
	if m.Nth < 0 || m.Every < 0 {
		return fmt.Errorf("nth and every must not be negative")
	}
	if m.Nth > 0 && m.Every > 0 {
		return fmt.Errorf("nth=%d and every=%d: give one or the other", m.Nth, m.Every)
	}
	for _, mti := range m.MTI {
		if err := iso.CheckMTI(mti); err != nil {
			return fmt.Errorf("mti=%s: %v", mti, err)
		}
	}
	for id := range m.Fields {
		if err := iso.CheckField(id); err != nil {
			return fmt.Errorf("field.%d: %v (use mti= for the MTI)", id, err)
		}
	}
	if t.Level == LevelLink {
		if t.attr("after") != nil && r.After > 0 {
			return fmt.Errorf("%s: after is %s's own attribute (messages or duration), set it in Attrs", t.Name, t.Name)
		}
	}
	return nil
}

func streamList(ss []Stream) string {
	var n []string
	for _, s := range ss {
		n = append(n, s.String())
	}
	return strings.Join(n, ", ")
}

// stream resolves the rule's stream for a side.
func (r *rule) stream(side Side) Stream {
	s := r.Stream
	if s == StreamOut {
		s = r.t.DefaultStream
	}
	if s == StreamOut {
		if side == Terminal {
			return Upstream
		}
		return Downstream
	}
	return s
}

// on reports whether the rule acts on messages travelling dir.
func (r *rule) on(dir Stream, side Side) bool {
	s := r.stream(side)
	return s == Both || s == dir
}

// active reports whether now is inside the rule's time window.
func (r *rule) active(now time.Time) bool {
	el := now.Sub(r.base)
	return el >= r.After && (r.Until == 0 || el < r.Until)
}

// matches applies the message filters (no counting).
func (r *rule) matches(m *iso8583.Message, mti string) bool {
	mt := &r.Match
	if len(mt.MTI) > 0 {
		ok := false
		for _, x := range mt.MTI {
			ok = ok || x == mti
		}
		if !ok {
			return false
		}
	}
	if mt.PC != "" && !strings.HasPrefix(iso.Get(m, 3), mt.PC) {
		return false
	}
	if mt.TID != "" && strings.TrimRight(iso.Get(m, 41), " ") != strings.TrimRight(mt.TID, " ") {
		return false
	}
	for id, v := range mt.Fields {
		if !iso.Has(m, id) || strings.TrimRight(iso.Get(m, id), " ") != strings.TrimRight(v, " ") {
			return false
		}
	}
	return true
}

// decide runs the counting part of a decision for a message (or
// connection) that passed the filters: nth/every, count, probability. It
// returns a fresh value from the rule's RNG for the fault's own random
// choices, so that they too follow from the seed.
func (r *rule) decide() (bool, uint64) {
	r.seen.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	if r.Match.Nth > 0 && r.count != uint64(r.Match.Nth) {
		return false, 0
	}
	if r.Match.Every > 0 && r.count%uint64(r.Match.Every) != 0 {
		return false, 0
	}
	if r.Count > 0 && r.taken >= uint64(r.Count) {
		return false, 0
	}
	if r.p < 1 && r.rng.Float64() >= r.p {
		return false, 0
	}
	r.taken++
	r.fired.Add(1)
	return true, r.rng.Uint64()
}

// draw returns a value from the rule's RNG (for per-write jitter).
func (r *rule) draw() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Uint64()
}

// rngFrom makes a local generator from a drawn value.
func rngFrom(v uint64) *rand.Rand { return rand.New(rand.NewPCG(v, 0x9e3779b97f4a7c15)) }
