// Package pinblock builds and reads ISO 9564-1 format 0 PIN blocks (also
// known as ANSI X9.8, ISO-0, VISA-1) and encrypts them under a TDES PIN key,
// as field 52 carries them.
//
// Written here because no maintained Go library in reach does it
// (moov-io/pinblock is not available to this project); the format is 16
// nibbles and an XOR, checked against two published examples in the tests.
package pinblock

import (
	"crypto/cipher"
	"crypto/des"
	"errors"
	"fmt"
)

// ErrFormat means a block is not a format 0 PIN block for this PAN.
var ErrFormat = errors.New("not an ISO 9564-1 format 0 PIN block")

// Format0 makes the clear PIN block: the PIN field (0, length, PIN digits,
// F padding) XOR the PAN field (0000 + the 12 rightmost PAN digits
// excluding the check digit).
func Format0(pin, pan string) ([8]byte, error) {
	var out [8]byte
	if len(pin) < 4 || len(pin) > 12 || !digits(pin) {
		return out, fmt.Errorf("a PIN is 4 to 12 digits, got %d characters", len(pin))
	}
	pf, err := panField(pan)
	if err != nil {
		return out, err
	}
	var nib [16]byte
	nib[0], nib[1] = 0, byte(len(pin))
	for i := 2; i < 16; i++ {
		nib[i] = 0xF
		if i-2 < len(pin) {
			nib[i] = pin[i-2] - '0'
		}
	}
	for i := range out {
		out[i] = (nib[2*i]<<4 | nib[2*i+1]) ^ pf[i]
	}
	return out, nil
}

// PIN reads the PIN out of a clear format 0 block for pan. It checks the
// format nibble, the length and the F padding, so a block decrypted with
// the wrong key or made for another card is an error, not a wrong PIN.
func PIN(block []byte, pan string) (string, error) {
	if len(block) != 8 {
		return "", fmt.Errorf("%w: %d bytes, want 8", ErrFormat, len(block))
	}
	pf, err := panField(pan)
	if err != nil {
		return "", err
	}
	var nib [16]byte
	for i := range 8 {
		b := block[i] ^ pf[i]
		nib[2*i], nib[2*i+1] = b>>4, b&0x0F
	}
	n := int(nib[1])
	if nib[0] != 0 || n < 4 || n > 12 {
		return "", fmt.Errorf("%w: control nibbles are not 0 and a length of 4-12 (wrong key or another format)", ErrFormat)
	}
	pin := make([]byte, n)
	for i := range n {
		if nib[2+i] > 9 {
			return "", fmt.Errorf("%w: PIN digit %d is not a digit (wrong key or PAN)", ErrFormat, i+1)
		}
		pin[i] = '0' + nib[2+i]
	}
	for i := 2 + n; i < 16; i++ {
		if nib[i] != 0xF {
			return "", fmt.Errorf("%w: padding is not F (wrong key or PAN)", ErrFormat)
		}
	}
	return string(pin), nil
}

func panField(pan string) ([8]byte, error) {
	var pf [8]byte
	if len(pan) < 13 || len(pan) > 19 || !digits(pan) {
		return pf, fmt.Errorf("a PAN is 13 to 19 digits, got %d characters", len(pan))
	}
	d := pan[len(pan)-13 : len(pan)-1] // 12 rightmost, without the check digit
	for i := range 6 {
		pf[2+i] = (d[2*i]-'0')<<4 | (d[2*i+1] - '0')
	}
	return pf, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// NewKey makes a TDES cipher from a double- (16 bytes, K1 K2 K1) or
// triple-length (24 bytes) PIN key.
func NewKey(key []byte) (cipher.Block, error) {
	var k []byte
	switch len(key) {
	case 16:
		k = append(append(make([]byte, 0, 24), key...), key[:8]...)
	case 24:
		k = key
	default:
		return nil, fmt.Errorf("a PIN key is 16 or 24 bytes, got %d", len(key))
	}
	return des.NewTripleDESCipher(k)
}

// Encrypt encrypts a clear PIN block (TDES-ECB, one block).
func Encrypt(c cipher.Block, clear [8]byte) [8]byte {
	var out [8]byte
	c.Encrypt(out[:], clear[:])
	return out
}

// Decrypt decrypts an encrypted PIN block.
func Decrypt(c cipher.Block, enc []byte) ([8]byte, error) {
	var out [8]byte
	if len(enc) != 8 {
		return out, fmt.Errorf("%w: %d bytes, want 8", ErrFormat, len(enc))
	}
	c.Decrypt(out[:], enc)
	return out, nil
}
