package iso

import "testing"

// The codec per dialect: pack and unpack of a typical 0200 (16 fields,
// secondary bitmap). This is the CPU floor of every round trip.
func BenchmarkCodec(b *testing.B) {
	for _, name := range Names() {
		d, _ := Lookup(name)
		packed, msg := unpackedSample(b, d)
		b.Run(name+"/pack", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := msg.Pack(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/unpack", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Unpack(packed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
