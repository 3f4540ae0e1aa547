package fault

import (
	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:          "die",
			Level:         LevelTerminal,
			Symptom:       "The terminal sends the request and dies before the answer, without reversing: the host keeps a transaction nobody will complete or reverse.",
			Streams:       []Stream{Upstream},
			DefaultStream: Upstream,
		},
	})
}

// Dies reports whether the terminal should die on request m: the terminal
// asks for every request it is about to send; on true it sends the request
// and then drops its link at once — no wait for the response, no reversal,
// no store-and-forward. Match keys (mti, pc, tid, field.N, nth, every), p
// and count apply as for message faults; the firing is recorded.
func (rs *RuleSet) Dies(m *iso8583.Message) bool {
	if rs == nil || m == nil {
		return false
	}
	rules := rs.list.Load().die
	if len(rules) == 0 {
		return false
	}
	mti, _ := m.GetMTI()
	if !iso.IsRequest(mti) {
		return false
	}
	now := rs.now()
	for _, r := range rules {
		if !r.active(now) || !r.matches(m, mti) {
			continue
		}
		if ok, _ := r.decide(); ok {
			rs.record(r, Upstream, m, "terminal dies after sending")
			return true
		}
	}
	return false
}
