package mac

import (
	"bytes"
	"testing"
)

// FuzzCompute feeds arbitrary keys, data, algorithms and paddings. It must
// never panic; when the key is accepted, Compute, MACer.Sum, MACer.Verify
// and Blocks must agree with each other.
func FuzzCompute(f *testing.F) {
	f.Add([]byte("0123456789ABCDEF"), []byte("Now is the time for all "), byte(0), byte(1))
	f.Add(bytes.Repeat([]byte{1}, 8), []byte{}, byte(0), byte(2))
	f.Add(bytes.Repeat([]byte{2}, 16), []byte("x"), byte(1), byte(1))
	f.Add(bytes.Repeat([]byte{3}, 24), []byte("0123456789abcdef"), byte(2), byte(0))
	f.Add(bytes.Repeat([]byte{4}, 32), bytes.Repeat([]byte("y"), 33), byte(2), byte(2))
	f.Add([]byte{}, []byte{}, byte(3), byte(7))
	algs := []Algorithm{Alg1, Alg3, CMAC, "", "bogus"}
	f.Fuzz(func(t *testing.T, key, data []byte, a, p byte) {
		alg := algs[int(a)%len(algs)]
		pad := Padding(p % 4)
		got, err := Compute(alg, key, pad, data)
		m, err2 := New(alg, key, pad)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Compute err %v, New err %v", err, err2)
		}
		_, _ = KCV(key)
		_, _ = KCVAES(key)
		if k, err := NewKEK(key); err == nil {
			_, _ = k.Wrap(data)
			_, _ = k.Unwrap(data)
		}
		_, _ = ParseHexKey(string(data))
		blocks, berr := Blocks(alg, pad, data)
		if err != nil {
			return
		}
		if len(got) != alg.Size() {
			t.Fatalf("MAC length %d for %s", len(got), alg)
		}
		if sum := m.Sum(nil, data); !bytes.Equal(sum, got) {
			t.Fatalf("Sum %X != Compute %X", sum, got)
		}
		if !m.Verify(data, got) || !m.Verify(data, got[:8]) {
			t.Fatal("Verify rejects its own MAC")
		}
		if berr != nil {
			t.Fatalf("Blocks: %v", berr)
		}
		joined := bytes.Join(blocks, nil)
		if !bytes.HasPrefix(joined, data) || len(joined)%alg.BlockSize() != 0 || len(joined) == 0 {
			t.Fatalf("Blocks = %X for data %X", joined, data)
		}
	})
}
