package pinblock

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestPublishedFormat0Vectors(t *testing.T) {
	for _, v := range []struct {
		source, pin, pan, clear, key, enc string
	}{
		// ID TECH Knowledge Base, "ISO 9564 format 0" worked example
		// (atlassian.idtechproducts.com/confluence, page 50529496):
		// PAN 43219876543210987, PIN 1234 → 0412AC89ABCDEF67.
		{"ID TECH", "1234", "43219876543210987", "0412AC89ABCDEF67", "", ""},
		// devindtools.com/Calculator/PinblockCalc, "How to calculate PIN
		// Block": PIN 123456, PAN 4451234567890129 → 06122662A9876FED, and
		// under key E8DD93B8AF13999C7644C0FE11F5D2A7 → ABC5E23474210DAC.
		{"devindtools", "123456", "4451234567890129", "06122662A9876FED", "E8DD93B8AF13999C7644C0FE11F5D2A7", "ABC5E23474210DAC"},
	} {
		b, err := Format0(v.pin, v.pan)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ToUpper(hex.EncodeToString(b[:])); got != v.clear {
			t.Errorf("%s: clear block %s, published %s", v.source, got, v.clear)
		}
		if pin, err := PIN(b[:], v.pan); err != nil || pin != v.pin {
			t.Errorf("%s: read back %q %v", v.source, pin, err)
		}
		if v.key == "" {
			continue
		}
		key, _ := hex.DecodeString(v.key)
		c, err := NewKey(key)
		if err != nil {
			t.Fatal(err)
		}
		e := Encrypt(c, b)
		if got := strings.ToUpper(hex.EncodeToString(e[:])); got != v.enc {
			t.Errorf("%s: encrypted %s, published %s", v.source, got, v.enc)
		}
		d, _ := Decrypt(c, e[:])
		if d != b {
			t.Errorf("%s: decrypt", v.source)
		}
	}
}

func TestWrongKeyOrPANIsAFormatError(t *testing.T) {
	b, _ := Format0("1234", "4000000000001234")
	if _, err := PIN(b[:], "4000000000009999"); !errors.Is(err, ErrFormat) {
		// another PAN changes the PAN field: the padding no longer reads F
		t.Fatalf("other PAN: %v", err)
	}
	k1, _ := NewKey([]byte("0123456789ABCDEF"))
	k2, _ := NewKey([]byte("FEDCBA9876543210"))
	e := Encrypt(k1, b)
	d, _ := Decrypt(k2, e[:])
	if _, err := PIN(d[:], "4000000000001234"); !errors.Is(err, ErrFormat) {
		t.Fatalf("wrong key: %v", err)
	}
	for _, bad := range []struct{ pin, pan string }{{"123", "4000000000001234"}, {"12a4", "4000000000001234"}, {"1234", "4000"}, {"1234567890123", "4000000000001234"}} {
		if _, err := Format0(bad.pin, bad.pan); err == nil {
			t.Errorf("%q %q accepted", bad.pin, bad.pan)
		}
	}
}

func FuzzPIN(f *testing.F) {
	f.Add([]byte{0x04, 0x12, 0xAC, 0x89, 0xAB, 0xCD, 0xEF, 0x67}, "43219876543210987")
	f.Fuzz(func(t *testing.T, b []byte, pan string) {
		pin, err := PIN(b, pan)
		if err != nil {
			return
		}
		back, err := Format0(pin, pan)
		if err != nil || string(back[:]) != string(b) {
			t.Fatalf("%x read as %q does not rebuild: %x %v", b, pin, back, err)
		}
	})
}
