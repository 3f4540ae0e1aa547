package host

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// The ledger is the host's account of every answered transaction, keyed by
// terminal (field 41) and STAN (field 11), which is how a reversal names
// its original. A load test may put millions of transactions through one
// host, so an entry is a fixed-size struct without pointers (the garbage
// collector never scans the maps), and the maps are sharded so that many
// link workers rarely wait on one another.

// TxState is where a transaction stands in the ledger.
type TxState uint8

const (
	Approved TxState = iota + 1
	Declined
	Reversed // an approved transaction undone by a reversal
)

func (s TxState) String() string {
	switch s {
	case Approved:
		return "approved"
	case Declined:
		return "declined"
	case Reversed:
		return "reversed"
	}
	return "unknown"
}

// Tx is one answered authorization or financial request (01xx, 02xx).
type Tx struct {
	TID, STAN, RRN, MTI, ProcCode, Amount, RC string
	PANMasked                                 string // the ledger never keeps more than the first 6 and last 4 digits
	State                                     TxState
	At                                        time.Time
	Reversals                                 int // reversals received for it, repeats included
}

// ReverseOutcome is what the ledger made of a reversal. The host
// acknowledges every reversal with 00 whatever the outcome: a host must
// accept a reversal of a transaction it never saw, because the original may
// have been lost on the way (the very case that made the terminal reverse).
type ReverseOutcome struct {
	Found           bool   // the original is in the ledger
	AlreadyReversed bool   // the original already stood reversed (or a reversal without original came before): no second effect
	Original        Tx     // the original as it stands after this reversal (when Found)
	Reason          string // why the outcome is not the plain case; "" when an approved original was reversed
}

// Counts are the ledger's totals. Approved and Declined count the answers
// recorded (a reversal does not take an approval back out of Approved:
// net approvals are Approved − Reversed).
type Counts struct {
	Approved, Declined uint64
	Reversed           uint64 // approved transactions undone by a reversal
	ReversalsReceived  uint64
	// DuplicateReversals are reversals of an original that already had one
	// (0401/0421 repeats, or the same reversal sent again): acknowledged,
	// no second effect.
	DuplicateReversals uint64
	// ReversalsWithoutOriginal are first reversals of a TID+STAN the host
	// never answered.
	ReversalsWithoutOriginal uint64
	// ReversalsOfDeclined are first reversals of a declined original:
	// acknowledged, nothing to undo.
	ReversalsOfDeclined uint64
	// OriginalsAfterReversal are originals that arrived after their own
	// reversal (the request overtaken on the way): recorded as reversed.
	OriginalsAfterReversal uint64
	// Unkeyed are answered transactions that could not be keyed (TID longer
	// than 8 characters, or STAN not 1–6 digits: neither can come from a
	// message that unpacked): counted, not stored.
	Unkeyed uint64
	Stored  int    // entries held (transactions and reversals without original)
	Evicted uint64 // oldest entries forgotten because the ledger was full
}

// orphanWindow bounds how long a reversal without original waits for its
// original: an original that shows up later is taken for a new transaction
// reusing the STAN (STANs wrap at 999999), not for the lost one.
const orphanWindow = 2 * time.Minute

// txKey is TID (field 41, ans 8, trailing spaces dropped) + STAN (n 6, as a
// number so that "123" and "000123" are the same).
type txKey struct {
	tid  [8]byte
	stan uint32
}

func makeKey(tid, stan string) (txKey, bool) {
	var k txKey
	tid = strings.TrimRight(tid, " ")
	if tid == "" || len(tid) > len(k.tid) || len(stan) > 6 {
		return k, false
	}
	n, ok := parseDigits(stan)
	if !ok {
		return k, false
	}
	copy(k.tid[:], tid)
	k.stan = uint32(n)
	return k, true
}

func (k txKey) strings() (tid, stan string) {
	return cstr(k.tid[:]), fmt.Sprintf("%06d", k.stan)
}

// entry is the stored form of a Tx: fixed-size fields cut to their ISO
// lengths (values longer than the field cannot come from a message that
// unpacked).
type entry struct {
	at        int64 // UnixNano
	amount    [12]byte
	rrn       [12]byte
	mti       [4]byte
	pc        [6]byte
	rc        [2]byte
	pan       [10]byte // first 6 + last 4 of the masked PAN, or all of it when ≤ 10
	panLen    uint8
	state     TxState
	reversals uint16 // saturates
	orphan    bool   // a reversal for this key, original never seen
}

// cstr is the string in a zero-padded fixed-size field.
func cstr(b []byte) string {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return string(b[:n])
}

func (e *entry) set(tx Tx) {
	copy(e.amount[:], tx.Amount)
	copy(e.rrn[:], tx.RRN)
	copy(e.mti[:], tx.MTI)
	copy(e.pc[:], tx.ProcCode)
	copy(e.rc[:], tx.RC)
	p := tx.PANMasked
	e.panLen = uint8(min(len(p), 255))
	if len(p) <= len(e.pan) {
		copy(e.pan[:], p)
	} else {
		// Keeping only the ends means a caller that passed a full PAN
		// still leaves nothing more than a masked PAN in memory.
		copy(e.pan[:6], p[:6])
		copy(e.pan[6:], p[len(p)-4:])
	}
	if tx.At.IsZero() {
		tx.At = time.Now()
	}
	e.at = tx.At.UnixNano()
}

func (e *entry) tx(k txKey) Tx {
	tid, stan := k.strings()
	t := Tx{
		TID: tid, STAN: stan, RRN: cstr(e.rrn[:]), MTI: cstr(e.mti[:]),
		ProcCode: cstr(e.pc[:]), Amount: cstr(e.amount[:]), RC: cstr(e.rc[:]),
		State: e.state, At: time.Unix(0, e.at), Reversals: int(e.reversals),
	}
	if int(e.panLen) <= len(e.pan) {
		t.PANMasked = string(e.pan[:e.panLen])
	} else {
		t.PANMasked = string(e.pan[:6]) + strings.Repeat("*", int(e.panLen)-10) + string(e.pan[6:])
	}
	return t
}

const shardCount = 64 // a power of two

type shard struct {
	mu    sync.Mutex
	m     map[txKey]entry
	order []txKey // insertion order, a ring: the oldest is forgotten first when the shard is full
	next  int
	c     Counts // this shard's share, updated under mu (no shared counter to contend on)
	_     [64]byte
}

// Ledger is the host's account of transactions; safe for concurrent use.
// It keeps at most a fixed number of entries (DefaultLedgerMax): a load
// test must not grow the host's memory without end, so the oldest are
// forgotten first and counted as Evicted. A reversal of a forgotten
// original is acknowledged like any reversal without original.
type Ledger struct {
	shards   [shardCount]shard
	perShard int
}

// DefaultLedgerMax is how many transactions a ledger remembers (about
// 120 MB at ~120 bytes each).
const DefaultLedgerMax = 1 << 20

// NewLedger returns an empty ledger of DefaultLedgerMax entries.
func NewLedger() *Ledger { return NewLedgerMax(DefaultLedgerMax) }

// NewLedgerMax returns an empty ledger that remembers about limit entries.
func NewLedgerMax(limit int) *Ledger {
	l := &Ledger{perShard: max(1, limit/shardCount)}
	for i := range l.shards {
		l.shards[i].m = make(map[txKey]entry)
	}
	return l
}

// remember stores e under k, forgetting the shard's oldest entry when it is
// full. Called with s.mu held.
func (l *Ledger) remember(s *shard, k txKey, e entry) {
	if _, exists := s.m[k]; !exists {
		if s.order == nil {
			s.order = make([]txKey, 0, min(l.perShard, 1024))
		}
		if len(s.order) < l.perShard {
			s.order = append(s.order, k)
		} else {
			old := s.order[s.next]
			if _, still := s.m[old]; still {
				delete(s.m, old)
				s.c.Evicted++
			}
			s.order[s.next] = k
			s.next = (s.next + 1) % l.perShard
		}
	}
	s.m[k] = e
}

func (l *Ledger) shard(k txKey) *shard {
	// FNV-1a over the key: cheap, and spreads consecutive STANs and
	// similar TIDs over the shards.
	h := uint32(2166136261)
	for _, b := range k.tid {
		h = (h ^ uint32(b)) * 16777619
	}
	for i := 0; i < 4; i++ {
		h = (h ^ (k.stan >> (8 * i) & 0xff)) * 16777619
	}
	return &l.shards[h&(shardCount-1)]
}

// Record adds an answered 01xx/02xx transaction. tx.State is Approved or
// Declined (zero: taken from tx.RC). A later transaction with the same
// TID+STAN replaces the earlier one (a STAN reused after wrapping): a
// reversal names the latest.
func (l *Ledger) Record(tx Tx) {
	if tx.State == 0 {
		tx.State = Declined
		if IsApproval(tx.RC) {
			tx.State = Approved
		}
	}
	k, ok := makeKey(tx.TID, tx.STAN)
	s := &l.shards[0] // unkeyed transactions are only counted, here
	if ok {
		s = l.shard(k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tx.State == Approved {
		s.c.Approved++
	} else {
		s.c.Declined++
		tx.State = Declined
	}
	if !ok {
		s.c.Unkeyed++
		return
	}
	var e entry
	e.set(tx)
	e.state = tx.State
	if old, found := s.m[k]; found && old.orphan && e.at-old.at <= int64(orphanWindow) && e.at >= old.at-int64(time.Second) {
		// The reversal overtook its original: the terminal has already
		// given up on it, so it stands reversed from the start.
		s.c.OriginalsAfterReversal++
		e.reversals = old.reversals
		if e.state == Approved {
			e.state = Reversed
			s.c.Reversed++
		}
	}
	l.remember(s, k, e)
}

// Reverse applies a reversal (0400/0401/0420/0421) received from terminal
// tid with its own STAN stan. The original is found by tid + the original
// STAN in field90 (original data elements); when field 90 is absent, by
// tid + stan, since some terminals reuse the original's STAN. repeat is
// true for 0401/0421. Every outcome is to be acknowledged with 00.
func (l *Ledger) Reverse(tid, stan string, field90 string, repeat bool) ReverseOutcome {
	var out ReverseOutcome
	var notes []string
	origSTAN, origMTI := stan, ""
	if field90 != "" {
		m, s, _, err := ParseField90(field90)
		if err != nil {
			notes = append(notes, fmt.Sprintf("field 90 unreadable (%v), looked up the reversal's own STAN %s", err, stan))
		} else {
			origSTAN, origMTI = s, m
		}
	}
	k, ok := makeKey(tid, origSTAN)
	if !ok {
		l.shards[0].mu.Lock()
		l.shards[0].c.ReversalsReceived++
		l.shards[0].c.ReversalsWithoutOriginal++
		l.shards[0].mu.Unlock()
		out.Reason = join(notes, fmt.Sprintf("TID %q / STAN %q cannot name a transaction: acknowledged, nothing undone", tid, origSTAN))
		return out
	}
	s := l.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.ReversalsReceived++
	now := time.Now().UnixNano()
	e, found := s.m[k]
	if !found || e.orphan && now-e.at > int64(orphanWindow) {
		s.c.ReversalsWithoutOriginal++
		l.remember(s, k, entry{at: now, state: Reversed, reversals: 1, orphan: true})
		ktid, kstan := k.strings()
		out.Reason = join(notes, fmt.Sprintf("no original for TID %s STAN %s: acknowledged (it may have been lost before reaching the host)", ktid, kstan))
		return out
	}
	if e.orphan {
		s.c.DuplicateReversals++
		e.reversals = satInc(e.reversals)
		l.remember(s, k, e)
		out.AlreadyReversed = true
		out.Reason = join(notes, dupReason(repeat)+"; the original was never seen")
		return out
	}
	out.Found = true
	if origMTI != "" && e.mti[0] != 0 && !sameRequest(origMTI, cstr(e.mti[:])) {
		notes = append(notes, fmt.Sprintf("field 90 names original MTI %s but the ledger has %s for this TID+STAN", origMTI, cstr(e.mti[:])))
	}
	first := e.reversals == 0
	e.reversals = satInc(e.reversals)
	switch {
	case !first:
		s.c.DuplicateReversals++
		out.AlreadyReversed = e.state == Reversed
		notes = append(notes, dupReason(repeat))
	case e.state == Declined:
		s.c.ReversalsOfDeclined++
		rc := cstr(e.rc[:])
		notes = append(notes, fmt.Sprintf("original was declined (RC %s %s): nothing to undo", rc, RCMeaning(rc)))
	default:
		e.state = Reversed
		s.c.Reversed++
		if repeat {
			notes = append(notes, "the first reversal received is a repeat: the first attempt never arrived")
		}
	}
	l.remember(s, k, e)
	out.Original = e.tx(k)
	out.Reason = join(notes, "")
	return out
}

func dupReason(repeat bool) string {
	if repeat {
		return "repeat of a reversal already received: acknowledged, no second effect"
	}
	return "same reversal received again without the repeat flag (0401/0421): acknowledged, no second effect"
}

// sameRequest compares two MTIs ignoring the repeat digit (0100 = 0101).
func sameRequest(a, b string) bool {
	return len(a) == 4 && len(b) == 4 && a[:3] == b[:3]
}

func satInc(n uint16) uint16 {
	if n == ^uint16(0) {
		return n
	}
	return n + 1
}

func join(notes []string, last string) string {
	if last != "" {
		notes = append(notes, last)
	}
	return strings.Join(notes, "; ")
}

// Lookup returns the transaction recorded for tid + stan.
func (l *Ledger) Lookup(tid, stan string) (Tx, bool) {
	k, ok := makeKey(tid, stan)
	if !ok {
		return Tx{}, false
	}
	s := l.shard(k)
	s.mu.Lock()
	e, found := s.m[k]
	s.mu.Unlock()
	if !found || e.orphan {
		return Tx{}, false
	}
	return e.tx(k), true
}

// Counts returns the totals. Shards are read one after the other, so under
// traffic the figures may be a moment apart; once traffic stops they add up.
func (l *Ledger) Counts() Counts {
	var c Counts
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		c.Approved += s.c.Approved
		c.Declined += s.c.Declined
		c.Reversed += s.c.Reversed
		c.ReversalsReceived += s.c.ReversalsReceived
		c.DuplicateReversals += s.c.DuplicateReversals
		c.ReversalsWithoutOriginal += s.c.ReversalsWithoutOriginal
		c.ReversalsOfDeclined += s.c.ReversalsOfDeclined
		c.OriginalsAfterReversal += s.c.OriginalsAfterReversal
		c.Unkeyed += s.c.Unkeyed
		c.Evicted += s.c.Evicted
		c.Stored += len(s.m)
		s.mu.Unlock()
	}
	return c
}

// f90Len is the length of field 90 (original data elements, n 42).
const f90Len = 42

// ParseField90 splits field 90: original MTI (4), original STAN (6),
// original transmission date and time (10, MMDDhhmmss), then acquiring and
// forwarding institution ids (11 each, not returned: the ledger keys on
// TID + STAN).
func ParseField90(s string) (origMTI, origSTAN, origDateTime string, err error) {
	if len(s) != f90Len {
		return "", "", "", fmt.Errorf("field 90 has %d characters, want %d", len(s), f90Len)
	}
	if !allDigits(s) {
		return "", "", "", fmt.Errorf("field 90 %q is not all digits", s)
	}
	origMTI, origSTAN, origDateTime = s[0:4], s[4:10], s[10:20]
	if origSTAN == "000000" {
		return "", "", "", fmt.Errorf("field 90 carries no original STAN (000000)")
	}
	return origMTI, origSTAN, origDateTime, nil
}
