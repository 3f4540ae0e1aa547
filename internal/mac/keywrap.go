package mac

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// EncryptKey encrypts a working key (a DES/TDES key of 8, 16 or 24 bytes)
// under a key-encryption key — on a POS link the terminal master key (TMK)
// — with TDES in ECB mode, each 8-byte block on its own. This is how
// terminals receive their PIN and MAC working keys in the sign-on (0800/0810)
// response. The KEK must be double- (16 bytes, 2-key TDES K1,K2,K1) or
// triple-length (24 bytes).
//
// ECB leaks equal halves (a key with K1 = K2 gives two equal cipher blocks)
// and binds no usage to the key; it is what many POS links do, not what
// TR-31/X9.143 key blocks do.
func EncryptKey(kek, key []byte) ([]byte, error) {
	b, err := tdesKEK(kek, "EncryptKey")
	if err != nil {
		return nil, err
	}
	if err := checkWrapped(key, []int{8, 16, 24}, "EncryptKey", "key"); err != nil {
		return nil, err
	}
	return ecb(b, key, true), nil
}

// DecryptKey reverses [EncryptKey]: it decrypts enc (8, 16 or 24 bytes) with
// TDES-ECB under a 16- or 24-byte KEK.
func DecryptKey(kek, enc []byte) ([]byte, error) {
	b, err := tdesKEK(kek, "DecryptKey")
	if err != nil {
		return nil, err
	}
	if err := checkWrapped(enc, []int{8, 16, 24}, "DecryptKey", "encrypted key"); err != nil {
		return nil, err
	}
	return ecb(b, enc, false), nil
}

// EncryptKeyAES encrypts a key of 16 or 32 bytes (a whole number of AES
// blocks: a double-length TDES key, an AES-128 or AES-256 key) under an AES
// KEK of 16, 24 or 32 bytes, with AES in ECB mode. This is a simplification
// for simulating AES terminal master keys, not TR-31/X9.143 or AES key wrap
// (RFC 3394): there is no integrity check, and a 24-byte key cannot be
// wrapped because it is not a whole number of AES blocks.
func EncryptKeyAES(kek, key []byte) ([]byte, error) {
	b, err := aesKEK(kek, "EncryptKeyAES")
	if err != nil {
		return nil, err
	}
	if err := checkWrapped(key, []int{16, 32}, "EncryptKeyAES", "key"); err != nil {
		return nil, err
	}
	return ecb(b, key, true), nil
}

// DecryptKeyAES reverses [EncryptKeyAES].
func DecryptKeyAES(kek, enc []byte) ([]byte, error) {
	b, err := aesKEK(kek, "DecryptKeyAES")
	if err != nil {
		return nil, err
	}
	if err := checkWrapped(enc, []int{16, 32}, "DecryptKeyAES", "encrypted key"); err != nil {
		return nil, err
	}
	return ecb(b, enc, false), nil
}

func tdesKEK(kek []byte, what string) (cipher.Block, error) {
	if len(kek) != 16 && len(kek) != 24 {
		return nil, fmt.Errorf("%w: %s takes a double- or triple-length TDES KEK (16 or 24 bytes), got %d bytes",
			ErrKeyLength, what, len(kek))
	}
	return newTDES(kek, what)
}

func aesKEK(kek []byte, what string) (cipher.Block, error) {
	if len(kek) != 16 && len(kek) != 24 && len(kek) != 32 {
		return nil, fmt.Errorf("%w: %s takes a 16-, 24- or 32-byte AES KEK, got %d bytes",
			ErrKeyLength, what, len(kek))
	}
	return aes.NewCipher(kek)
}

func checkWrapped(b []byte, sizes []int, what, name string) error {
	for _, n := range sizes {
		if len(b) == n {
			return nil
		}
	}
	return fmt.Errorf("%w: %s: %s must be %s bytes, got %d bytes", ErrKeyLength, what, name, listInts(sizes), len(b))
}

func listInts(v []int) string {
	s := ""
	for i, n := range v {
		switch {
		case i == 0:
		case i == len(v)-1:
			s += " or "
		default:
			s += ", "
		}
		s += fmt.Sprint(n)
	}
	return s
}

// ecb encrypts or decrypts src block by block into a new slice.
func ecb(b cipher.Block, src []byte, encrypt bool) []byte {
	bs := b.BlockSize()
	out := make([]byte, len(src))
	for i := 0; i < len(src); i += bs {
		if encrypt {
			b.Encrypt(out[i:i+bs], src[i:i+bs])
		} else {
			b.Decrypt(out[i:i+bs], src[i:i+bs])
		}
	}
	return out
}
