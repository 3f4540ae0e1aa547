package iso

import (
	"fmt"
	bits8 "math/bits"
	"strings"
	"sync"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
)

// Field validation: what a real acquirer checks before it looks at a
// request, so that a terminal with an encoding bug is told "format error"
// (RC 30) instead of "approved". The rules come from the spec's own field
// definitions — type, encoding, length, prefix, description — not from a
// list of field numbers, so they hold for any dialect or user spec:
//
//   - a numeric field (moov Numeric, BCD-encoded, or a field described as an
//     ISO 8583 numeric element) holds digits only: no letters, no sign;
//   - a fixed-length field has exactly its length;
//   - an x+n field (28–31, 97 in 1987) is C or D followed by digits;
//   - the Primary Account Number is 12–19 digits;
//   - the message ends with its last field: no trailing bytes.

// FieldError is a field that breaks a rule of its definition. Value is safe
// to log (PANs masked, secrets not shown).
type FieldError struct {
	Field int // 0: the message as a whole
	Value string
	Rule  string
}

func (e *FieldError) Error() string {
	if e.Field == 0 {
		return e.Rule
	}
	return fmt.Sprintf("field %d: %q %s", e.Field, e.Value, e.Rule)
}

type fieldClass uint8

const (
	classOther fieldClass = iota
	classNumeric
	classSigned // x+n: C/D then digits
)

// fieldRule is what the validator needs of one field definition, worked
// out once per spec.
type fieldRule struct {
	class  fieldClass
	fixed  bool
	length int
	pad    bool
	pan    bool
	prefix int // bytes of length prefix on the wire
	enc    encoding.Encoder
}

var rulesBySpec sync.Map // *iso8583.MessageSpec → *[129]fieldRule

func specRules(spec *iso8583.MessageSpec) *[129]fieldRule {
	if r, ok := rulesBySpec.Load(spec); ok {
		return r.(*[129]fieldRule)
	}
	var rules [129]fieldRule
	for id := 0; id <= 128; id++ {
		if id == 1 {
			continue // the bitmap: its size is its own
		}
		f, ok := spec.Fields[id]
		if !ok {
			continue
		}
		s := f.Spec()
		r := fieldRule{length: s.Length, enc: s.Enc, pad: s.Pad != nil && s.Pad != padding.None}
		if s.Pref != nil {
			if b, err := s.Pref.EncodeLength(s.Length, s.Length); err == nil {
				r.prefix = len(b)
			}
			r.fixed = strings.HasSuffix(s.Pref.Inspect(), "Fixed")
		}
		switch {
		case isNumericType(f), isBCD(s.Enc):
			r.class = classNumeric
		case id < len(elements) && elements[id].desc != "" && s.Description == elements[id].desc:
			// Our dialects carry numerics as strings (moov's Numeric
			// would drop leading zeros); the description says which ISO
			// element the field is, and so its class.
			switch elements[id].kind {
			case kN:
				r.class = classNumeric
			case kXN:
				r.class = classSigned
			}
		}
		r.pan = s.Description == "Primary Account Number" && r.class == classNumeric
		rules[id] = r
	}
	actual, _ := rulesBySpec.LoadOrStore(spec, &rules)
	return actual.(*[129]fieldRule)
}

func isNumericType(f field.Field) bool {
	_, ok := f.(*field.Numeric)
	return ok
}

func isBCD(e encoding.Encoder) bool {
	switch e.(type) {
	case packedBCD:
		return true
	}
	return e == encoding.BCD || e == encoding.LBCD
}

// ValidateLayout checks an unpacked request against its spec's field
// definitions; raw is the message as received (MTI onwards), for the
// trailing-bytes check. The first broken rule is returned as a *FieldError.
//
// It also records in lay (when not nil) where each field lies in raw: the
// sizes it works out for the trailing-bytes check are the fields' offsets,
// so the layout costs nothing more.
func ValidateLayout(m *iso8583.Message, raw []byte, lay *Layout) error {
	if lay != nil {
		lay.reset()
	}
	spec := m.GetSpec()
	if spec == nil {
		return nil
	}
	rules := specRules(spec)
	wire := 0
	if f := m.GetField(0); f != nil {
		n, err := checkField(0, f, &rules[0])
		if err != nil {
			return err
		}
		lay.put(0, wire, n)
		wire += n
	}
	bm := m.Bitmap()
	bits, _ := bm.Bytes()
	if len(bits) > 0 {
		n := encodedLen(bm.Spec().Enc, len(bits))
		if n < 0 {
			if b, err := bm.Pack(); err == nil {
				n = len(b)
			} else {
				n = 0
			}
		}
		lay.put(1, wire, n)
		wire += n
	}
	// The bitmap's bytes say which fields are present: GetField takes the
	// message's lock, so asking for all 127 would cost more than unpacking.
	for i, by := range bits {
		for by != 0 {
			lz := bits8.LeadingZeros8(by) // bit 1 is the byte's top bit
			by &^= 0x80 >> lz
			id := i*8 + lz + 1
			if id > 128 || bm.IsBitmapPresenceBit(id) {
				continue
			}
			f := m.GetField(id)
			if f == nil {
				continue
			}
			n, err := checkField(id, f, &rules[id])
			if err != nil {
				return err
			}
			lay.put(id, wire, n)
			wire += n
		}
	}
	if lay != nil {
		lay.ok = wire == len(raw)
	}
	if wire < len(raw) {
		return &FieldError{Rule: fmt.Sprintf("%d bytes after the last field (the message is %d bytes, its fields %d)", len(raw)-wire, len(raw), wire)}
	}
	return nil
}

// checkField checks one field and returns its size on the wire.
func checkField(id int, f field.Field, r *fieldRule) (int, error) {
	var v string
	var n int // characters or bytes before encoding
	switch x := f.(type) {
	case *field.String:
		v = x.Value()
		n = len(v)
	case *field.Binary:
		n = len(x.Value())
	default:
		b, err := f.Bytes()
		if err != nil {
			return 0, &FieldError{Field: id, Rule: "cannot be read: " + err.Error()}
		}
		v, n = string(b), len(b)
	}
	bad := func(rule string, a ...any) (int, error) {
		return 0, &FieldError{Field: id, Value: safeValue(id, v), Rule: fmt.Sprintf(rule, a...)}
	}
	switch r.class {
	case classNumeric:
		if strings.HasPrefix(v, "-") {
			return bad("is negative (a numeric field holds unsigned digits)")
		}
		if i := nonDigit(v); i >= 0 {
			return bad("is not numeric (character %d is %q)", i+1, v[i])
		}
	case classSigned:
		if v == "" || (v[0] != 'C' && v[0] != 'D') {
			return bad("does not start with C (credit) or D (debit)")
		}
		if i := nonDigit(v[1:]); i >= 0 {
			return bad("is not C/D followed by digits (character %d is %q)", i+2, v[i+1])
		}
	}
	if r.pan && (n < 12 || n > 19) {
		return bad("is %d digits: a PAN has 12 to 19", n)
	}
	if r.fixed && !r.pad && n != r.length && r.class != classOther {
		return bad("is %d long: the field is fixed at %d", n, r.length)
	}
	if r.pad && r.fixed {
		n = r.length
	}
	if e := encodedLen(r.enc, n); e >= 0 {
		return r.prefix + e, nil
	}
	b, err := f.Pack() // an encoder we do not know: the field's own packing
	if err != nil {
		return 0, &FieldError{Field: id, Value: safeValue(id, v), Rule: "cannot be packed again: " + err.Error()}
	}
	return len(b), nil
}

// encodedLen is how many bytes n characters take on the wire; -1 for an
// encoder it does not know.
func encodedLen(e encoding.Encoder, n int) int {
	switch e.(type) {
	case packedBCD:
		return (n + 1) / 2
	}
	switch e {
	case encoding.ASCII, encoding.Binary, encoding.EBCDIC, encoding.EBCDIC1047:
		return n
	case encoding.BCD, encoding.LBCD:
		return (n + 1) / 2
	case encoding.BytesToASCIIHex:
		return 2 * n
	}
	return -1
}

func nonDigit(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return i
		}
	}
	return -1
}

// safeValue is a field value fit for a log line: PANs masked, secrets and
// track data not shown, long values cut.
func safeValue(id int, v string) string {
	if isPAN(id) {
		return MaskPAN(v)
	}
	if _, mac := macFields[id]; mac || Sensitive(id) {
		return fmt.Sprintf("[%d chars, not shown]", len(v))
	}
	if len(v) > 40 {
		return v[:40] + "…"
	}
	return v
}

// MTIVersion is the version digit (the MTI's first) of a dialect's
// messages: '1' for an ISO 8583:1993 dialect (its name says 93), '0' for
// 1987.
func MTIVersion(d *Dialect) byte {
	if d != nil && d.Version == V1993 {
		return '1'
	}
	return '0'
}
