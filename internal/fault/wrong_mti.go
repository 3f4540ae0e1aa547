package fault

import (
	"math/rand/v2"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "wrong-mti",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "value", Kind: KindString, Default: "", Doc: "the MTI to answer with; default the class changed (0210 → 0110, 0110 → 0210, 0410 → 0110)", check: iso.CheckMTI},
			},
			Symptom:       "The response answers with the wrong MTI (e.g. 0210 answered as 0110): the terminal gets a wrong-MTI error for its request.",
			DefaultStream: Downstream,
			Inbound:       true,
		},
		msg: func(a attrs) (msgFault, error) { return wrongMTIFault{a.str("value")}, nil },
	})
}

type wrongMTIFault struct{ mti string }

func (wrongMTIFault) applies(_ *iso8583.Message, mti string) bool { return iso.IsResponse(mti) }
func (wrongMTIFault) inbound() bool                               { return true }
func (f wrongMTIFault) apply(c *call, _ *rand.Rand) (string, bool) {
	m, ok := c.edit()
	if !ok {
		return "", false
	}
	old, _ := m.GetMTI()
	v := f.mti
	if v == "" {
		b := []byte(old)
		if b[1] == '1' {
			b[1] = '2'
		} else {
			b[1] = '1'
		}
		v = string(b)
	}
	m.MTI(v)
	return "MTI " + old + "→" + v, true
}
