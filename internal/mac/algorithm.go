package mac

import (
	"crypto/aes"
	"crypto/des"
	"errors"
	"fmt"
	"strings"
)

// Errors that callers can match with errors.Is. The messages that wrap them
// name the offending value (never key bytes) and the valid choices.
var (
	ErrUnknownAlgorithm = errors.New("mac: unknown MAC algorithm")
	ErrUnknownPadding   = errors.New("mac: unknown padding method")
	ErrKeyLength        = errors.New("mac: invalid key length")
	ErrBadHex           = errors.New("mac: invalid hex key")
)

// Algorithm names a MAC algorithm. The zero value is not a valid algorithm.
type Algorithm string

const (
	// Alg1 is ISO/IEC 9797-1 MAC algorithm 1 with single DES (ANSI X9.9,
	// FIPS 113): CBC-MAC, 8-byte key, 8-byte MAC.
	Alg1 Algorithm = "iso9797-1-alg1"
	// Alg3 is ISO/IEC 9797-1 MAC algorithm 3 with DES (ANSI X9.19 retail
	// MAC): 16-byte key K‖K', 8-byte MAC.
	Alg3 Algorithm = "iso9797-1-alg3"
	// CMAC is AES-CMAC (RFC 4493, NIST SP 800-38B): 16-, 24- or 32-byte
	// AES key, 16-byte MAC.
	CMAC Algorithm = "aes-cmac"
)

// algorithmNames maps every accepted spelling (lower case) to its algorithm.
var algorithmNames = map[string]Algorithm{
	"x9.9": Alg1, "x99": Alg1, "ansi-x9.9": Alg1, "alg1": Alg1,
	"iso9797-1-alg1": Alg1, "iso9797-alg1": Alg1,
	"x9.19": Alg3, "x919": Alg3, "ansi-x9.19": Alg3, "alg3": Alg3,
	"retail": Alg3, "iso9797-1-alg3": Alg3, "iso9797-alg3": Alg3,
	"cmac": CMAC, "aes-cmac": CMAC,
}

const validAlgorithms = "x9.9 (alias alg1, iso9797-1-alg1), " +
	"x9.19 (alias alg3, retail, iso9797-1-alg3), cmac (alias aes-cmac)"

// ParseAlgorithm reads a friendly algorithm name, case-insensitively:
// "x9.9", "alg1" or "iso9797-1-alg1" give [Alg1]; "x9.19", "alg3", "retail"
// or "iso9797-1-alg3" give [Alg3]; "cmac" or "aes-cmac" give [CMAC].
func ParseAlgorithm(s string) (Algorithm, error) {
	if a, ok := algorithmNames[strings.ToLower(strings.TrimSpace(s))]; ok {
		return a, nil
	}
	return "", fmt.Errorf("%w %q; valid: %s", ErrUnknownAlgorithm, s, validAlgorithms)
}

// String returns the canonical name.
func (a Algorithm) String() string { return string(a) }

func (a Algorithm) valid() bool { return a == Alg1 || a == Alg3 || a == CMAC }

// BlockSize is the block size of the algorithm's cipher in bytes: 8 for the
// DES algorithms, 16 for CMAC, 0 for an unknown algorithm.
func (a Algorithm) BlockSize() int {
	switch a {
	case Alg1, Alg3:
		return des.BlockSize
	case CMAC:
		return aes.BlockSize
	}
	return 0
}

// Size is the length of the full (untruncated) MAC in bytes; it equals the
// block size.
func (a Algorithm) Size() int { return a.BlockSize() }

// KeySizes lists the key lengths in bytes the algorithm accepts.
func (a Algorithm) KeySizes() []int {
	switch a {
	case Alg1:
		return []int{8}
	case Alg3:
		return []int{16}
	case CMAC:
		return []int{16, 24, 32}
	}
	return nil
}

// CheckKey reports whether key has a length the algorithm accepts. The error
// names the algorithm and the lengths, never the key.
func (a Algorithm) CheckKey(key []byte) error {
	if !a.valid() {
		return fmt.Errorf("%w %q; valid: %s", ErrUnknownAlgorithm, string(a), validAlgorithms)
	}
	for _, n := range a.KeySizes() {
		if len(key) == n {
			return nil
		}
	}
	switch a {
	case Alg1:
		return fmt.Errorf("%w: %s (single-DES X9.9) takes an 8-byte key (16 hex digits), got %d bytes",
			ErrKeyLength, a, len(key))
	case Alg3:
		return fmt.Errorf("%w: %s (X9.19 retail MAC) takes a 16-byte double-length key K‖K' (32 hex digits), got %d bytes",
			ErrKeyLength, a, len(key))
	default:
		return fmt.Errorf("%w: %s takes a 16-, 24- or 32-byte AES key (32, 48 or 64 hex digits), got %d bytes",
			ErrKeyLength, a, len(key))
	}
}

// Padding is an ISO/IEC 9797-1 padding method for the DES algorithms. CMAC
// ignores it. The zero value is not a valid padding.
type Padding int

const (
	// Pad1 is padding method 1: append zero bytes until the data is a
	// multiple of the block size; data that already is one is not padded,
	// and empty data becomes one zero block.
	Pad1 Padding = 1
	// Pad2 is padding method 2 (the ISO/IEC 7816-4 padding): append 0x80,
	// then zero bytes to the block multiple. It always adds at least one
	// byte, so a block-aligned message gains a whole block.
	Pad2 Padding = 2
)

var paddingNames = map[string]Padding{
	"1": Pad1, "m1": Pad1, "pad1": Pad1, "method1": Pad1, "method-1": Pad1, "zero": Pad1, "zeros": Pad1,
	"2": Pad2, "m2": Pad2, "pad2": Pad2, "method2": Pad2, "method-2": Pad2, "iso7816-4": Pad2, "0x80": Pad2,
}

const validPaddings = "1 (alias m1, method1, zeros), 2 (alias m2, method2, 0x80, iso7816-4)"

// ParsePadding reads a padding method, case-insensitively: "1", "m1",
// "method1" or "zeros" give [Pad1]; "2", "m2", "method2", "0x80" or
// "iso7816-4" give [Pad2].
func ParsePadding(s string) (Padding, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.ReplaceAll(k, " ", "")
	if p, ok := paddingNames[k]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("%w %q; valid: %s", ErrUnknownPadding, s, validPaddings)
}

// String returns "method1" or "method2".
func (p Padding) String() string {
	switch p {
	case Pad1:
		return "method1"
	case Pad2:
		return "method2"
	}
	return fmt.Sprintf("Padding(%d)", int(p))
}

func (p Padding) valid() bool { return p == Pad1 || p == Pad2 }

func checkPadding(alg Algorithm, p Padding) error {
	if alg == CMAC || p.valid() {
		return nil
	}
	return fmt.Errorf("%w %d for %s; valid: %s", ErrUnknownPadding, int(p), alg, validPaddings)
}

// UnmarshalText parses a friendly name with [ParseAlgorithm], so config
// decoders (YAML, flags) accept "x9.19" or "retail" for an Algorithm field.
func (a *Algorithm) UnmarshalText(b []byte) error {
	v, err := ParseAlgorithm(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalText returns the canonical name.
func (a Algorithm) MarshalText() ([]byte, error) { return []byte(a), nil }

// UnmarshalText parses a padding method with [ParsePadding].
func (p *Padding) UnmarshalText(b []byte) error {
	v, err := ParsePadding(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalText returns "method1" or "method2".
func (p Padding) MarshalText() ([]byte, error) {
	if !p.valid() {
		return nil, fmt.Errorf("%w %d; valid: %s", ErrUnknownPadding, int(p), validPaddings)
	}
	return []byte(p.String()), nil
}
