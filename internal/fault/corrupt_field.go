package fault

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "corrupt-field",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "field", Kind: KindField, Required: true, Doc: "the field to corrupt"},
				{Name: "value", Kind: KindString, Doc: "the value to put in; default random characters of the same length and kind, so the message still packs"},
				{Name: "mode", Kind: KindEnum, Default: "value", Values: []string{"value", "unpackable"},
					Doc: "value: a wrong but valid value; unpackable: the frame ends inside the field (length header adjusted), so unpacking fails there"},
			},
			Symptom: "Field N carries a wrong value (amount, STAN, RC...), or with mode=unpackable the peer cannot unpack the message from field N on.",
			Inbound: true,
		},
		msg: func(a attrs) (msgFault, error) {
			f := corruptFault{id: a.int("field"), value: a.str("value"), unpackable: a.str("mode") == "unpackable"}
			if f.unpackable && f.value != "" {
				return nil, fmt.Errorf("value= and mode=unpackable: give one or the other")
			}
			return f, nil
		},
	})
}

type corruptFault struct {
	id         int
	value      string
	unpackable bool
}

func (f corruptFault) applies(m *iso8583.Message, _ string) bool {
	return iso.Has(m, f.id) || (f.value != "" && !f.unpackable)
}
func (f corruptFault) inbound() bool { return !f.unpackable }

func (f corruptFault) apply(c *call, rnd *rand.Rand) (string, bool) {
	if f.unpackable {
		return f.cut(c)
	}
	m, ok := c.edit()
	if !ok {
		return "", false
	}
	if f.value != "" {
		if iso.Set(m, f.id, f.value) != nil {
			return "", false
		}
		return fmt.Sprintf("field %d set to %q", f.id, f.value), true
	}
	fl := m.GetField(f.id)
	if b, isBin := fl.(*field.Binary); isBin {
		old, _ := b.Bytes()
		nb := make([]byte, len(old))
		for {
			for i := range nb {
				nb[i] = byte(rnd.UintN(256))
			}
			if len(nb) == 0 || string(nb) != string(old) {
				break
			}
		}
		if m.BinaryField(f.id, nb) != nil {
			return "", false
		}
		return fmt.Sprintf("field %d: %d random bytes", f.id, len(nb)), true
	}
	old := iso.Get(m, f.id)
	nv := randomLike(old, rnd)
	if iso.Set(m, f.id, nv) != nil {
		return "", false
	}
	return fmt.Sprintf("field %d: %d random characters", f.id, len(nv)), true
}

// randomLike returns a different value of the same length and kind: digits
// for digits, letters and digits otherwise.
func randomLike(old string, rnd *rand.Rand) string {
	const num, alnum = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	set := num
	if strings.Trim(old, num) != "" {
		set = alnum
	}
	if old == "" {
		return ""
	}
	b := []byte(old)
	for i := range b {
		b[i] = set[rnd.IntN(len(set))]
	}
	if string(b) == old { // make sure it differs: change the last character
		i := strings.IndexByte(set, b[len(b)-1])
		b[len(b)-1] = set[(i+1)%len(set)]
	}
	return string(b)
}

// cut makes the frame end where field id starts, with a length header that
// agrees, so the peer keeps framing but cannot unpack the message.
func (f corruptFault) cut(c *call) (string, bool) {
	m := c.cur()
	packed, err := m.Pack()
	if err != nil {
		return "", false
	}
	suffix := 0
	for id, fl := range m.GetFields() {
		if id < f.id {
			continue
		}
		b, err := fl.Pack()
		if err != nil {
			return "", false
		}
		suffix += len(b)
	}
	off := len(packed) - suffix // where field id starts in the ISO message
	fr := c.framing()
	hs := fr.Length.Size()
	pos := hs + fr.PrefixLen() + off
	c.frame(func(b []byte) []byte {
		if pos >= len(b) {
			return b
		}
		b = b[:pos]
		n := len(b) - hs
		if !fr.LengthCountsPrefix {
			n -= fr.PrefixLen()
		}
		_ = fr.Length.Put(b[:hs], n)
		return b
	})
	return fmt.Sprintf("frame ends where field %d starts", f.id), true
}
