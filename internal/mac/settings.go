package mac

import "fmt"

// Settings are the MAC settings both ends of a link share — the terminal
// master key, the algorithm and padding, whether network management is
// MACed, the MAC field. terminal.Security is exactly these; host.Security
// has them and the host's own (the failure RC, key-change timeout, key
// source). Keys are only ever shown by check value.
type Settings struct {
	// TMK is the terminal master key: a double- or triple-length TDES key
	// (16 or 24 bytes), the same at both ends.
	TMK []byte
	Alg Algorithm // default X9.19 (ISO 9797-1 algorithm 3)
	Pad Padding   // default method 1 (ignored by CMAC)
	// MACNetwork also MACs 08xx network management (not sign-on and key
	// change, which carry the keys). Must match at both ends.
	MACNetwork bool
	// Field forces the MAC field (64 or 128); 0: 64, or 128 when the
	// message has a secondary bitmap.
	Field int
}

// Defaults is the algorithm and padding in effect: X9.19 and method 1
// unless set; CMAC takes no padding.
func (s *Settings) Defaults() (Algorithm, Padding) {
	alg, pad := s.Alg, s.Pad
	if alg == "" {
		alg = Alg3
	}
	if pad == 0 && alg != CMAC {
		pad = Pad1
	}
	return alg, pad
}

// Open checks the settings and returns the TMK as a key-encryption key and
// the algorithm and padding in effect; who names the side ("host",
// "terminal") in the errors.
func (s *Settings) Open(who string) (*KEK, Algorithm, Padding, error) {
	kek, err := NewKEK(s.TMK)
	if err != nil {
		return nil, "", 0, fmt.Errorf("%s: TMK: %w", who, err)
	}
	alg, pad := s.Defaults()
	if _, err := Blocks(alg, pad, nil); err != nil {
		return nil, "", 0, fmt.Errorf("%s: %w", who, err)
	}
	return kek, alg, pad, nil
}

// CodecOptions are the MAC codec options these settings ask for.
func (s *Settings) CodecOptions() CodecOptions {
	return CodecOptions{Field: s.Field, Network: s.MACNetwork}
}

// Scheme names the algorithm and padding in effect ("X9.19 method 1";
// CMAC alone).
func (s *Settings) Scheme() string {
	alg, pad := s.Defaults()
	if alg == CMAC {
		return string(alg)
	}
	return string(alg) + " " + pad.String()
}

// TMKKCV is the TMK's check value, or "invalid".
func (s *Settings) TMKKCV() string {
	kcv, err := KCV(s.TMK)
	if err != nil {
		return "invalid"
	}
	return kcv
}

// String describes the settings by check value; never the key.
func (s *Settings) String() string {
	if s == nil {
		return "MACs off"
	}
	return fmt.Sprintf("MACs on: %s, TMK KCV %s", s.Scheme(), s.TMKKCV())
}
