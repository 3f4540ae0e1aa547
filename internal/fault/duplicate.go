package fault

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "duplicate",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "copies", Kind: KindInt, Default: "1", Doc: "extra copies written right after the message", check: positive(16)},
			},
			Symptom: "The message arrives twice: the extra copy of a response answers a request already answered (the terminal reports response.duplicate; late after a timeout).",
		},
		msg: func(a attrs) (msgFault, error) { return duplicateFault{a.int("copies"), false}, nil },
	})
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "duplicate-request",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "copies", Kind: KindInt, Default: "1", Doc: "retransmissions written right after the request", check: positive(16)},
			},
			Symptom:       "The terminal retransmits a request with the same STAN: the host must answer it once and not process it twice.",
			Streams:       []Stream{Upstream},
			DefaultStream: Upstream,
		},
		msg: func(a attrs) (msgFault, error) { return duplicateFault{a.int("copies"), true}, nil },
	})
}

type duplicateFault struct {
	copies   int
	requests bool
}

func (f duplicateFault) applies(_ *iso8583.Message, mti string) bool {
	return !f.requests || iso.IsRequest(mti)
}
func (duplicateFault) inbound() bool { return false }
func (f duplicateFault) apply(c *call, _ *rand.Rand) (string, bool) {
	c.plan.Copies += f.copies
	return fmt.Sprintf("+%d", f.copies), true
}

// positive checks a whole number between 1 and limit.
func positive(limit int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > limit {
			return fmt.Errorf("must be between 1 and %d", limit)
		}
		return nil
	}
}
