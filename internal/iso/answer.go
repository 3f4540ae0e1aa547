package iso

import (
	"errors"
	"fmt"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// Answers packed from their request's own bytes. A host's answer echoes
// most of the request (amount, STAN, TID, …) and adds two or three fields
// (RRN, approval code, response code). Built through moov it costs a new
// Message, a field instance per echoed field and a full Pack: about 30 %
// of the load pipeline's CPU in the profile of issue 14. The request's
// bytes already hold every echoed field packed, and the host's format
// check (ValidateLayout) has worked out where each one lies: the answer is
// those spans copied in field order, with only the new fields packed.
// The host checks the result against moov's Pack once per message shape
// and keeps moov for any shape where they differ (host/answer.go).

// FieldValue is one field set to a value (as iso.Set would).
type FieldValue struct {
	Field int
	Value string
}

// Layout is where the MTI (0), the bitmap (1) and each field of one packed
// message lie, as ValidateLayout found them.
type Layout struct {
	start, end [129]int32
	has        [129]bool
	ok         bool // the fields cover the message exactly
}

func (l *Layout) reset() { *l = Layout{} }

func (l *Layout) put(id, at, n int) {
	if l == nil {
		return
	}
	l.start[id], l.end[id], l.has[id] = int32(at), int32(at+n), true
}

// OK says the layout accounts for every byte of the message it was made
// from (a layout of a message that failed validation is not OK).
func (l *Layout) OK() bool { return l.ok }

// Has says whether field id was present.
func (l *Layout) Has(id int) bool { return id >= 0 && id <= 128 && l.has[id] }

// Span is field id's packed bytes (length prefix included) in raw, the
// message the layout was made from; nil when absent.
func (l *Layout) Span(raw []byte, id int) []byte {
	if !l.Has(id) {
		return nil
	}
	return raw[l.start[id]:l.end[id]]
}

var errNoLayout = errors.New("no layout of the request")

// PackAnswer appends to dst the packed message of MTI mti whose fields are
// the request's fields echo (those present, packed as the request had
// them) and the fields of set, packed from their values; a field in both
// takes its value from set (the last one when set names it twice). raw
// and lay are the request's bytes and layout; spec is the dialect's.
func PackAnswer(dst []byte, spec *iso8583.MessageSpec, mti string, raw []byte, lay *Layout, echo []int, set []FieldValue) ([]byte, error) {
	if lay == nil || !lay.ok {
		return dst, errNoLayout
	}
	// from[id]: 0 absent, 1 echoed, k+2 the value of set[k]. Field 65 is
	// never packed: in a 64-bit bitmap scheme its bit says a third bitmap
	// follows (moov's Pack skips it too).
	var from [129]uint8
	last := 0
	for _, id := range echo {
		if id > 1 && id <= 128 && id != 65 && lay.has[id] {
			from[id], last = 1, max(last, id)
		}
	}
	if len(set) > 250 {
		return dst, fmt.Errorf("%d fields set", len(set))
	}
	for k, fv := range set {
		if fv.Field < 2 || fv.Field > 128 {
			return dst, fmt.Errorf("field %d cannot be set", fv.Field)
		}
		if fv.Field != 65 {
			from[fv.Field], last = uint8(k+2), max(last, fv.Field)
		}
	}
	var err error
	if dst, err = packValue(dst, spec, 0, mti); err != nil {
		return dst, err
	}
	if dst, err = appendBitmap(dst, spec, &from, last); err != nil {
		return dst, err
	}
	for id := 2; id <= last; id++ {
		switch f := from[id]; {
		case f == 1:
			dst = append(dst, raw[lay.start[id]:lay.end[id]]...)
		case f >= 2:
			if dst, err = packValue(dst, spec, id, set[f-2].Value); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// appendBitmap appends the packed bitmap of the fields marked in from
// (last: the highest): a primary bitmap, and a secondary one when a field
// above 64 is present, as moov's Bitmap packs them — without a Bitmap
// instance, which costs two allocations and a copy per answer. Specs with
// other bitmap shapes (not 8 bytes, no auto-expansion) go through moov.
func appendBitmap(dst []byte, spec *iso8583.MessageSpec, from *[129]uint8, last int) ([]byte, error) {
	sf, ok := spec.Fields[1]
	if !ok {
		return dst, errors.New("the spec has no bitmap")
	}
	sp := sf.Spec()
	if sp.Length != 8 || sp.DisableAutoExpand {
		bm, ok := field.NewInstanceOf(sf).(*field.Bitmap)
		if !ok {
			return dst, errors.New("the spec's field 1 is not a bitmap")
		}
		for id := 2; id <= 128; id++ {
			if from[id] != 0 {
				bm.Set(id)
			}
		}
		b, err := bm.Pack()
		if err != nil {
			return dst, fmt.Errorf("bitmap: %w", err)
		}
		return append(dst, b...), nil
	}
	var bits [16]byte
	n := 8
	if last > 64 {
		n = 16
		bits[0] |= 0x80 // a secondary bitmap follows
	}
	for id := 2; id <= last; id++ {
		if from[id] != 0 {
			bits[(id-1)/8] |= 0x80 >> ((id - 1) % 8)
		}
	}
	b, err := sp.Enc.Encode(bits[:n])
	if err != nil {
		return dst, fmt.Errorf("bitmap: %w", err)
	}
	return append(dst, b...), nil
}

// packValue appends field id of spec holding v, packed: a string field
// with moov's default packer directly (pad, encode, length prefix — what
// String.Pack does, without a field instance), any other through one.
func packValue(dst []byte, spec *iso8583.MessageSpec, id int, v string) ([]byte, error) {
	sf, ok := spec.Fields[id]
	if !ok {
		return dst, fmt.Errorf("field %d is not in the spec", id)
	}
	v = padValue(spec, id, v)
	if _, isString := sf.(*field.String); isString {
		if sp := sf.Spec(); sp.Packer == nil && sp.Enc != nil && sp.Pref != nil {
			value := []byte(v)
			if sp.Pad != nil {
				value = sp.Pad.Pad(value, sp.Length)
			}
			enc, err := sp.Enc.Encode(value)
			if err != nil {
				return dst, fmt.Errorf("field %d: %w", id, err)
			}
			pref, err := sp.Pref.EncodeLength(sp.Length, len(value))
			if err != nil {
				return dst, fmt.Errorf("field %d: %w", id, err)
			}
			return append(append(dst, pref...), enc...), nil
		}
	}
	f := field.NewInstanceOf(sf)
	if err := f.SetBytes([]byte(v)); err != nil {
		return dst, fmt.Errorf("field %d: %w", id, err)
	}
	b, err := f.Pack()
	if err != nil {
		return dst, fmt.Errorf("field %d: %w", id, err)
	}
	return append(dst, b...), nil
}
