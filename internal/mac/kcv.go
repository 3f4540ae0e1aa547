package mac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"fmt"
	"strings"
)

// Check value lengths in bytes.
const (
	// KCVLen is the length of a legacy (encrypt-zeros) check value: 3 bytes,
	// 6 hex digits, the most ANSI X9.24-1:2017 allows for that method.
	KCVLen = 3
	// KCVAESLen is the length of a CMAC check value: 5 bytes, 10 hex digits,
	// the most ANSI X9.24-1:2017 allows and what TR-31/X9.143 "KP" blocks
	// carry. Many HSM screens show only its first 6 hex digits.
	KCVAESLen = 5
)

// KCV returns the key check value of a DES or TDES key (8, 16 or 24 bytes)
// as upper-case hex: the leftmost 3 bytes of the encryption of one all-zero
// block, the legacy method of ANSI X9.24-1:2017 (PCI PIN requirement 15-1).
// A 16-byte key is 2-key TDES (K1,K2,K1); an 8-byte key is single DES.
//
// A 16- or 24-byte AES key has the same length as a TDES key, so KCV cannot
// tell them apart: use [KCVAES] for AES keys.
func KCV(key []byte) (string, error) {
	b, err := newTDES(key, "KCV")
	if err != nil {
		return "", err
	}
	var blk [des.BlockSize]byte
	b.Encrypt(blk[:], blk[:])
	return strings.ToUpper(hex.EncodeToString(blk[:KCVLen])), nil
}

// KCVAES returns the check value of an AES key (16, 24 or 32 bytes) as
// upper-case hex: the leftmost 5 bytes of the AES-CMAC of one all-zero
// 16-byte block, the CMAC method of ANSI X9.24-1:2017 (annex A.3; the only
// method that standard and PCI PIN allow for AES).
//
// This is not the GlobalPlatform AES check value (which encrypts a block of
// 0x01 bytes); payment HSMs use the CMAC method.
func KCVAES(key []byte) (string, error) {
	if err := CMAC.CheckKey(key); err != nil {
		return "", fmt.Errorf("%w: KCVAES takes a 16-, 24- or 32-byte AES key, got %d bytes", ErrKeyLength, len(key))
	}
	m, err := New(CMAC, key, 0)
	if err != nil {
		return "", err
	}
	return m.kcv, nil
}

// computeKCV returns the MACer's key check value without the key: the
// cipher state it holds is enough.
func (m *MACer) computeKCV() string {
	switch m.alg {
	case Alg1:
		var blk [des.BlockSize]byte
		m.b1.Encrypt(blk[:], blk[:])
		return strings.ToUpper(hex.EncodeToString(blk[:KCVLen]))
	case Alg3:
		// 2-key TDES EDE (K, K', K) of a zero block.
		var blk [des.BlockSize]byte
		m.b1.Encrypt(blk[:], blk[:])
		m.b2.Decrypt(blk[:], blk[:])
		m.b1.Encrypt(blk[:], blk[:])
		return strings.ToUpper(hex.EncodeToString(blk[:KCVLen]))
	case CMAC:
		var zero [aes.BlockSize]byte
		var out [aes.BlockSize]byte
		m.cmac(out[:], zero[:])
		return strings.ToUpper(hex.EncodeToString(out[:KCVAESLen]))
	}
	return ""
}

// newTDES returns a DES (8-byte key) or TDES (16- or 24-byte key) block
// cipher; a 16-byte key K1‖K2 is expanded to K1‖K2‖K1. what names the
// caller in the error.
func newTDES(key []byte, what string) (cipher.Block, error) {
	switch len(key) {
	case 8:
		return des.NewCipher(key)
	case 16:
		var k [24]byte
		copy(k[:], key)
		copy(k[16:], key[:8])
		b, err := des.NewTripleDESCipher(k[:])
		clear(k[:])
		return b, err
	case 24:
		return des.NewTripleDESCipher(key)
	}
	return nil, fmt.Errorf("%w: %s takes an 8-, 16- or 24-byte DES/TDES key, got %d bytes (for an AES key use %sAES)",
		ErrKeyLength, what, len(key), what)
}
