package fault

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/moov-io/iso8583"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "bad-mac",
			Level: LevelMessage,
			Symptom: "The MAC (the last field on the wire) is wrong by one bit — one hex digit in ASCII dialects, so the message still unpacks: " +
				"the peer's MAC verification fails.",
		},
		msg: func(attrs) (msgFault, error) { return badMACFault{}, nil },
	})
}

type badMACFault struct{}

func (badMACFault) applies(*iso8583.Message, string) bool { return true }
func (badMACFault) inbound() bool                         { return false }

// apply picks the byte (and bit, or hex digit) now, from the rule's RNG, so
// the rewrite itself is deterministic.
func (badMACFault) apply(c *call, rnd *rand.Rand) (string, bool) {
	w := c.rs.dialect.MACWireLen
	if w <= 0 {
		w = 8
	}
	hexMode := w == 16
	pick := rnd.IntN(w)      // which byte of the MAC, from its start
	bit := rnd.IntN(8)       // binary: which bit
	step := 1 + rnd.IntN(15) // hex: to which other digit
	const hexDigits = "0123456789ABCDEF"
	c.frame(func(b []byte) []byte {
		if len(b) < w {
			return b
		}
		i := len(b) - w + pick
		if hexMode {
			if d := strings.IndexByte(hexDigits, upper(b[i])); d >= 0 {
				b[i] = hexDigits[(d+step)%16]
				return b
			}
			b[i] ^= 1 // not a hex digit (no MAC on this message): still ASCII
			return b
		}
		b[i] ^= 1 << bit
		return b
	})
	if hexMode {
		return fmt.Sprintf("MAC hex digit %d changed", pick+1), true
	}
	return fmt.Sprintf("MAC byte %d bit %d flipped", pick+1, bit), true
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
