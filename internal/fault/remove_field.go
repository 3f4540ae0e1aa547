package fault

import (
	"fmt"
	"math/rand/v2"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "remove-field",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "field", Kind: KindField, Required: true, Doc: "the field to leave out"},
			},
			Symptom: "Field N is missing (no RC 39, no STAN 11, no MAC...): the peer rejects the message or cannot match it.",
			Inbound: true,
		},
		msg: func(a attrs) (msgFault, error) { return removeFault{a.int("field")}, nil },
	})
}

type removeFault struct{ id int }

func (f removeFault) applies(m *iso8583.Message, _ string) bool { return iso.Has(m, f.id) }
func (removeFault) inbound() bool                               { return true }
func (f removeFault) apply(c *call, _ *rand.Rand) (string, bool) {
	m, ok := c.edit()
	if !ok {
		return "", false
	}
	m.UnsetField(f.id)
	return fmt.Sprintf("field %d removed", f.id), true
}
