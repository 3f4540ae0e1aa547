package mac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// cmacSubkeys derives K1 and K2 from an AES block cipher (RFC 4493 §2.3):
// L = AES-K(0^128), K1 = dbl(L), K2 = dbl(K1).
func cmacSubkeys(b cipher.Block) (k1, k2 [aes.BlockSize]byte) {
	var l [aes.BlockSize]byte
	b.Encrypt(l[:], l[:])
	k1 = dbl(l)
	k2 = dbl(k1)
	clear(l[:])
	return k1, k2
}

// dbl is doubling in GF(2^128) with the polynomial x^128+x^7+x^2+x+1: a
// left shift by one bit, XOR 0x87 into the last byte when the shifted-out
// bit was set (RFC 4493 §2.3, "Rb"). Constant time.
func dbl(in [aes.BlockSize]byte) (out [aes.BlockSize]byte) {
	for i := range aes.BlockSize - 1 {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[aes.BlockSize-1] = in[aes.BlockSize-1]<<1 ^ (0x87 & -(in[0] >> 7))
	return out
}

// cmac computes AES-CMAC of data in place in st (one zeroed block), RFC 4493
// §2.4: CBC over every block but the last; the last is XORed with K1 when it
// is complete, else padded with 0x80 and zeros and XORed with K2.
func (m *MACer) cmac(st, data []byte) {
	const bs = aes.BlockSize
	n := (len(data) + bs - 1) / bs // number of blocks, 0 for empty data
	complete := n > 0 && len(data)%bs == 0
	if n == 0 {
		n = 1
	}
	for i := range n - 1 {
		subtle.XORBytes(st, st, data[i*bs:(i+1)*bs])
		m.b1.Encrypt(st, st)
	}
	last := data[(n-1)*bs:]
	if complete {
		subtle.XORBytes(st, st, last)
		subtle.XORBytes(st, st, m.k1[:])
	} else {
		subtle.XORBytes(st, st[:len(last)], last)
		st[len(last)] ^= 0x80
		subtle.XORBytes(st, st, m.k2[:])
	}
	m.b1.Encrypt(st, st)
}
