package host

import (
	"strings"
	"sync"
)

// originals indexes approved sales and pre-authorisations by RRN, so that a
// void (0200, processing code 02xxxx) and a completion (0220/0221) find
// what they name: a void or completion of an RRN the host never approved
// is answered RC 12 (invalid transaction), a second void of the same sale
// RC 94 (duplicate). Sharded and bounded like the ledger: at load it is
// written on every approval.
type originals struct {
	shards [16]origShard
	per    int
}

type origShard struct {
	mu    sync.Mutex
	m     map[[12]byte]origEntry
	order [][12]byte
	next  int
}

type origEntry struct {
	key       txKey
	preauth   bool
	voided    bool
	completed bool
}

// newOriginals remembers about limit originals. The maps are sized up
// front: at load every approval is added, and a growing map was 3–4 % of
// the pipeline's CPU.
func newOriginals(limit int) *originals {
	o := &originals{per: max(1, limit/16)}
	for i := range o.shards {
		o.shards[i].m = make(map[[12]byte]origEntry, o.per)
		o.shards[i].order = make([][12]byte, 0, o.per)
	}
	return o
}

func rrnKey(rrn string) ([12]byte, bool) {
	var k [12]byte
	rrn = strings.TrimSpace(rrn)
	if rrn == "" || len(rrn) > 12 {
		return k, false
	}
	copy(k[:], rrn)
	return k, true
}

func (o *originals) shard(k [12]byte) *origShard {
	h := uint32(2166136261)
	for _, b := range k {
		h = (h ^ uint32(b)) * 16777619
	}
	return &o.shards[h&15]
}

// add records an approved sale (or pre-authorisation) under its RRN.
func (o *originals) add(rrn, tid, stan string, preauth bool) {
	rk, ok := rrnKey(rrn)
	if !ok {
		return
	}
	tk, ok := makeKey(tid, stan)
	if !ok {
		return
	}
	s := o.shard(rk)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.m[rk]; !exists {
		if len(s.order) < o.per {
			s.order = append(s.order, rk)
		} else {
			delete(s.m, s.order[s.next])
			s.order[s.next] = rk
			s.next = (s.next + 1) % o.per
		}
	}
	s.m[rk] = origEntry{key: tk, preauth: preauth}
}

// void applies a void of rrn from terminal tid: "" (approve), "12" (no
// such sale) or "94" (already voided).
func (o *originals) void(rrn, tid string) string {
	return o.use(rrn, tid, false)
}

// complete applies a completion of the pre-authorisation rrn.
func (o *originals) complete(rrn, tid string) string {
	return o.use(rrn, tid, true)
}

func (o *originals) use(rrn, tid string, completion bool) string {
	rk, ok := rrnKey(rrn)
	if !ok {
		return "12"
	}
	s := o.shard(rk)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, found := s.m[rk]
	if !found || cstr(e.key.tid[:]) != strings.TrimRight(tid, " ") || e.preauth != completion {
		return "12"
	}
	if completion {
		if e.completed {
			return "94"
		}
		e.completed = true
	} else {
		if e.voided {
			return "94"
		}
		e.voided = true
	}
	s.m[rk] = e
	return ""
}

// rrnOf is the RRN the ledger has for the original tid + stan (field 90 of
// a completion names it by STAN).
func (l *Ledger) rrnOf(tid, stan string) string {
	tx, ok := l.Lookup(tid, stan)
	if !ok || tx.State != Approved {
		return ""
	}
	return tx.RRN
}
