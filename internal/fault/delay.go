package fault

import (
	"math/rand/v2"
	"time"

	"github.com/moov-io/iso8583"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "delay",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "delay", Kind: KindDuration, Default: "1s", Doc: "how much later the message is written"},
				{Name: "jitter", Kind: KindDuration, Default: "0s", Doc: "plus or minus up to this much, uniformly"},
			},
			Symptom: "The message arrives late: past the terminal's timeout the response is a late one, after the terminal gave up (and reversed).",
		},
		msg: func(a attrs) (msgFault, error) {
			return delayFault{a.dur("delay"), a.dur("jitter")}, nil
		},
	})
}

type delayFault struct{ d, jitter time.Duration }

func (delayFault) applies(*iso8583.Message, string) bool { return true }
func (delayFault) inbound() bool                         { return false }
func (f delayFault) apply(c *call, rnd *rand.Rand) (string, bool) {
	d := jittered(f.d, f.jitter, rnd)
	c.plan.Delay += d
	return d.Round(time.Millisecond).String(), true
}

// jittered is d ± up to j, never negative.
func jittered(d, j time.Duration, rnd *rand.Rand) time.Duration {
	if j > 0 {
		d += time.Duration(rnd.Int64N(int64(2*j)+1)) - j
	}
	return max(d, 0)
}
