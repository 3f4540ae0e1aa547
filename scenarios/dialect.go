package scenarios

import (
	"fmt"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// buildDialect makes the dialect a side speaks. Bitmap "single128" is the
// layout moov-io's stock Spec87ASCII writes — one 128-bit bitmap (32 hex
// characters in ASCII, 16 bytes in binary) whose bit 1 is never set — built
// here, for the "wrong bitmap style" scenario only: possim never ships it
// as a dialect (DESIGN.md §3).
func buildDialect(ds DialectSpec) (*iso.Dialect, link.Match, error) {
	d, err := iso.Build(ds.Name, iso.Options{LengthHeader: ds.LengthHeader, TPDU: ds.TPDU, Header: ds.Header})
	if err != nil {
		return nil, link.Match{}, err
	}
	m := link.DefaultMatch
	if ds.Match != "" {
		if m, err = link.ParseMatch(ds.Match); err != nil {
			return nil, link.Match{}, fmt.Errorf("match: %w", err)
		}
	}
	switch ds.Bitmap {
	case "", "standard":
	case "single128":
		d = single128(d)
	default:
		return nil, link.Match{}, fmt.Errorf("bitmap %q: want standard or single128", ds.Bitmap)
	}
	return d, m, nil
}

func single128(d *iso.Dialect) *iso.Dialect {
	fields := make(map[int]field.Field, len(d.Spec.Fields))
	for id, f := range d.Spec.Fields {
		fields[id] = f
	}
	bs := *d.Spec.Fields[1].Spec()
	bs.Length = 16 // bytes: one 128-bit bitmap
	bs.Description = "Bitmap (one 128-bit bitmap, bit 1 never set: non-standard)"
	fields[1] = field.NewBitmap(&bs)
	out := *d
	out.Name = d.Name + "+single128"
	out.Description = d.Description + "; NON-STANDARD single 128-bit bitmap (moov-io stock Spec87ASCII layout)"
	out.Spec = &iso8583.MessageSpec{Name: d.Spec.Name + " single128 bitmap", Fields: fields}
	return &out
}
