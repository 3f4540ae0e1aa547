package fault

import (
	"fmt"
	"math/rand/v2"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/mac"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "kcv-wrong",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "key", Kind: KindEnum, Default: "mac", Values: []string{"mac", "pin"},
					Doc: "which key's check value is wrong"},
			},
			Symptom: "The sign-on answer (or a host key change) carries a wrong check value for a working key in field 62: the terminal refuses the keys — " +
				"sign-on fails with \"KCV mismatch on the MAC key: got X, computed Y\"; a key change is answered RC 63.",
			Streams:       []Stream{Downstream},
			DefaultStream: Downstream,
			Inbound:       true,
		},
		msg: func(a attrs) (msgFault, error) { return kcvFault{pin: a.str("key") == "pin"}, nil },
	})
}

type kcvFault struct{ pin bool }

// applies to an 0800/0810 that carries a key block with the key.
func (f kcvFault) applies(m *iso8583.Message, mti string) bool {
	if mti != "0800" && mti != "0810" || !iso.Has(m, mac.KeyBlockField) {
		return false
	}
	b, err := mac.ParseKeyBlock(iso.Get(m, mac.KeyBlockField))
	return err == nil && (!f.pin || b.PINKey != nil)
}

func (kcvFault) inbound() bool { return true }

func (f kcvFault) apply(c *call, rnd *rand.Rand) (string, bool) {
	m, ok := c.edit()
	if !ok {
		return "", false
	}
	b, err := mac.ParseKeyBlock(iso.Get(m, mac.KeyBlockField))
	if err != nil {
		return "", false
	}
	name, kcv := "MAC", &b.MACKCV
	if f.pin {
		name, kcv = "PIN", &b.PINKCV
	}
	old := *kcv
	for *kcv == old {
		*kcv = fmt.Sprintf("%06X", rnd.UintN(1<<24))
	}
	if m.Field(mac.KeyBlockField, b.Field()) != nil {
		return "", false
	}
	return fmt.Sprintf("%s key KCV %s replaced by %s", name, old, *kcv), true
}
