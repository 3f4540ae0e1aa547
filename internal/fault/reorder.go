package fault

import (
	"math/rand/v2"

	"github.com/moov-io/iso8583"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:    "reorder",
			Level:   LevelMessage,
			Symptom: "Two messages swap places: the held one is written right after the next one on the same link (a last message held back is never written).",
		},
		msg: func(attrs) (msgFault, error) { return reorderFault{}, nil },
	})
}

type reorderFault struct{}

func (reorderFault) applies(*iso8583.Message, string) bool { return true }
func (reorderFault) inbound() bool                         { return false }
func (reorderFault) apply(c *call, _ *rand.Rand) (string, bool) {
	if c.plan.Hold {
		return "", false
	}
	c.plan.Hold = true
	return "held for the next frame", true
}
