package mac

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func hexString(b []byte) string { return hex.EncodeToString(b) }

// assertNoKey fails if s contains the key, in hex of either case or raw.
func assertNoKey(t *testing.T, s, keyHex string) {
	t.Helper()
	k := strings.ToLower(keyHex)
	ls := strings.ToLower(s)
	// Any 8 consecutive hex digits of the key (4 key bytes) is a leak.
	for i := 0; i+8 <= len(k); i += 2 {
		if strings.Contains(ls, k[i:i+8]) {
			t.Fatalf("%q contains key material %q", s, k[i:i+8])
		}
	}
	raw, _ := hex.DecodeString(keyHex)
	if len(raw) >= 4 && strings.Contains(s, string(raw[:4])) {
		t.Fatalf("%q contains raw key bytes", s)
	}
}

// kekWrap wraps key under kek through KEK, failing the test on an error.
func kekWrap(t *testing.T, kek, key []byte) (*KEK, []byte) {
	t.Helper()
	k, err := NewKEK(kek)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := k.Wrap(key)
	if err != nil {
		t.Fatal(err)
	}
	return k, enc
}

func TestKEKWrapPublished(t *testing.T) {
	cases := []struct {
		source         string
		kek, key, want string
	}{
		// dspread QPOS SDK demo: the working/master key
		// 0123456789ABCDEFFEDCBA9876543210 sent under the same demo key
		// ("key:0123…3210 result:0123…3210") is 1A4D672DCA6CB335 1FD1B02B237AF9AE.
		{"dspread QPOS demo", "0123456789ABCDEFFEDCBA9876543210", "0123456789ABCDEFFEDCBA9876543210",
			"1A4D672DCA6CB3351FD1B02B237AF9AE"},
		// Bouncy Castle DESedeTest: ECB of "Now is the time for all " (a
		// 24-byte value) under a 2-key and a 3-key (K,K,K = DES) TDES key.
		{"Bouncy Castle DESedeTest #1", "0123456789abcdeffedcba9876543210",
			"4e6f77206973207468652074696d6520666f7220616c6c20", "d80a0d8b2bae5e4e6a0094171abcfc2775d2235a706e232c"},
		{"Bouncy Castle DESedeTest #2", "0123456789abcdef0123456789abcdef0123456789abcdef",
			"4e6f77206973207468652074696d6520666f7220616c6c20", "3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53"},
	}
	for _, c := range cases {
		key, want := unhex(t, c.key), unhex(t, c.want)
		k, enc := kekWrap(t, unhex(t, c.kek), key)
		if !bytes.Equal(enc, want) {
			t.Errorf("%s: Wrap = %X, want %X", c.source, enc, want)
		}
		dec, err := k.Unwrap(enc)
		if err != nil || !bytes.Equal(dec, key) {
			t.Errorf("%s: Unwrap = %X, %v", c.source, dec, err)
		}
	}
}

func TestKeyWrapRoundTrip(t *testing.T) {
	for _, kekLen := range []int{16, 24} {
		for _, keyLen := range []int{8, 16, 24} {
			key := seq(keyLen, 101)
			k, enc := kekWrap(t, seq(kekLen, 1), key)
			if bytes.Equal(enc, key) || len(enc) != keyLen {
				t.Fatalf("Wrap(%d, %d) = %X", kekLen, keyLen, enc)
			}
			dec, err := k.Unwrap(enc)
			if err != nil || !bytes.Equal(dec, key) {
				t.Fatalf("round trip %d/%d: %X, %v", kekLen, keyLen, dec, err)
			}
			// The received working key is usable as a MAC key and keeps its KCV.
			if keyLen == 16 {
				k1, _ := KCV(key)
				k2, _ := KCV(dec)
				if k1 != k2 {
					t.Fatal("KCV changed over the round trip")
				}
			}
		}
	}
}

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)*29
	}
	return b
}

func TestKeyWrapErrors(t *testing.T) {
	for _, n := range []int{8, 15, 32} { // single-length, odd, AES-length
		if _, err := NewKEK(seq(n, 1)); !errors.Is(err, ErrKeyLength) || !strings.Contains(err.Error(), "bytes") {
			t.Errorf("NewKEK(%d bytes) err = %v", n, err)
		}
	}
	k, err := NewKEK(seq(16, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 7, 12, 32} {
		if _, err := k.Wrap(seq(n, 2)); !errors.Is(err, ErrKeyLength) || !strings.Contains(err.Error(), "KEK.Wrap") {
			t.Errorf("Wrap(%d bytes) err = %v", n, err)
		}
		if _, err := k.Unwrap(seq(n, 2)); !errors.Is(err, ErrKeyLength) || !strings.Contains(err.Error(), "KEK.Unwrap") {
			t.Errorf("Unwrap(%d bytes) err = %v", n, err)
		}
	}
}

func TestParseHexKey(t *testing.T) {
	for _, s := range []string{
		"0123456789ABCDEF", "0123456789abcdeffedcba9876543210",
		strings.Repeat("ab", 24), strings.Repeat("Cd", 32),
	} {
		k, err := ParseHexKey(s)
		if err != nil || !strings.EqualFold(hexString(k), s) {
			t.Errorf("ParseHexKey(%q) = %x, %v", s, k, err)
		}
	}
	cases := []struct {
		in       string
		want     error
		contains string
	}{
		{"", ErrBadHex, "empty"},
		{"0123456789ABCDE", ErrBadHex, "odd number of hex digits (15)"},
		{"0123456G89ABCDEF", ErrBadHex, "position 8"},
		{"0123456789ABCDEF ", ErrBadHex, "position 17"},
		{"0123 4567 89AB CDEF", ErrBadHex, "position 5"},
		{"0x0123456789ABCDEF", ErrBadHex, "position 2"},
		{"0123456789ABCDEF01", ErrKeyLength, "9 bytes (18 hex digits)"},
		{strings.Repeat("00", 33), ErrKeyLength, "33 bytes"},
	}
	for _, c := range cases {
		_, err := ParseHexKey(c.in)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.contains) {
			t.Errorf("ParseHexKey(%q) err = %v, want %v containing %q", c.in, err, c.want, c.contains)
		}
	}
}

// No error message may carry key material. Feed each API keys that are
// wrong in every way we report, and look for the key's hex in the errors.
func TestErrorsDoNotLeakKeys(t *testing.T) {
	const secret = "C1D2E3F4A5B6978899AABBCCDDEEFF0011223344556677889900AABBCCDDEEFF"
	keys := [][]byte{}
	for _, n := range []int{1, 5, 7, 9, 12, 15, 17, 20, 25, 31, 32} {
		keys = append(keys, unhex(t, secret[:2*n]))
	}
	var errs []error
	for _, k := range keys {
		for _, alg := range []Algorithm{Alg1, Alg3, CMAC} {
			_, err := New(alg, k, Pad1)
			errs = append(errs, err)
			_, err = Compute(alg, k, Pad1, []byte("data"))
			errs = append(errs, err)
		}
		_, err := KCV(k)
		errs = append(errs, err)
		_, err = KCVAES(k)
		errs = append(errs, err)
		_, err = NewKEK(k)
		errs = append(errs, err)
		_, err = ParseHexKey(hexString(k))
		errs = append(errs, err)
		_, err = ParseHexKey(strings.ToLower(hexString(k)) + "Z")
		errs = append(errs, err)
		_, err = ParseHexKey(hexString(k)[1:])
		errs = append(errs, err)
	}
	// Valid keys, wrong everything else.
	k16 := unhex(t, secret[:32])
	_, err := New(Alg3, k16, 9)
	errs = append(errs, err)
	kek, _ := NewKEK(k16)
	_, err = kek.Wrap(k16[:5])
	errs = append(errs, err)
	_, err = kek.Unwrap(k16[:5])
	errs = append(errs, err)
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		assertNoKey(t, err.Error(), secret)
		assertNoKey(t, fmt.Sprintf("%+v %#v", err, err), secret)
	}
	if n < 50 {
		t.Fatalf("only %d errors exercised", n)
	}
}
