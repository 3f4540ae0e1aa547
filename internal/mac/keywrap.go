package mac

import (
	"crypto/cipher"
	"fmt"
)

// The TDES-ECB key wrap of KEK: how many POS links send working keys
// under the terminal master key at sign-on. ECB leaks equal halves (a key
// with K1 = K2 gives two equal cipher blocks) and binds no usage to the key;
// it is what those links do, not what TR-31/X9.143 key blocks do.

func tdesKEK(kek []byte, what string) (cipher.Block, error) {
	if len(kek) != 16 && len(kek) != 24 {
		return nil, fmt.Errorf("%w: %s takes a double- or triple-length TDES KEK (16 or 24 bytes), got %d bytes",
			ErrKeyLength, what, len(kek))
	}
	return newTDES(kek, what)
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
