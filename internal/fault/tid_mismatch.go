package fault

import (
	"math/rand/v2"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "tid-mismatch",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "value", Kind: KindString, Default: "", Doc: "the TID to put in the response; default the request's with its last character changed",
					check: iso.CheckTIDValue},
			},
			Symptom:       "The response carries another TID (field 41): the terminal cannot match it (unmatched: TID differs) and times out.",
			DefaultStream: Downstream,
			Inbound:       true,
		},
		msg: func(a attrs) (msgFault, error) { return tidFault{a.str("value")}, nil },
	})
}

type tidFault struct{ tid string }

func (tidFault) applies(m *iso8583.Message, mti string) bool {
	return iso.IsResponse(mti) && iso.Has(m, 41)
}
func (tidFault) inbound() bool { return true }
func (f tidFault) apply(c *call, _ *rand.Rand) (string, bool) {
	return rewriteField(c, 41, "TID", f.tid, otherTID)
}

// otherTID changes the last character: a digit to the next digit, anything
// else to X (or Y if it was X).
func otherTID(t string) string {
	if t == "" {
		return "X"
	}
	b := []byte(t)
	c := &b[len(b)-1]
	switch {
	case *c >= '0' && *c <= '9':
		*c = '0' + (*c-'0'+1)%10
	case *c == 'X':
		*c = 'Y'
	default:
		*c = 'X'
	}
	return string(b)
}
