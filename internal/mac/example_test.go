package mac_test

import (
	"fmt"

	"github.com/possim/possim/internal/mac"
)

// Signing on the hot path: parse the configuration once, build one MACer per
// key, then append MACs into a reused buffer without allocating.
func Example() {
	alg, _ := mac.ParseAlgorithm("x9.19")
	pad, _ := mac.ParsePadding("1")
	key, _ := mac.ParseHexKey("0123456789ABCDEFFEDCBA9876543210")
	m, err := mac.New(alg, key, pad)
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 0, 8)
	buf = m.Sum(buf[:0], []byte("Now is the time for all "))
	fmt.Printf("%s MAC=%X\n", m, buf)
	fmt.Println("verified:", m.Verify([]byte("Now is the time for all "), buf))
	// Output:
	// iso9797-1-alg3/method1 kcv=08D7B4 MAC=A1C72E74EA3FA9B6
	// verified: true
}

// Working-key exchange at sign-on: the host sends the MAC key encrypted
// under the terminal master key, with its check value.
func ExampleKEK_Wrap() {
	tmk, _ := mac.ParseHexKey("0123456789ABCDEFFEDCBA9876543210")
	mak, _ := mac.ParseHexKey("0123456789ABCDEFFEDCBA9876543210")
	kek, _ := mac.NewKEK(tmk)
	enc, _ := kek.Wrap(mak)
	kcv, _ := mac.KCV(mak)
	fmt.Printf("%X %s\n", enc, kcv)
	// Output: 1A4D672DCA6CB3351FD1B02B237AF9AE 08D7B4
}

// Show a person which blocks went into the MAC.
func ExampleBlocks() {
	blocks, _ := mac.Blocks(mac.Alg3, mac.Pad2, []byte("Now is the time for it"))
	for _, b := range blocks {
		fmt.Printf("%X\n", b)
	}
	// Output:
	// 4E6F772069732074
	// 68652074696D6520
	// 666F722069748000
}
