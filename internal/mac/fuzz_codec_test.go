package mac

import (
	"testing"

	"github.com/possim/possim/internal/iso"
)

// FuzzCodecDecode feeds arbitrary bytes from the network to the MAC codec of
// both dialects: whatever arrives, it must not panic.
func FuzzCodecDecode(f *testing.F) {
	for _, name := range iso.Names() {
		d, _ := iso.Lookup(name)
		c := codec(f, d, keysOf(f, "0123456789ABCDEFFEDCBA9876543210"), CodecOptions{})
		signed, err := c.Encode(nil, purchase(f, d, nil))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name == "iso87bin", signed)
	}
	f.Fuzz(func(t *testing.T, bin bool, b []byte) {
		name := "iso87ascii"
		if bin {
			name = "iso87bin"
		}
		d, _ := iso.Lookup(name)
		c := codec(t, d, keysOf(t, "0123456789ABCDEFFEDCBA9876543210"), CodecOptions{})
		_, _ = c.Decode(b)
	})
}
