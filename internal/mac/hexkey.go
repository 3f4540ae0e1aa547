package mac

import (
	"encoding/hex"
	"fmt"
)

// ParseHexKey decodes a key written in hex (upper or lower case, no
// separators) as a person types it into a config file or a flag. The key
// must be 8, 16, 24 or 32 bytes (16, 32, 48 or 64 hex digits); whether that
// length suits an algorithm is checked by [New] (or [Algorithm.CheckKey]).
//
// Errors name the problem and a 1-based position, never the digits: "odd
// number of hex digits (31)", "invalid hex digit at position 7", "17 bytes
// (34 hex digits); a key is 8, 16, 24 or 32 bytes".
func ParseHexKey(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty key", ErrBadHex)
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return nil, fmt.Errorf("%w: invalid hex digit at position %d of %d", ErrBadHex, i+1, len(s))
		}
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("%w: odd number of hex digits (%d)", ErrBadHex, len(s))
	}
	switch len(s) / 2 {
	case 8, 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w: %d bytes (%d hex digits); a key is 8, 16, 24 or 32 bytes (16, 32, 48 or 64 hex digits)",
			ErrKeyLength, len(s)/2, len(s))
	}
	key := make([]byte, len(s)/2)
	if _, err := hex.Decode(key, []byte(s)); err != nil {
		// Unreachable after the checks above; hex's errors quote the
		// offending byte, so do not wrap them.
		return nil, fmt.Errorf("%w: cannot decode", ErrBadHex)
	}
	return key, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
