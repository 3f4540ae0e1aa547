package fault

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "bad-length",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "delta", Kind: KindInt, Default: "+1", Doc: "added to the true length in the header (+N: the peer waits for bytes that never come; -N: it reads the rest as the next header)",
					check: func(s string) error {
						if n, _ := strconv.Atoi(strings.TrimPrefix(s, "+")); n == 0 {
							return fmt.Errorf("must not be 0")
						}
						return nil
					}},
			},
			Symptom: "The length header disagrees with the body: the peer loses framing (a short read eats the next frame, or the leftover bytes are read as a header).",
		},
		msg: func(a attrs) (msgFault, error) { return badLengthFault{a.int("delta")}, nil },
	})
}

type badLengthFault struct{ delta int }

func (badLengthFault) applies(*iso8583.Message, string) bool { return true }
func (badLengthFault) inbound() bool                         { return false }
func (f badLengthFault) apply(c *call, _ *rand.Rand) (string, bool) {
	lh := c.framing().Length
	hs := lh.Size()
	c.frame(func(b []byte) []byte {
		if len(b) < hs {
			return b
		}
		n, err := lh.Get(b[:hs])
		if err != nil {
			return b
		}
		_ = lh.Put(b[:hs], min(max(n+f.delta, 0), lh.Max()))
		return b
	})
	return fmt.Sprintf("length header %+d", f.delta), true
}
