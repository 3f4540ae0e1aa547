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
			Name:  "rc",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "rc", Kind: KindString, Default: "91", Doc: "the response code (field 39) to answer with",
					check: func(s string) error {
						if len(s) != 2 {
							return fmt.Errorf("a response code is 2 characters")
						}
						return nil
					}},
			},
			Symptom:       "The response carries another response code (default 91, issuer unavailable) than the host decided.",
			DefaultStream: Downstream,
			Inbound:       true,
		},
		msg: func(a attrs) (msgFault, error) { return rcFault{a.str("rc")}, nil },
	})
}

type rcFault struct{ rc string }

func (rcFault) applies(_ *iso8583.Message, mti string) bool { return iso.IsResponse(mti) }
func (rcFault) inbound() bool                               { return true }
func (f rcFault) apply(c *call, _ *rand.Rand) (string, bool) {
	m, ok := c.edit()
	if !ok {
		return "", false
	}
	old := iso.Get(m, 39)
	if iso.Set(m, 39, f.rc) != nil {
		return "", false
	}
	if old == "" {
		old = "none"
	}
	// A decline carries no approval code: a host that turns an approval into
	// a decline does not leave the approval's field 38 behind (a terminal
	// would otherwise print an auth code on a declined slip).
	if !iso.IsApproval(f.rc) && iso.Has(m, 38) {
		m.UnsetField(38)
	}
	return "RC " + old + "→" + f.rc, true
}
