package fault

import (
	"fmt"
	"math/rand/v2"

	"github.com/moov-io/iso8583"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "garbage",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "bytes", Kind: KindInt, Default: "8", Doc: "how many random bytes follow the frame", check: positive(4096)},
			},
			Symptom: "Random bytes follow the frame on the wire: the peer reads them as the next length header and loses framing.",
		},
		msg: func(a attrs) (msgFault, error) { return garbageFault{a.int("bytes")}, nil },
	})
}

type garbageFault struct{ n int }

func (garbageFault) applies(*iso8583.Message, string) bool { return true }
func (garbageFault) inbound() bool                         { return false }

// apply draws the bytes now. They are 0xF0–0xFF: never a valid BCD or
// ASCII length, and as a binary length larger than any frame a peer
// accepts, so the symptom is the same in every framing.
func (f garbageFault) apply(c *call, rnd *rand.Rand) (string, bool) {
	junk := make([]byte, f.n)
	for i := range junk {
		junk[i] = 0xF0 | byte(rnd.UintN(16))
	}
	c.frame(func(b []byte) []byte { return append(b, junk...) })
	return fmt.Sprintf("%d bytes", f.n), true
}
