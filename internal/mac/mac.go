package mac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"fmt"
	"slices"
	"sync"
)

// MinVerifyLen is the shortest MAC [MACer.Verify] accepts: 4 bytes (32
// bits), the shortest MAC ANSI X9.9 and ISO/IEC 9797-1 use.
const MinVerifyLen = 4

// MACer computes one algorithm's MAC under one key. Build it once per key
// with [New]; it holds the expanded cipher state (and, for CMAC, the two
// subkeys) but not the key itself. It is safe for concurrent use.
type MACer struct {
	alg Algorithm
	pad Padding
	// b1 is the chaining cipher: DES under K (Alg1, Alg3) or AES (CMAC).
	b1 cipher.Block
	// b2 is DES under K' for the Alg3 output transformation.
	b2 cipher.Block
	// k1, k2 are the RFC 4493 subkeys (CMAC only).
	k1, k2 [aes.BlockSize]byte
	kcv    string
}

// New returns a MACer for alg under key with padding method pad (ignored for
// [CMAC]; pass 0 or anything). The key is not retained: New copies nothing
// but the cipher's expanded state.
func New(alg Algorithm, key []byte, pad Padding) (*MACer, error) {
	if err := alg.CheckKey(key); err != nil {
		return nil, err
	}
	if err := checkPadding(alg, pad); err != nil {
		return nil, err
	}
	m := &MACer{alg: alg, pad: pad}
	var err error
	switch alg {
	case Alg1:
		m.b1, err = des.NewCipher(key)
	case Alg3:
		if m.b1, err = des.NewCipher(key[:8]); err == nil {
			m.b2, err = des.NewCipher(key[8:16])
		}
	case CMAC:
		m.pad = 0
		if m.b1, err = aes.NewCipher(key); err == nil {
			m.k1, m.k2 = cmacSubkeys(m.b1)
		}
	}
	if err != nil {
		// Not reachable with the lengths checked above; never wrap the
		// cipher's error text in case a future one quotes its input.
		return nil, fmt.Errorf("%w: %s: cannot set up the cipher", ErrKeyLength, alg)
	}
	m.kcv = m.computeKCV()
	return m, nil
}

// Algorithm returns the MACer's algorithm.
func (m *MACer) Algorithm() Algorithm { return m.alg }

// Padding returns the padding method (0 for CMAC, which has its own).
func (m *MACer) Padding() Padding { return m.pad }

// Size returns the length of the full MAC in bytes (8 or 16).
func (m *MACer) Size() int { return m.alg.Size() }

// KCV returns the key check value of the MACer's key: for the DES
// algorithms the legacy check value, 6 hex digits, as [KCV] computes it
// (for Alg3 of the 2-key TDES key K‖K'); for CMAC the CMAC check value,
// 10 hex digits, as [KCVAES].
func (m *MACer) KCV() string { return m.kcv }

// String describes the MACer by algorithm, padding and key check value; it
// never contains key bytes.
func (m *MACer) String() string {
	if m.alg == CMAC {
		return fmt.Sprintf("%s kcv=%s", m.alg, m.kcv)
	}
	return fmt.Sprintf("%s/%s kcv=%s", m.alg, m.pad, m.kcv)
}

// Sum appends the full MAC of data to dst and returns the extended slice.
// It does not allocate when dst has room for [MACer.Size] more bytes.
func (m *MACer) Sum(dst, data []byte) []byte {
	bs := m.alg.BlockSize()
	n := len(dst)
	dst = slices.Grow(dst, bs)[:n+bs]
	st := dst[n:]
	clear(st)
	switch m.alg {
	case Alg1:
		m.cbcMAC(st, data)
	case Alg3:
		m.cbcMAC(st, data)
		// Output transformation 3: G = E_K(D_K'(H_q)).
		m.b2.Decrypt(st, st)
		m.b1.Encrypt(st, st)
	case CMAC:
		m.cmac(st, data)
	}
	return dst
}

// cbcMAC runs the CBC chain under b1 over data padded with m.pad, in place
// in st (one zeroed block, which is also the zero IV).
func (m *MACer) cbcMAC(st, data []byte) {
	const bs = des.BlockSize
	full := len(data) / bs
	for i := range full {
		subtle.XORBytes(st, st, data[i*bs:(i+1)*bs])
		m.b1.Encrypt(st, st)
	}
	tail := data[full*bs:]
	switch m.pad {
	case Pad1:
		// Zero-fill: a partial last block, or one zero block for empty data.
		if len(tail) == 0 && len(data) > 0 {
			return
		}
		subtle.XORBytes(st, st[:len(tail)], tail)
	case Pad2:
		subtle.XORBytes(st, st[:len(tail)], tail)
		st[len(tail)] ^= 0x80
	}
	m.b1.Encrypt(st, st)
}

// bufPool holds the scratch blocks Verify computes into: a local array
// passed to cipher.Block's interface methods would escape to the heap.
var bufPool = sync.Pool{New: func() any { return new([aes.BlockSize]byte) }}

// Verify reports, in constant time for a given mac length, whether mac is
// the leftmost len(mac) bytes of data's MAC. ISO 8583 MAC fields carry 8
// bytes: with [CMAC] that means the leftmost 8 of its 16 bytes. A mac
// shorter than [MinVerifyLen] or longer than [MACer.Size] never verifies.
func (m *MACer) Verify(data, mac []byte) bool {
	if len(mac) < MinVerifyLen || len(mac) > m.Size() {
		return false
	}
	buf := bufPool.Get().(*[aes.BlockSize]byte)
	got := m.Sum(buf[:0], data)
	ok := subtle.ConstantTimeCompare(got[:len(mac)], mac) == 1
	clear(buf[:])
	bufPool.Put(buf)
	return ok
}

// Blocks returns the padded input blocks the algorithm feeds to its cipher,
// for showing a person debugging an integration which bytes were MACed. For
// the DES algorithms that is data padded with pad. For [CMAC] it is data
// with RFC 4493's padding (0x80 then zeros on an incomplete or empty last
// block, none on a complete one); the XOR of the last block with subkey K1
// or K2 is not shown, since the subkeys are key material. The blocks are
// copies; data is not modified.
func Blocks(alg Algorithm, pad Padding, data []byte) ([][]byte, error) {
	if !alg.valid() {
		return nil, fmt.Errorf("%w %q; valid: %s", ErrUnknownAlgorithm, string(alg), validAlgorithms)
	}
	if err := checkPadding(alg, pad); err != nil {
		return nil, err
	}
	bs := alg.BlockSize()
	padded := padData(alg, pad, data)
	out := make([][]byte, 0, len(padded)/bs)
	for i := 0; i < len(padded); i += bs {
		out = append(out, padded[i:i+bs:i+bs])
	}
	return out, nil
}

// padData returns a padded copy of data as Blocks describes.
func padData(alg Algorithm, pad Padding, data []byte) []byte {
	bs := alg.BlockSize()
	rem := len(data) % bs
	out := slices.Clone(data)
	if alg == CMAC {
		if rem == 0 && len(data) > 0 {
			return out
		}
		out = append(out, 0x80)
		return append(out, make([]byte, bs-rem-1)...)
	}
	switch pad {
	case Pad1:
		if len(data) == 0 {
			return make([]byte, bs)
		}
		if rem != 0 {
			out = append(out, make([]byte, bs-rem)...)
		}
	case Pad2:
		out = append(out, 0x80)
		out = append(out, make([]byte, bs-rem-1)...)
	}
	return out
}
