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
	var from [129]int8 // 0 absent, 1 echoed, 2 set
	var value [129]string
	for _, id := range echo {
		if id > 1 && id <= 128 && lay.has[id] {
			from[id] = 1
		}
	}
	for _, fv := range set {
		if fv.Field < 2 || fv.Field > 128 {
			return dst, fmt.Errorf("field %d cannot be set", fv.Field)
		}
		from[fv.Field], value[fv.Field] = 2, fv.Value
	}
	var err error
	if dst, err = packValue(dst, spec, 0, mti); err != nil {
		return dst, err
	}
	bmSpec, ok := spec.Fields[1]
	if !ok {
		return dst, errors.New("the spec has no bitmap")
	}
	bm, ok := field.NewInstanceOf(bmSpec).(*field.Bitmap)
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
	dst = append(dst, b...)
	for id := 2; id <= 128; id++ {
		switch {
		case from[id] == 1:
			dst = append(dst, raw[lay.start[id]:lay.end[id]]...)
		case from[id] == 2 && !bm.IsBitmapPresenceBit(id):
			if dst, err = packValue(dst, spec, id, value[id]); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// packValue appends field id of spec holding v, packed.
func packValue(dst []byte, spec *iso8583.MessageSpec, id int, v string) ([]byte, error) {
	sf, ok := spec.Fields[id]
	if !ok {
		return dst, fmt.Errorf("field %d is not in the spec", id)
	}
	f := field.NewInstanceOf(sf)
	if err := f.SetBytes([]byte(padValue(spec, id, v))); err != nil {
		return dst, fmt.Errorf("field %d: %w", id, err)
	}
	b, err := f.Pack()
	if err != nil {
		return dst, fmt.Errorf("field %d: %w", id, err)
	}
	return append(dst, b...), nil
}
