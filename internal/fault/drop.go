package fault

import (
	"math/rand/v2"

	"github.com/moov-io/iso8583"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:          "drop",
			Level:         LevelMessage,
			Symptom:       "The message is lost: a dropped response times out at the terminal (which then reverses) although the host approved it.",
			DefaultStream: Downstream,
			Inbound:       true,
		},
		msg: func(attrs) (msgFault, error) { return dropFault{}, nil },
	})
}

type dropFault struct{}

func (dropFault) applies(*iso8583.Message, string) bool { return true }
func (dropFault) inbound() bool                         { return true }
func (dropFault) apply(c *call, _ *rand.Rand) (string, bool) {
	c.plan.Drop = true
	return "", true
}
