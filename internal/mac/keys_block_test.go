package mac

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"testing"
)

const demoKey = "0123456789ABCDEFFEDCBA9876543210" // dspread QPOS demo key, odd parity

func TestSetOddParity(t *testing.T) {
	for i := range 256 {
		b := []byte{byte(i)}
		SetOddParity(b)
		if bits.OnesCount8(b[0])%2 != 1 || b[0]&^1 != byte(i)&^1 {
			t.Fatalf("SetOddParity(%02X) = %02X", i, b[0])
		}
	}
	k := unhex(t, demoKey)
	SetOddParity(k)
	if hexString(k) != strings.ToLower(demoKey) {
		t.Fatal("an odd-parity key changed")
	}
}

func TestKEK(t *testing.T) {
	kek, err := NewKEK(unhex(t, demoKey))
	if err != nil {
		t.Fatal(err)
	}
	if kek.KCV() != "08D7B4" || kek.String() != "TMK kcv=08D7B4" {
		t.Fatal(kek)
	}
	enc, err := kek.Wrap(unhex(t, demoKey))
	if err != nil || fmt.Sprintf("%X", enc) != "1A4D672DCA6CB3351FD1B02B237AF9AE" {
		t.Fatalf("Wrap = %X, %v (want the dspread demo vector)", enc, err)
	}
	dec, err := kek.Unwrap(enc)
	if err != nil || !bytes.Equal(dec, unhex(t, demoKey)) {
		t.Fatal("Unwrap")
	}
	for _, n := range []int{8, 15, 32} {
		if _, err := NewKEK(seq(n, 1)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("NewKEK(%d bytes) err = %v", n, err)
		}
	}
	if _, err := kek.Wrap(seq(12, 1)); !errors.Is(err, ErrKeyLength) {
		t.Error(err)
	}
}

// A reader that hands out a fixed key stream, for deterministic keys.
type stream struct{ b []byte }

func (s *stream) Read(p []byte) (int, error) {
	n := copy(p, s.b)
	s.b = s.b[n:]
	if n == 0 {
		return 0, errors.New("stream exhausted")
	}
	return n, nil
}

func TestIssueKeysVector(t *testing.T) {
	kek, _ := NewKEK(unhex(t, demoKey))
	r := &stream{b: append(unhex(t, demoKey), unhex(t, demoKey)...)}
	w, blk, err := IssueKeys(kek, Alg3, Pad1, r)
	if err != nil {
		t.Fatal(err)
	}
	const want = "MAC321A4D672DCA6CB3351FD1B02B237AF9AE08D7B4PIN321A4D672DCA6CB3351FD1B02B237AF9AE08D7B4"
	if blk.Field() != want || len(want) != 86 {
		t.Fatalf("key block\n%s\nwant\n%s", blk.Field(), want)
	}
	if w.MACKCV != "08D7B4" || w.PINKCV != "08D7B4" {
		t.Fatal(w)
	}
	// The MAC key is the one of the published X9.19 example.
	if got := w.MAC.Sum(nil, []byte("Now is the time for all ")); fmt.Sprintf("%X", got) != "A1C72E74EA3FA9B6" {
		t.Fatalf("MAC %X", got)
	}
	if s := blk.String(); s != "key block: MAC key KCV 08D7B4, PIN key KCV 08D7B4" {
		t.Fatal(s)
	}
	if _, _, err := IssueKeys(kek, Alg3, Pad1, &stream{b: seq(20, 1)}); err == nil {
		t.Fatal("short random stream accepted")
	}
}

func TestIssueOpenRoundTrip(t *testing.T) {
	kek, _ := NewKEK(unhex(t, demoKey))
	for _, c := range []struct {
		alg   Algorithm
		pad   Padding
		hexes int
	}{{Alg1, Pad1, 16}, {Alg3, Pad2, 32}, {CMAC, 0, 32}} {
		w, blk, err := IssueKeys(kek, c.alg, c.pad, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := blk.Field()
		if !strings.HasPrefix(f, fmt.Sprintf("MAC%02d", c.hexes)) || len(f) != 5+c.hexes+6+5+32+6 {
			t.Fatalf("%s: field %d chars", c.alg, len(f))
		}
		parsed, err := ParseKeyBlock(strings.NewReplacer("mac", "MAC", "pin", "PIN").Replace(strings.ToLower(f))) // hex of either case
		if err != nil {
			t.Fatal(err)
		}
		got, err := OpenKeys(kek, c.alg, c.pad, parsed)
		if err != nil {
			t.Fatal(err)
		}
		if got.MACKCV != w.MACKCV || got.PINKCV != w.PINKCV || len(got.MACKCV) != 6 {
			t.Fatalf("%s: KCVs %s / %s", c.alg, got, w)
		}
		data := []byte("0200 MACed span")
		if !got.MAC.Verify(data, w.MAC.Sum(nil, data)[:8]) {
			t.Fatalf("%s: the opened key does not verify the issued key's MAC", c.alg)
		}
		pb := seq(8, 3)
		e1, _ := got.EncryptPINBlock(pb)
		e2, _ := w.EncryptPINBlock(pb)
		if !bytes.Equal(e1, e2) {
			t.Fatal("PIN keys differ")
		}
	}
}

func TestOpenKeysKCVMismatch(t *testing.T) {
	kek, _ := NewKEK(unhex(t, demoKey))
	w, blk, err := IssueKeys(kek, Alg3, Pad1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another TMK decrypts to another key.
	other, _ := NewKEK(unhex(t, "89ABCDEF01234567FEDCBA9876543210"))
	_, err = OpenKeys(other, Alg3, Pad1, blk)
	var ke *KCVError
	if !errors.As(err, &ke) || ke.Key != "MAC" || ke.Got != w.MACKCV || ke.Computed == w.MACKCV {
		t.Fatalf("err = %v", err)
	}
	want := fmt.Sprintf("KCV mismatch on the MAC key: got %s, computed %s", ke.Got, ke.Computed)
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), other.KCV()) {
		t.Fatalf("%q", err)
	}
	// A wrong check value in the block.
	bad := blk
	bad.PINKCV = "000000"
	_, err = OpenKeys(kek, Alg3, Pad1, bad)
	if !errors.As(err, &ke) || ke.Key != "PIN" || ke.Got != "000000" || ke.Computed != w.PINKCV {
		t.Fatalf("err = %v", err)
	}
	// A key block for another algorithm.
	_, blk1, _ := IssueKeys(kek, Alg1, Pad1, nil)
	if _, err := OpenKeys(kek, Alg3, Pad1, blk1); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("alg1 key opened for alg3: %v", err)
	}
}

func TestParseKeyBlockErrors(t *testing.T) {
	good := "MAC32" + strings.Repeat("AB", 16) + "08D7B4"
	if _, err := ParseKeyBlock(good); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"":                                "no MAC section",
		"MAC3":                            "at least 5",
		"KEY32" + good[5:]:                "unknown section tag",
		"MAC3X" + good[5:]:                "not two digits",
		"MAC30" + good[5:]:                "key length 30",
		good[:30]:                         "cut short",
		"MAC32" + strings.Repeat("G", 38): "not a hex digit at position 6",
		good + good:                       "appears twice",
		"PIN32" + strings.Repeat("AB", 16) + "123456": "no MAC section",
	}
	for in, want := range cases {
		_, err := ParseKeyBlock(in)
		if !errors.Is(err, ErrKeyBlock) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKeyBlock(%q) err = %v, want %q", in, err, want)
		}
		if err != nil && strings.Contains(strings.ToUpper(err.Error()), "ABABABAB") {
			t.Errorf("error quotes the key block: %v", err)
		}
	}
}

func TestKeySlot(t *testing.T) {
	var s KeySlot
	if s.Keys("x") != nil || s.Revert(1, "") {
		t.Fatal("empty slot")
	}
	mk := func(key string) *WorkingKeys {
		w, err := NewWorkingKeys(Alg3, Pad1, unhex(t, key), nil)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	a := s.Install(mk(demoKey))
	if a.Gen != 1 || a.Prev != nil || a.At.IsZero() || a.Confirmed {
		t.Fatalf("%+v", a)
	}
	s.Confirm("", 1)
	if !s.Keys("").Confirmed {
		t.Fatal("Confirm")
	}
	b := s.Install(mk(testMACKey2))
	if b.Gen != 2 || b.Prev == nil || b.Prev.MACKCV != a.MACKCV || b.Prev.Prev != nil || !b.Prev.Confirmed {
		t.Fatalf("%+v", b)
	}
	c := s.Install(mk(demoKey))
	if c.Prev.MACKCV != b.MACKCV || c.Prev.Prev.MACKCV != a.MACKCV {
		t.Fatal("two generations back are not kept")
	}
	if d := s.Install(mk(testMACKey)); d.Prev.Prev.Prev != nil {
		t.Fatal("the chain of previous keys grows")
	}
	s.Confirm("", 2) // not current: ignored
	if s.Keys("").Confirmed {
		t.Fatal("stale Confirm applied")
	}
	// The terminal refused generation 4: back to c, whose previous is b.
	if !s.Revert(4, "restored") {
		t.Fatal("Revert")
	}
	r := s.Keys("")
	if r.MACKCV != c.MACKCV || r.Gen != 5 || r.Via != "restored" || r.Prev.MACKCV != b.MACKCV || r.Prev.Prev != nil {
		t.Fatalf("%+v", r)
	}
	if s.Revert(4, "") {
		t.Fatal("Revert of a generation no longer current")
	}
	info := r.Info()
	if info.PrevKCV != b.MACKCV || !strings.Contains(info.String(), "generation 5") {
		t.Fatal(info)
	}
	if !s.Clear() || s.Keys("") != nil {
		t.Fatal("Clear")
	}
}

func TestKeyringConcurrent(t *testing.T) {
	var r Keyring
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tid := fmt.Sprintf("T%d", g%3)
			for range 50 {
				w, _ := NewWorkingKeys(Alg3, Pad1, seq(16, byte(g)), nil)
				in := r.Install(tid, w)
				r.Confirm(tid, in.Gen)
				_ = r.Keys(tid)
			}
		}()
	}
	wg.Wait()
	n := 0
	r.Range(func(tid string, w *WorkingKeys) bool {
		n++
		if w.Gen < 50 {
			t.Errorf("%s: generation %d after concurrent installs", tid, w.Gen)
		}
		return true
	})
	if n != 3 {
		t.Fatalf("%d TIDs", n)
	}
	if r.Keys("nobody") != nil || r.Revert("nobody", 1, "") {
		t.Fatal("unknown TID")
	}
}

// No way of printing working keys or a MACer shows key material — the
// CMAC subkeys K1, K2 included.
func TestFormattingHasNoKeyMaterial(t *testing.T) {
	key := "2b7e151628aed2a6abf7158809cf4f3c"
	m, _ := New(CMAC, unhex(t, key), 0)
	w, _ := NewWorkingKeys(CMAC, 0, unhex(t, key), unhex(t, demoKey))
	var s KeySlot
	in := s.Install(w)
	k1 := hexString(m.k1[:])
	for _, v := range []any{m, w, in, in.Info(), &s} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(f, v)
			assertNoKey(t, out, key)
			assertNoKey(t, out, demoKey)
			assertNoKey(t, out, k1)
		}
	}
}
