package fault

import (
	"math/rand/v2"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/mac"
)

// The MAC and key faults act where a side signs a message, not in the
// interceptor: only the side that holds the working keys can make a MAC
// with its previous key, or with none. A host or terminal with MACs on asks
// MACFaults for every message its MAC codec is about to sign (the hook in
// mac.CodecOptions.Fault) and carries out the answer. On a proxy, or a side
// without MACs, these types never fire. kcv-wrong is an ordinary message
// fault (it rewrites field 62).

// MACAction is what the MAC and key faults want done with one message a
// side is about to sign. The zero value signs it normally.
type MACAction struct {
	// Sign: the current key, the previous one (mac-stale-key), a wrong one
	// (mac-wrong-key) or no MAC at all (mac-missing).
	Sign mac.SignWith
	// Seed makes the wrong key (mac-wrong-key), from the rule's RNG.
	Seed uint64
	// Desync: once this message is signed, the host must give the
	// terminal new working keys without telling it (key-desync).
	Desync bool
	// Fired names the rules that fired, with what they did, for events
	// and transcripts.
	Fired []string
}

// keyFault is the msgFault of the MAC and key types: it never acts in the
// interceptor (applies is false); MACFaults decides it.
type keyFault struct {
	sign   mac.SignWith
	desync bool
	detail string
}

func (keyFault) applies(*iso8583.Message, string) bool  { return false }
func (keyFault) inbound() bool                          { return false }
func (keyFault) apply(*call, *rand.Rand) (string, bool) { return "", false }

// MACFaults decides the MAC and key fault rules for a message side is about
// to sign (havePrevious: the side holds a previous generation of keys, which
// mac-stale-key needs). Match keys, stream, p, count and after/until apply
// as for message faults; each firing is recorded. At most one rule chooses
// how the message is signed (the first that fires); key-desync is decided
// on its own. On a nil rule set, or a proxy side, nothing fires.
func (rs *RuleSet) MACFaults(m *iso8583.Message, side Side, havePrevious bool) MACAction {
	var a MACAction
	if rs == nil || m == nil || side.proxy() {
		return a
	}
	rules := rs.list.Load().msg
	if len(rules) == 0 {
		return a
	}
	mti, _ := m.GetMTI()
	now := rs.now()
	dir := side.out()
	signed := false
	for _, r := range rules {
		kf, ok := r.msg.(keyFault)
		if !ok || !r.on(dir, side) || !r.active(now) {
			continue
		}
		if kf.desync && side != Host {
			continue
		}
		if !kf.desync && (signed || kf.sign == mac.SignPrevious && !havePrevious) {
			continue
		}
		if !r.matches(m, mti) {
			continue
		}
		fired, v := r.decide()
		if !fired {
			continue
		}
		if kf.desync {
			a.Desync = true
		} else {
			a.Sign, a.Seed, signed = kf.sign, v, true
		}
		a.Fired = append(a.Fired, r.Label()+" ("+kf.detail+")")
		rs.record(r, dir, m, kf.detail)
	}
	return a
}
