package mac

import (
	"fmt"
	"testing"
)

// A 200-byte message, about the size of a MAC'd 0200 authorization request.
var benchMsg = func() []byte {
	b := make([]byte, 200)
	for i := range b {
		b[i] = byte('0' + i%10)
	}
	return b
}()

var benchCases = []struct {
	alg Algorithm
	key int
	pad Padding
}{
	{Alg1, 8, Pad1},
	{Alg3, 16, Pad2},
	{CMAC, 16, 0},
	{CMAC, 32, 0},
}

func BenchmarkSum(b *testing.B) {
	for _, c := range benchCases {
		name := fmt.Sprintf("%s/key%d/200B", c.alg, c.key)
		b.Run(name, func(b *testing.B) {
			m, err := New(c.alg, seq(c.key, 3), c.pad)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 0, 16)
			b.SetBytes(int64(len(benchMsg)))
			b.ReportAllocs()
			for b.Loop() {
				dst = m.Sum(dst[:0], benchMsg)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, c := range benchCases {
		name := fmt.Sprintf("%s/key%d/200B", c.alg, c.key)
		b.Run(name, func(b *testing.B) {
			m, err := New(c.alg, seq(c.key, 3), c.pad)
			if err != nil {
				b.Fatal(err)
			}
			mac := m.Sum(nil, benchMsg)[:8]
			b.SetBytes(int64(len(benchMsg)))
			b.ReportAllocs()
			for b.Loop() {
				if !m.Verify(benchMsg, mac) {
					b.Fatal("verify failed")
				}
			}
		})
	}
}

// BenchmarkVerifyParallel checks that one shared MACer scales across
// goroutines (the hot path shares one per key among the codec workers).
func BenchmarkVerifyParallel(b *testing.B) {
	m, _ := New(Alg3, seq(16, 3), Pad2)
	mac := m.Sum(nil, benchMsg)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !m.Verify(benchMsg, mac) {
				b.Fatal("verify failed")
			}
		}
	})
}

func BenchmarkCompute(b *testing.B) {
	for _, c := range benchCases {
		b.Run(fmt.Sprintf("%s/key%d/200B", c.alg, c.key), func(b *testing.B) {
			key := seq(c.key, 3)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compute(c.alg, key, c.pad, benchMsg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
