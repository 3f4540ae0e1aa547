package mac

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

var (
	dASCII, _ = iso.Lookup("iso87ascii")
	dBin, _   = iso.Lookup("iso87bin")
)

const (
	testMACKey  = "0123456789ABCDEFFEDCBA9876543210"
	testMACKey2 = "89ABCDEF01234567FEDCBA9876543210"
)

func macer(t testing.TB, keyHex string) *MACer {
	t.Helper()
	m, err := New(Alg3, unhex(t, keyHex), Pad1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// keysOf installs one MAC key in a fresh slot, confirmed.
func keysOf(t testing.TB, keyHex string) *KeySlot {
	t.Helper()
	var s KeySlot
	w, err := NewWorkingKeys(Alg3, Pad1, unhex(t, keyHex), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Confirmed = true
	s.Install(w)
	return &s
}

func codec(t testing.TB, d *iso.Dialect, ks KeySource, opt CodecOptions) *Codec {
	t.Helper()
	c, err := NewCodec(link.DialectCodec{D: d}, d, ks, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func purchase(t testing.TB, d *iso.Dialect, extra map[int]string) *iso8583.Message {
	t.Helper()
	m := d.NewMessage()
	m.MTI("0200")
	fields := map[int]string{2: "4761739001010010", 3: "000000", 4: "000000001000", 7: "1127101500", 11: "000042",
		12: "101500", 13: "1127", 22: "051", 25: "00", 41: "TERM0001", 42: "MERCHANT0000001", 49: "978"}
	for id, v := range extra {
		fields[id] = v
	}
	for id, v := range fields {
		if err := iso.Set(m, id, v); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func encode(t testing.TB, c *Codec, m *iso8583.Message) []byte {
	t.Helper()
	b, err := c.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The MAC covers the packed message from the MTI up to the MAC field: the
// same bytes as packing the message with the MAC field zeroed, less the
// field. Checked against an independent pack and Compute, in both dialects,
// with the MAC in 64 and (secondary bitmap) in 128.
func TestEncodeSpanAndWire(t *testing.T) {
	for _, d := range []*iso.Dialect{dASCII, dBin} {
		for _, extra := range []map[int]string{nil, {100: "12345"}} {
			want := 64
			if extra != nil {
				want = 128
			}
			c := codec(t, d, keysOf(t, testMACKey), CodecOptions{})
			m := purchase(t, d, extra)
			b := encode(t, c, m)

			ref := purchase(t, d, extra)
			if err := ref.BinaryField(want, make([]byte, 8)); err != nil {
				t.Fatal(err)
			}
			packed, err := ref.Pack()
			if err != nil {
				t.Fatal(err)
			}
			w := d.MACWireLen
			if !bytes.Equal(b[:len(b)-w], packed[:len(packed)-w]) {
				t.Fatalf("%s field %d: signed bytes differ from the reference pack before the MAC", d.Name, want)
			}
			sum, _ := Compute(Alg3, unhex(t, testMACKey), Pad1, packed[:len(packed)-w])
			wire := sum
			if w == 16 {
				wire = []byte(strings.ToUpper(hex.EncodeToString(sum)))
			}
			if !bytes.Equal(b[len(b)-w:], wire) {
				t.Fatalf("%s field %d: MAC on the wire %q, want %q", d.Name, want, b[len(b)-w:], wire)
			}
			got, _ := m.GetBytes(want)
			if !bytes.Equal(got, sum) {
				t.Fatalf("%s: the message's field %d is %X after Encode, want the MAC sent %X", d.Name, want, got, sum)
			}
			if m.GetField(192-want) != nil {
				t.Fatalf("%s: both MAC fields set", d.Name)
			}
			// What was sent decodes and verifies.
			dm, err := c.Decode(b)
			if err != nil {
				t.Fatalf("%s field %d: %v", d.Name, want, err)
			}
			if iso.Get(dm, 11) != "000042" {
				t.Fatal("decoded message lost its STAN")
			}
		}
	}
}

// Flipping any one bit of the MACed bytes is detected: the message either
// no longer unpacks or fails its MAC check; flipping a bit of the MAC
// itself is named a corrupted MAC.
func TestEveryBitFlipDetected(t *testing.T) {
	for _, d := range []*iso.Dialect{dASCII, dBin} {
		for _, extra := range []map[int]string{nil, {100: "12345"}} {
			c := codec(t, d, keysOf(t, testMACKey), CodecOptions{})
			b := encode(t, c, purchase(t, d, extra))
			spanLen := len(b) - d.MACWireLen
			for i := range len(b) * 8 {
				f := append([]byte(nil), b...)
				f[i/8] ^= 1 << (i % 8)
				_, err := c.Decode(f)
				if err == nil && i/8 >= spanLen && d.MACWireLen == 16 && i%8 == 5 && isHex(f[i/8]) {
					continue // a hex letter of the MAC changed case: same MAC value
				}
				if err == nil {
					t.Fatalf("%s: bit %d of byte %d flipped and not detected", d.Name, i%8, i/8)
				}
				if i/8 >= spanLen {
					ve, ok := AsVerifyError(err)
					if !ok {
						// A hex digit of an ASCII MAC may stop being hex:
						// the field does not unpack. Also detected.
						continue
					}
					maxBits := 1
					if d.MACWireLen == 16 {
						maxBits = 4 // one hex digit
					}
					if ve.Kind != Corrupted || ve.Bits < 1 || ve.Bits > maxBits {
						t.Fatalf("%s: MAC bit flipped: %v (bits %d)", d.Name, ve, ve.Bits)
					}
				}
			}
		}
	}
}

func TestVerifySymptoms(t *testing.T) {
	k1, k2 := unhex(t, testMACKey), unhex(t, testMACKey2)
	var ring Keyring
	w1, _ := NewWorkingKeys(Alg3, Pad1, k1, nil)
	w1.Via = "sign-on"
	ring.Install("TERM0001", w1)
	host := codec(t, dASCII, &ring, CodecOptions{})
	old := codec(t, dASCII, StaticKeys(macer(t, testMACKey)), CodecOptions{})
	cur := codec(t, dASCII, StaticKeys(macer(t, testMACKey2)), CodecOptions{})

	// Under the only key: verifies, and confirms it.
	if _, err := host.Decode(encode(t, old, purchase(t, dASCII, nil))); err != nil {
		t.Fatal(err)
	}
	if !ring.Keys("TERM0001").Confirmed {
		t.Fatal("a message that verified did not confirm the key")
	}

	// The host changes keys; the terminal never hears: key desync.
	w2, _ := NewWorkingKeys(Alg3, Pad1, k2, nil)
	w2.Via = "key change"
	ring.Install("TERM0001", w2)
	_, err := host.Decode(encode(t, old, purchase(t, dASCII, nil)))
	ve := mustKind(t, err, KeyDesync)
	if ve.KCV != ring.Keys("TERM0001").MACKCV || ve.PrevKCV != w1.MACKCV || ve.TID != "TERM0001" || ve.STAN != "000042" {
		t.Fatalf("%+v", ve)
	}
	for _, s := range []string{"key desync", "previous key (KCV " + w1.MACKCV, "KCV " + ve.KCV, "key change"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q lacks %q", err, s)
		}
	}

	// Once the terminal has used the new key, the old one is stale.
	if _, err := host.Decode(encode(t, cur, purchase(t, dASCII, nil))); err != nil {
		t.Fatal(err)
	}
	_, err = host.Decode(encode(t, old, purchase(t, dASCII, nil)))
	mustKind(t, err, StaleKey)

	// Neither key: wrong key.
	wrong := codec(t, dASCII, StaticKeys(macer(t, "1111111111111111FEDCBA9876543210")), CodecOptions{})
	_, err = host.Decode(encode(t, wrong, purchase(t, dASCII, nil)))
	ve = mustKind(t, err, WrongKey)
	if ve.Bits <= maxCorruptBits || !strings.Contains(ve.Reason(), "wrong key") {
		t.Fatalf("%v (%d bits)", ve, ve.Bits)
	}

	// Unknown terminal: no key.
	_, err = host.Decode(encode(t, cur, purchase(t, dASCII, map[int]string{41: "OTHER001"})))
	ve = mustKind(t, err, NoKey)
	if !strings.Contains(ve.Error(), "OTHER001") || !strings.Contains(ve.Error(), "not signed on") {
		t.Fatal(ve)
	}

	// No MAC field at all.
	plain := link.DialectCodec{D: dASCII}
	b, _ := plain.Encode(nil, purchase(t, dASCII, nil))
	_, err = host.Decode(b)
	mustKind(t, err, Missing)
	b, _ = plain.Encode(nil, purchase(t, dASCII, map[int]string{100: "1"}))
	_, err = host.Decode(b)
	ve = mustKind(t, err, Missing)
	if !strings.Contains(ve.Reason(), "no field 128") {
		t.Fatal(ve)
	}

	// A MAC in 64 with a secondary bitmap, and bytes after the MAC.
	m := purchase(t, dASCII, map[int]string{100: "1"})
	_ = m.BinaryField(64, make([]byte, 8))
	b, _ = plain.Encode(nil, m)
	_, err = host.Decode(b)
	mustKind(t, err, Misplaced)
	b = encode(t, cur, purchase(t, dASCII, nil))
	_, err = host.Decode(append(b, "00"...))
	mustKind(t, err, Misplaced)
}

func mustKind(t *testing.T, err error, k VerifyKind) *VerifyError {
	t.Helper()
	ve, ok := AsVerifyError(err)
	if !ok {
		t.Fatalf("error %v is not a VerifyError (want %s)", err, k)
	}
	if ve.Kind != k {
		t.Fatalf("kind %s, want %s: %v", ve.Kind, k, ve)
	}
	if !strings.Contains(ve.Error(), ve.MTI) {
		t.Fatalf("%q does not name the MTI", ve)
	}
	return ve
}

func TestWhichMessagesAreMACed(t *testing.T) {
	ks := keysOf(t, testMACKey)
	def := codec(t, dASCII, ks, CodecOptions{})
	net := codec(t, dASCII, ks, CodecOptions{Network: true})
	msg := func(mti, nmic string) *iso8583.Message {
		m := dASCII.NewMessage()
		m.MTI(mti)
		_ = iso.Set(m, 11, "000001")
		_ = iso.Set(m, 41, "TERM0001")
		if nmic != "" {
			_ = iso.Set(m, 70, nmic)
		}
		return m
	}
	cases := []struct {
		mti, nmic  string
		def, netOn bool
	}{
		{"0100", "", true, true}, {"0110", "", true, true}, {"0200", "", true, true}, {"0210", "", true, true},
		{"0400", "", true, true}, {"0401", "", true, true}, {"0410", "", true, true},
		{"0800", "301", false, true}, {"0810", "301", false, true}, {"0800", "002", false, true},
		{"0800", "001", false, false}, {"0810", "001", false, false}, {"0800", "101", false, false}, {"0810", "101", false, false},
		{"0500", "", false, false},
	}
	for _, c := range cases {
		if got := def.Covers(msg(c.mti, c.nmic)); got != c.def {
			t.Errorf("%s/%s: MACed = %v by default", c.mti, c.nmic, got)
		}
		if got := net.Covers(msg(c.mti, c.nmic)); got != c.netOn {
			t.Errorf("%s/%s: MACed = %v with Network", c.mti, c.nmic, got)
		}
		b := encode(t, def, msg(c.mti, c.nmic))
		m, err := def.Decode(b)
		if err != nil || iso.Has(m, 64) != c.def {
			t.Errorf("%s/%s: round trip %v, has 64 = %v", c.mti, c.nmic, err, iso.Has(m, 64))
		}
	}
	only2 := codec(t, dASCII, ks, CodecOptions{Classes: "2"})
	if only2.Covers(msg("0100", "")) || !only2.Covers(msg("0200", "")) {
		t.Fatal("Classes ignored")
	}
}

func TestEncodeWithoutKey(t *testing.T) {
	var ring Keyring
	strict := codec(t, dASCII, &ring, CodecOptions{})
	_, err := strict.Encode(nil, purchase(t, dASCII, nil))
	if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "TERM0001") {
		t.Fatalf("err = %v", err)
	}
	lax := codec(t, dASCII, &ring, CodecOptions{Unsigned: true})
	m := purchase(t, dASCII, nil)
	_ = m.BinaryField(64, make([]byte, 8)) // a stale field is removed
	b := encode(t, lax, m)
	dm, _ := link.DialectCodec{D: dASCII}.Decode(b)
	if iso.Has(dm, 64) {
		t.Fatal("unsigned message carries field 64")
	}
}

func TestForcedField(t *testing.T) {
	ks := keysOf(t, testMACKey)
	c128 := codec(t, dBin, ks, CodecOptions{Field: 128})
	b := encode(t, c128, purchase(t, dBin, nil))
	m, err := c128.Decode(b)
	if err != nil || !iso.Has(m, 128) || iso.Has(m, 64) {
		t.Fatalf("field 128 forced: %v", err)
	}
	// The auto codec expects 64 on a message without other secondary fields.
	auto := codec(t, dBin, ks, CodecOptions{})
	_, err = auto.Decode(b)
	if err == nil {
		t.Fatal("a MAC in 128 accepted where 64 is expected")
	}
	c64 := codec(t, dBin, ks, CodecOptions{Field: 64})
	if _, err := c64.Encode(nil, purchase(t, dBin, map[int]string{100: "1"})); err == nil || !strings.Contains(err.Error(), "field 100") {
		t.Fatalf("field 64 with a secondary bitmap: %v", err)
	}
	if _, err := NewCodec(link.DialectCodec{D: dBin}, dBin, ks, CodecOptions{Field: 63}); err == nil {
		t.Fatal("field 63 accepted")
	}
}

func TestFaultHook(t *testing.T) {
	k1, k2 := unhex(t, testMACKey), unhex(t, testMACKey2)
	var ts KeySlot // terminal
	w1, _ := NewWorkingKeys(Alg3, Pad1, k1, nil)
	w2, _ := NewWorkingKeys(Alg3, Pad1, k2, nil)
	ts.Install(w1)
	ts.Install(w2)
	var hs KeySlot // host: the same two generations, both confirmed
	w1.Confirmed, w2.Confirmed = true, true
	hs.Install(w1)
	hs.Install(w2)
	host := codec(t, dBin, &hs, CodecOptions{})
	var sign SignWith
	after := 0
	term := codec(t, dBin, &ts, CodecOptions{Fault: func(m *iso8583.Message, k *WorkingKeys) Tamper {
		if k.MACKCV != w2.MACKCV {
			t.Errorf("hook got keys %s", k)
		}
		return Tamper{Sign: sign, Seed: 99, After: func() { after++ }}
	}})
	for _, c := range []struct {
		sign SignWith
		want VerifyKind
	}{{SignCurrent, 0}, {SignPrevious, StaleKey}, {SignWrong, WrongKey}, {SignOmit, Missing}} {
		sign = c.sign
		_, err := host.Decode(encode(t, term, purchase(t, dBin, nil)))
		if c.want == 0 {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		mustKind(t, err, c.want)
	}
	if after != 4 {
		t.Fatalf("After ran %d times, want 4", after)
	}
}

// Keys swap while messages flow: every message verifies under the key it
// was signed with or is named a previous/stale/desync/wrong-key failure, and
// the race detector sees no race.
func TestConcurrentKeyChange(t *testing.T) {
	var ring Keyring
	w, _ := NewWorkingKeys(Alg3, Pad1, unhex(t, testMACKey), nil)
	ring.Install("TERM0001", w)
	c := codec(t, dASCII, &ring, CodecOptions{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := seq(16, byte(i))
			nw, err := NewWorkingKeys(Alg3, Pad1, k, nil)
			if err != nil {
				t.Error(err)
				return
			}
			ring.Install("TERM0001", nw)
		}
	}()
	var bad sync.Map
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				m := purchase(t, dASCII, map[int]string{11: fmt.Sprintf("%03d%03d", g, i)})
				b, err := c.Encode(nil, m)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := c.Decode(b); err != nil {
					ve, ok := AsVerifyError(err)
					if !ok || ve.Kind < Corrupted {
						bad.Store(err.Error(), true)
					}
				}
			}
		}()
	}
	close(stop)
	wg.Wait()
	bad.Range(func(k, _ any) bool {
		t.Errorf("unexpected failure: %v", k)
		return true
	})
}

func TestVerifyErrorHasNoKeyMaterial(t *testing.T) {
	var ring Keyring
	w, _ := NewWorkingKeys(Alg3, Pad1, unhex(t, testMACKey2), nil)
	ring.Install("TERM0001", w)
	ring.Install("TERM0001", w)
	host := codec(t, dASCII, &ring, CodecOptions{})
	other := codec(t, dASCII, StaticKeys(macer(t, testMACKey)), CodecOptions{})
	_, err := host.Decode(encode(t, other, purchase(t, dASCII, nil)))
	ve := mustKind(t, err, WrongKey)
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v %#v", ve, ve), w.String(), ring.Keys("TERM0001").String()} {
		assertNoKey(t, s, testMACKey)
		assertNoKey(t, s, testMACKey2)
	}
}

// The MAC layer's cost over plain pack and unpack (a 0200 of 13 fields).
func BenchmarkCodec(b *testing.B) {
	ks := keysOf(b, testMACKey)
	for _, c := range []struct {
		name  string
		codec link.Codec
	}{{"plain", link.DialectCodec{D: dASCII}}, {"mac", codec(b, dASCII, ks, CodecOptions{})}} {
		b.Run(c.name, func(b *testing.B) {
			m := purchase(b, dASCII, nil)
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				out, err := c.codec.Encode(buf[:0], m)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.codec.Decode(out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
