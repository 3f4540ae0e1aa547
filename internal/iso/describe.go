package iso

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// MaskPAN keeps the first 6 and last 4 digits of a PAN. Shorter values keep
// only the last 4 so that nothing close to a full PAN is ever printed.
func MaskPAN(pan string) string {
	n := len(pan)
	switch {
	case n == 0:
		return ""
	case n >= 13:
		return pan[:6] + strings.Repeat("*", n-10) + pan[n-4:]
	case n > 4:
		return strings.Repeat("*", n-4) + pan[n-4:]
	}
	return strings.Repeat("*", n)
}

func maskAll(what string) iso8583.FilterFunc {
	return func(in string, _ field.Field) string {
		return fmt.Sprintf("[%s, %d chars, not shown]", what, len(in))
	}
}

// sensitiveFields is the one list of fields that carry cardholder or key
// data, with what each holds: PANs (masked to 6+4 wherever they are
// printed), track data, PIN blocks, ICC data, key material (62 carries
// working keys at sign-on) and the security code.
var sensitiveFields = map[int]string{
	2: "PAN", 34: "PAN", 35: "track 2", 36: "track 3", 45: "track 1",
	52: "PIN block", 55: "ICC data", 62: "key block", 96: "security code",
}

// macFields are not secret, but a log does not show them either.
var macFields = map[int]string{64: "MAC", 128: "MAC"}

// Sensitive reports whether field id carries cardholder or key data, which
// is never printed in full (PANs masked to 6+4, the rest not shown). The
// MACs (64, 128) are not sensitive.
func Sensitive(id int) bool {
	_, ok := sensitiveFields[id]
	return ok
}

func isPAN(id int) bool { return id == 2 || id == 34 }

// maskFilters hide everything a log must never show: the sensitive fields
// and the MACs.
var maskFilters = func() []iso8583.FieldFilter {
	var out []iso8583.FieldFilter
	for _, m := range []map[int]string{sensitiveFields, macFields} {
		for id, what := range m {
			f := maskAll(what)
			if isPAN(id) {
				f = func(in string, _ field.Field) string { return MaskPAN(in) }
			}
			out = append(out, iso8583.FilterField(strconv.Itoa(id), f))
		}
	}
	return out
}()

// Describe writes a masked, field-by-field description of m.
func Describe(w io.Writer, m *iso8583.Message) error {
	return iso8583.Describe(m, w, maskFilters...)
}

// Get returns the string value of a field, "" when absent or unreadable.
// It takes the message's lock once and copies nothing (GetFields, which
// copies the whole field map, was 15 % of the pipeline's CPU at
// saturation), so hot paths — fault matching, MAC codecs — use it too.
func Get(m *iso8583.Message, id int) string {
	if m == nil {
		return ""
	}
	f := m.GetField(id)
	if f == nil {
		return ""
	}
	s, err := f.String()
	if err != nil {
		return ""
	}
	return s
}

// Has reports whether field id is set.
func Has(m *iso8583.Message, id int) bool {
	return m != nil && m.GetField(id) != nil
}

// Summary is a one-line masked summary for transcripts:
// "0210 stan=000123 tid=TERM0001 rc=00 pan=411111******1111 amount=1234".
func Summary(m *iso8583.Message) string {
	if m == nil {
		return "<nil>"
	}
	mti, _ := m.GetMTI()
	var b strings.Builder
	b.WriteString(mti)
	add := func(k string, id int, f func(string) string) {
		if v := Get(m, id); v != "" {
			if f != nil {
				v = f(v)
			}
			b.WriteString(" " + k + "=" + v)
		}
	}
	add("stan", 11, nil)
	add("tid", 41, strings.TrimSpace)
	add("pc", 3, nil)
	add("pan", 2, MaskPAN)
	add("amount", 4, func(s string) string { return strings.TrimLeft(s, "0") })
	add("nmic", 70, nil)
	add("rc", 39, nil)
	return b.String()
}

// Set sets a field from a string, left-padding fixed-length numeric fields
// with zeros (STAN "123" → "000123") the way every ISO 8583 peer expects.
func Set(m *iso8583.Message, id int, v string) error {
	if n := zeroPadTo(m, id); n > len(v) && allDigitsStr(v) {
		v = strings.Repeat("0", n-len(v)) + v
	}
	if err := m.Field(id, v); err != nil {
		return fmt.Errorf("field %d: %w", id, err)
	}
	return nil
}

// zeroPadTo is the length a digits-only value of field id is left-padded
// with zeros to: a fixed-length field without a padder of its own (the
// built-in dialects' numerics, and the same in a user's spec) cannot take a
// shorter value, and zeros are what every ISO 8583 peer puts there. 0: no
// padding.
func zeroPadTo(m *iso8583.Message, id int) int { return specZeroPadTo(m.GetSpec(), id) }

// padValue is v as Set would put it in field id of spec.
func padValue(spec *iso8583.MessageSpec, id int, v string) string {
	if n := specZeroPadTo(spec, id); n > len(v) && allDigitsStr(v) {
		return strings.Repeat("0", n-len(v)) + v
	}
	return v
}

func specZeroPadTo(spec *iso8583.MessageSpec, id int) int {
	if id < 2 || id > 128 {
		return 0
	}
	if spec == nil {
		return 0
	}
	if t, ok := padTables.Load(spec); ok {
		return int(t.(*[129]int16)[id])
	}
	t := new([129]int16)
	for i := 2; i <= 128; i++ {
		t[i] = int16(padLength(spec.Fields[i]))
	}
	padTables.Store(spec, t)
	return int(t[id])
}

// padTables caches zeroPadTo per spec: Set runs for every field of every
// message, and Pref.Inspect formats a string.
var padTables sync.Map // *iso8583.MessageSpec → *[129]int16

func padLength(f field.Field) int {
	if f == nil {
		return 0
	}
	fs := f.Spec()
	if fs == nil || fs.Pref == nil || fs.Pad != nil || len(fs.Subfields) > 0 {
		return 0
	}
	switch f.(type) {
	case *field.String, *field.Numeric:
	default:
		return 0
	}
	if !strings.HasSuffix(fs.Pref.Inspect(), ".Fixed") {
		return 0
	}
	return fs.Length
}

func allDigitsStr(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
