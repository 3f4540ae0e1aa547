package iso

import (
	"errors"

	"github.com/moov-io/iso8583"
	"strings"
	"testing"
)

// Every dialect: a good message passes; each kind of bad field, and bytes
// after the last field, fail with the field and the rule named.
func TestValidate(t *testing.T) {
	for _, name := range Names() {
		d, _ := Lookup(name)
		good, m := unpackedSample(t, d)
		if err := ValidateLayout(m, good, nil); err != nil {
			t.Fatalf("%s: a good message fails: %v", name, err)
		}
		var fe *FieldError
		if err := ValidateLayout(m, append(append([]byte(nil), good...), 0x01, 0x02), nil); !errors.As(err, &fe) || fe.Field != 0 || !strings.Contains(err.Error(), "2 bytes after the last field") {
			t.Errorf("%s trailing bytes: %v", name, err)
		}
		for _, tc := range []struct {
			id         int
			value, msg string
		}{
			{4, "ABCDEFGHIJKL", "is not numeric (character 1 is 'A')"},
			{4, "-00000001234", "is negative"},
			{2, "4111A11111111111", "is not numeric (character 5 is 'A')"},
			{2, "41111111111", "is 11 digits: a PAN has 12 to 19"},
			{12, "10150X", "is not numeric (character 6 is 'X')"},
		} {
			if name != "iso87ascii" {
				continue // a binary dialect cannot even pack letters into BCD
			}
			bad, _ := d.Unpack(good)
			if err := Set(bad, tc.id, tc.value); err != nil {
				t.Fatal(err)
			}
			err := ValidateLayout(bad, nil, nil)
			if !errors.As(err, &fe) || fe.Field != tc.id || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s field %d %q: %v", name, tc.id, tc.value, err)
			}
			if tc.id == 2 && strings.Contains(err.Error(), tc.value) {
				t.Errorf("the error shows the full PAN: %v", err)
			}
		}
	}
}

// BenchmarkValidate is the host's field check of a typical 0200, to
// compare with the host's CPU per transaction (BenchmarkPipeline).
func BenchmarkValidate(b *testing.B) {
	for _, name := range Names() {
		d, _ := Lookup(name)
		packed, m := unpackedSample(b, d)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := ValidateLayout(m, packed, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The layout the check records: in every dialect each field's span is
// exactly the field packed on its own, the spans tile the message, and
// PackAnswer of every field with nothing set gives the message back
// (with a new MTI).
func TestLayoutSpans(t *testing.T) {
	for _, name := range Names() {
		d, _ := Lookup(name)
		good, m := unpackedSample(t, d)
		var lay Layout
		if err := ValidateLayout(m, good, &lay); err != nil || !lay.OK() {
			t.Fatalf("%s: %v (layout ok %v)", name, err, lay.OK())
		}
		at := 0
		var ids []int
		for id := 0; id <= 128; id++ {
			if !lay.Has(id) {
				continue
			}
			want, err := m.GetField(id).Pack()
			if err != nil {
				t.Fatal(err)
			}
			if got := lay.Span(good, id); string(got) != string(want) {
				t.Errorf("%s field %d: span % X, the field packs % X", name, id, got, want)
			}
			if int(lay.start[id]) != at {
				t.Errorf("%s field %d starts at %d, the previous field ends at %d", name, id, lay.start[id], at)
			}
			at = int(lay.end[id])
			if id > 1 {
				ids = append(ids, id)
			}
		}
		if at != len(good) {
			t.Errorf("%s: the spans end at %d of %d bytes", name, at, len(good))
		}
		mti, _ := m.GetMTI()
		again, err := PackAnswer(nil, d.Spec, mti, good, &lay, ids, nil)
		if err != nil || string(again) != string(good) {
			t.Errorf("%s: PackAnswer of every field gives % X (%v), want % X", name, again, err, good)
		}
		if _, err := PackAnswer(nil, d.Spec, mti, good, &Layout{}, ids, nil); err == nil {
			t.Errorf("%s: PackAnswer without a layout did not fail", name)
		}
	}
}

// unpackedSample is sample's packed message and its unpacked form.
func unpackedSample(t testing.TB, d *Dialect) ([]byte, *iso8583.Message) {
	t.Helper()
	b := sample(t, d)
	m, err := d.Unpack(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, m
}
