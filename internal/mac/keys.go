package mac

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Working keys and their exchange at sign-on.
//
// A terminal holds a terminal master key (TMK). When it signs on (0800,
// field 70 = 001) the host makes a fresh MAC key and PIN key for it,
// encrypts both under the TMK (TDES-ECB, [KEK.Wrap]) and sends them with
// their check values in field 62 of the 0810; the terminal decrypts them,
// checks the check values and uses them from then on. A host-initiated key
// change (0800, field 70 = 101) carries new keys in the same field.
//
// # Field 62 layout (the key block)
//
// Field 62 is LLLVAR ans in both shipped dialects (ASCII characters; in
// iso87bin the length prefix is BCD). The key block is a run of sections,
// each
//
//	TAG  NN  KEY  KCV
//
// TAG is "MAC" or "PIN" (3 characters); NN is two decimal digits, the
// number of hex digits of KEY that follow (16, 32 or 48); KEY is the working
// key encrypted under the TMK in upper-case hex; KCV is 6 hex digits, the
// check value of the clear working key — for a DES or TDES key the legacy
// value ([KCV]), for an AES MAC key (CMAC) the first 6 digits of [KCVAES].
// The MAC section is required, the PIN section optional; each appears at
// most once, in any order. An X9.19 exchange is 86 characters:
//
//	MAC32 <32 hex> <6 hex> PIN32 <32 hex> <6 hex>   (without the spaces)
//
// Keys live only in memory. Nothing here prints or returns key bytes in an
// error or a String method: check values only.

// KeyBlockField is the ISO 8583 field that carries the key block.
const KeyBlockField = 62

// KCVDigits is how many hex digits of a check value the key block carries.
const KCVDigits = 6

// ErrNoKey: there is no working MAC key for a message's terminal — it has
// not signed on (no key exchange yet).
var ErrNoKey = errors.New("mac: no working MAC key")

// ErrKeyBlock: field 62 is not a key block this package can read.
var ErrKeyBlock = errors.New("mac: bad key block")

// KEK is a key-encryption key — on a POS link the terminal master key —
// ready to wrap and unwrap working keys with TDES-ECB. It holds the
// cipher's expanded state and the check value, not the key bytes.
type KEK struct {
	b   cipher.Block
	kcv string
}

// NewKEK takes a double- (16 bytes) or triple-length (24 bytes) TDES key.
func NewKEK(key []byte) (*KEK, error) {
	b, err := tdesKEK(key, "TMK")
	if err != nil {
		return nil, err
	}
	kcv, err := KCV(key)
	if err != nil {
		return nil, err
	}
	return &KEK{b: b, kcv: kcv}, nil
}

// KCV is the check value of the KEK (6 hex digits).
func (k *KEK) KCV() string { return k.kcv }

// String names the KEK by its check value.
func (k *KEK) String() string { return "TMK kcv=" + k.kcv }

// Wrap encrypts a working key (8, 16 or 24 bytes) under the KEK with
// TDES-ECB, each 8-byte block on its own.
func (k *KEK) Wrap(key []byte) ([]byte, error) {
	if err := checkWrapped(key, []int{8, 16, 24}, "KEK.Wrap", "key"); err != nil {
		return nil, err
	}
	return ecb(k.b, key, true), nil
}

// Unwrap reverses [KEK.Wrap].
func (k *KEK) Unwrap(enc []byte) ([]byte, error) {
	if err := checkWrapped(enc, []int{8, 16, 24}, "KEK.Unwrap", "encrypted key"); err != nil {
		return nil, err
	}
	return ecb(k.b, enc, false), nil
}

// SetOddParity sets the low bit of every byte so that each has an odd
// number of one bits, the parity DES keys carry (DES ignores those bits;
// HSMs check them).
func SetOddParity(key []byte) {
	for i, c := range key {
		c &^= 1
		n := 0
		for v := c; v != 0; v &= v - 1 {
			n++
		}
		if n%2 == 0 {
			c |= 1
		}
		key[i] = c
	}
}

// macKeyLen is the working MAC key length the host issues for alg.
func macKeyLen(alg Algorithm) int {
	if alg == Alg1 {
		return 8
	}
	return 16 // X9.19 double-length TDES; AES-128 for CMAC
}

// checkValue is the check value of a MAC key for alg as the key block
// carries it (6 hex digits).
func checkValue(alg Algorithm, key []byte) (string, error) {
	if alg == CMAC {
		s, err := KCVAES(key)
		if err != nil {
			return "", err
		}
		return s[:KCVDigits], nil
	}
	return KCV(key)
}

// KeyInfo describes a generation of working keys by check values only.
type KeyInfo struct {
	MACKCV    string    `json:"mac_kcv"`
	PINKCV    string    `json:"pin_kcv,omitempty"`
	Gen       uint64    `json:"gen"`
	Since     time.Time `json:"since"`
	Via       string    `json:"via"`
	Confirmed bool      `json:"confirmed"`
	PrevKCV   string    `json:"prev_mac_kcv,omitempty"`
}

func (i KeyInfo) String() string {
	s := "MAC key KCV " + i.MACKCV
	if i.PINKCV != "" {
		s += ", PIN key KCV " + i.PINKCV
	}
	s += fmt.Sprintf(" (generation %d, %s at %s", i.Gen, i.Via, i.Since.Format("15:04:05.000"))
	if i.PrevKCV != "" {
		s += ", previous MAC key KCV " + i.PrevKCV
	}
	return s + ")"
}

// WorkingKeys is one generation of a terminal's working keys, immutable
// once installed in a [KeySlot] or [Keyring]: a MACer (the expanded cipher
// state, not the key) and the PIN key's cipher, with check values and where
// they came from.
type WorkingKeys struct {
	MAC    *MACer
	MACKCV string // as the key block carries it (6 hex digits)
	PINKCV string // "" when there is no PIN key
	pin    cipher.Block

	Gen uint64    // 1 for the first keys installed in a slot, then +1 per install
	At  time.Time // when installed
	// Via says how the keys came: "sign-on", "key change"...
	Via string
	// Confirmed: the peer has shown it holds these keys (a message that
	// verified under them, or an acknowledged key change). A MAC made with
	// the previous keys while the current ones are unconfirmed is a key
	// desync rather than a stale key.
	Confirmed bool
	// Prev is the generation before, kept to name a MAC made with the
	// previous key. A slot keeps two generations back (Prev.Prev, whose
	// Prev is nil) so that reverting a refused key change restores the
	// previous keys with their own previous.
	Prev *WorkingKeys
}

// Info describes the keys by check values.
func (w *WorkingKeys) Info() KeyInfo {
	i := KeyInfo{MACKCV: w.MACKCV, PINKCV: w.PINKCV, Gen: w.Gen, Since: w.At, Via: w.Via, Confirmed: w.Confirmed}
	if w.Prev != nil {
		i.PrevKCV = w.Prev.MACKCV
	}
	return i
}

// String describes the keys by check values; it never contains key bytes.
func (w *WorkingKeys) String() string { return w.Info().String() }

// GoString keeps %#v to check values too (the default would print the
// struct, and a MACer holds CMAC subkeys).
func (w *WorkingKeys) GoString() string { return "mac.WorkingKeys{" + w.String() + "}" }

// GoString keeps %#v from printing the cipher state (for CMAC the subkeys
// K1 and K2): only the algorithm and check value.
func (m *MACer) GoString() string { return "mac.MACer{" + m.String() + "}" }

// EncryptPINBlock encrypts an 8-byte ISO 9564 PIN block under the PIN key
// (TDES), for field 52.
func (w *WorkingKeys) EncryptPINBlock(pb []byte) ([]byte, error) {
	if w.pin == nil {
		return nil, fmt.Errorf("%w: no PIN key", ErrNoKey)
	}
	if len(pb) != des.BlockSize {
		return nil, fmt.Errorf("%w: a PIN block is 8 bytes, got %d", ErrKeyLength, len(pb))
	}
	out := make([]byte, des.BlockSize)
	w.pin.Encrypt(out, pb)
	return out, nil
}

// DecryptPINBlock decrypts field 52 under the PIN key: the host's side of
// EncryptPINBlock. The clear block goes to the PIN check and nowhere else.
func (w *WorkingKeys) DecryptPINBlock(enc []byte) ([]byte, error) {
	if w.pin == nil {
		return nil, fmt.Errorf("%w: no PIN key", ErrNoKey)
	}
	if len(enc) != des.BlockSize {
		return nil, fmt.Errorf("%w: a PIN block is 8 bytes, got %d", ErrKeyLength, len(enc))
	}
	out := make([]byte, des.BlockSize)
	w.pin.Decrypt(out, enc)
	return out, nil
}

// NewWorkingKeys builds working keys from a clear MAC key (and optionally a
// clear PIN key, nil for none). The caller may clear both slices after.
func NewWorkingKeys(alg Algorithm, pad Padding, macKey, pinKey []byte) (*WorkingKeys, error) {
	m, err := New(alg, macKey, pad)
	if err != nil {
		return nil, err
	}
	kcv, err := checkValue(alg, macKey)
	if err != nil {
		return nil, err
	}
	w := &WorkingKeys{MAC: m, MACKCV: kcv}
	if pinKey != nil {
		if len(pinKey) != 16 && len(pinKey) != 24 {
			return nil, fmt.Errorf("%w: a PIN key is a double- or triple-length TDES key (16 or 24 bytes), got %d bytes", ErrKeyLength, len(pinKey))
		}
		if w.pin, err = newTDES(pinKey, "PIN key"); err != nil {
			return nil, err
		}
		if w.PINKCV, err = KCV(pinKey); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// StaticKeys is a [KeySource] that answers every TID with one MAC key (for
// a tool that checks a captured message, or a test).
func StaticKeys(m *MACer) KeySource {
	kcv := m.KCV()
	if len(kcv) > KCVDigits {
		kcv = kcv[:KCVDigits]
	}
	var s KeySlot
	s.Install(&WorkingKeys{MAC: m, MACKCV: kcv, Via: "static key", Confirmed: true})
	return &s
}

// KeySource finds the working MAC key of a terminal for the codec.
type KeySource interface {
	// Keys returns the current working keys for tid, nil when there are
	// none. It is called for every MACed message: it must be cheap and safe
	// for concurrent use.
	Keys(tid string) *WorkingKeys
	// Confirm records that the peer used keys generation gen of tid (a
	// message verified under them).
	Confirm(tid string, gen uint64)
}

// KeySlot holds one terminal's current working keys. Installing new keys
// swaps a pointer: messages being signed or verified keep the generation
// they loaded. The zero KeySlot is empty and ready to use.
type KeySlot struct{ p atomic.Pointer[WorkingKeys] }

// Keys returns the current keys (tid is ignored: a slot is one terminal's).
func (s *KeySlot) Keys(string) *WorkingKeys { return s.p.Load() }

// Install makes a copy of w the current keys, with the keys they replace as
// Prev, the next generation number and (when w.At is zero) now as At. It
// returns the installed copy.
func (s *KeySlot) Install(w *WorkingKeys) *WorkingKeys {
	for {
		old := s.p.Load()
		nw := *w
		nw.Prev, nw.Gen = nil, 1
		if old != nil {
			nw.Prev, nw.Gen = trimmed(old, 2), old.Gen+1
		}
		if nw.At.IsZero() {
			nw.At = time.Now()
		}
		if s.p.CompareAndSwap(old, &nw) {
			return &nw
		}
	}
}

// Confirm marks generation gen confirmed, if it is still current.
func (s *KeySlot) Confirm(_ string, gen uint64) {
	for {
		cur := s.p.Load()
		if cur == nil || cur.Gen != gen || cur.Confirmed {
			return
		}
		c := *cur
		c.Confirmed = true
		if s.p.CompareAndSwap(cur, &c) {
			return
		}
	}
}

// trimmed copies w with at most depth generations before it.
func trimmed(w *WorkingKeys, depth int) *WorkingKeys {
	if w == nil || depth == 0 {
		return nil
	}
	c := *w
	c.Prev = trimmed(w.Prev, depth-1)
	return &c
}

// Revert puts the previous keys back, with their own previous, when
// generation gen is still current (the peer refused it); the restored keys
// get the next generation number. It reports whether it did.
func (s *KeySlot) Revert(gen uint64, via string) bool {
	for {
		cur := s.p.Load()
		if cur == nil || cur.Gen != gen || cur.Prev == nil {
			return false
		}
		back := *cur.Prev
		back.Prev = trimmed(back.Prev, 1)
		back.Gen, back.At, back.Via = cur.Gen+1, time.Now(), via
		if s.p.CompareAndSwap(cur, &back) {
			return true
		}
	}
}

// Clear removes the keys (the terminal signed off); it reports whether
// there were any.
func (s *KeySlot) Clear() bool { return s.p.Swap(nil) != nil }

// Keyring holds the working keys of many terminals by TID (a host's). The
// zero Keyring is empty and ready to use; it is safe for concurrent use.
type Keyring struct{ m sync.Map } // tid → *KeySlot

// Slot returns tid's slot, creating it.
func (r *Keyring) Slot(tid string) *KeySlot {
	if s, ok := r.m.Load(tid); ok {
		return s.(*KeySlot)
	}
	s, _ := r.m.LoadOrStore(tid, new(KeySlot))
	return s.(*KeySlot)
}

// Keys returns tid's current keys, nil when it has none.
func (r *Keyring) Keys(tid string) *WorkingKeys {
	if s, ok := r.m.Load(tid); ok {
		return s.(*KeySlot).Keys(tid)
	}
	return nil
}

// Confirm marks tid's generation gen confirmed.
func (r *Keyring) Confirm(tid string, gen uint64) {
	if s, ok := r.m.Load(tid); ok {
		s.(*KeySlot).Confirm(tid, gen)
	}
}

// Install makes a copy of w tid's current keys (see [KeySlot.Install]).
func (r *Keyring) Install(tid string, w *WorkingKeys) *WorkingKeys { return r.Slot(tid).Install(w) }

// Revert puts tid's previous keys back if generation gen is current.
func (r *Keyring) Revert(tid string, gen uint64, via string) bool {
	if s, ok := r.m.Load(tid); ok {
		return s.(*KeySlot).Revert(gen, via)
	}
	return false
}

// Range calls f for every TID that has keys, until f returns false.
func (r *Keyring) Range(f func(tid string, w *WorkingKeys) bool) {
	r.m.Range(func(k, v any) bool {
		w := v.(*KeySlot).Keys("")
		if w == nil {
			return true
		}
		return f(k.(string), w)
	})
}

// KeyBlock is the content of field 62 in a key exchange: working keys
// encrypted under the TMK, with the check values of the clear keys.
type KeyBlock struct {
	MACKey []byte // encrypted under the TMK
	MACKCV string
	PINKey []byte // encrypted under the TMK; nil when absent
	PINKCV string
}

// Field renders the key block as field 62 carries it (see the package
// documentation of keys.go: MACnn…kcv PINnn…kcv).
func (b KeyBlock) Field() string {
	var s strings.Builder
	section := func(tag string, enc []byte, kcv string) {
		fmt.Fprintf(&s, "%s%02d%X%s", tag, 2*len(enc), enc, strings.ToUpper(kcv))
	}
	section("MAC", b.MACKey, b.MACKCV)
	if b.PINKey != nil {
		section("PIN", b.PINKey, b.PINKCV)
	}
	return s.String()
}

// String describes the key block by check values only.
func (b KeyBlock) String() string {
	s := "key block: MAC key KCV " + b.MACKCV
	if b.PINKey != nil {
		s += ", PIN key KCV " + b.PINKCV
	}
	return s
}

// ParseKeyBlock reads field 62 of a key exchange. Errors name positions and
// lengths, never the content.
func ParseKeyBlock(s string) (KeyBlock, error) {
	var b KeyBlock
	seen := map[string]bool{}
	i := 0
	for i < len(s) {
		if len(s)-i < 5 {
			return KeyBlock{}, fmt.Errorf("%w: %d characters left at position %d, a section needs at least 5 (tag and length)", ErrKeyBlock, len(s)-i, i+1)
		}
		tag := s[i : i+3]
		if tag != "MAC" && tag != "PIN" {
			return KeyBlock{}, fmt.Errorf("%w: unknown section tag at position %d (want MAC or PIN)", ErrKeyBlock, i+1)
		}
		if seen[tag] {
			return KeyBlock{}, fmt.Errorf("%w: section %s appears twice", ErrKeyBlock, tag)
		}
		seen[tag] = true
		nn := s[i+3 : i+5]
		n := 0
		for _, c := range []byte(nn) {
			if c < '0' || c > '9' {
				return KeyBlock{}, fmt.Errorf("%w: section %s: the key length at position %d is not two digits", ErrKeyBlock, tag, i+4)
			}
			n = n*10 + int(c-'0')
		}
		if n != 16 && n != 32 && n != 48 {
			return KeyBlock{}, fmt.Errorf("%w: section %s: key length %d hex digits, want 16, 32 or 48", ErrKeyBlock, tag, n)
		}
		i += 5
		if len(s)-i < n+KCVDigits {
			return KeyBlock{}, fmt.Errorf("%w: section %s is cut short: %d characters left, want %d (key and KCV)", ErrKeyBlock, tag, len(s)-i, n+KCVDigits)
		}
		for j := i; j < i+n+KCVDigits; j++ {
			if !isHex(s[j]) {
				return KeyBlock{}, fmt.Errorf("%w: section %s: not a hex digit at position %d", ErrKeyBlock, tag, j+1)
			}
		}
		enc := make([]byte, n/2)
		for j := range enc {
			enc[j] = unhexByte(s[i+2*j])<<4 | unhexByte(s[i+2*j+1])
		}
		kcv := strings.ToUpper(s[i+n : i+n+KCVDigits])
		if tag == "MAC" {
			b.MACKey, b.MACKCV = enc, kcv
		} else {
			b.PINKey, b.PINKCV = enc, kcv
		}
		i += n + KCVDigits
	}
	if b.MACKey == nil {
		return KeyBlock{}, fmt.Errorf("%w: no MAC section", ErrKeyBlock)
	}
	return b, nil
}

func unhexByte(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// KCVError: a key in a key block does not decrypt to a key with the check
// value the block carries. Check values are not secret: both are shown.
type KCVError struct {
	Key      string // "MAC" or "PIN"
	Got      string // the check value in the key block
	Computed string // the check value of the key as decrypted
	TMKKCV   string // the check value of the TMK that decrypted it
}

func (e *KCVError) Error() string {
	return fmt.Sprintf("KCV mismatch on the %s key: got %s, computed %s (decrypted under the TMK with KCV %s: "+
		"the host used another TMK, or the key block was damaged)", e.Key, e.Got, e.Computed, e.TMKKCV)
}

// IssueKeys makes fresh working keys — a MAC key for alg (8 bytes for
// [Alg1], 16 for [Alg3] and [CMAC]) and a double-length TDES PIN key — from
// r (crypto/rand when nil), DES keys with odd parity. It returns them ready
// to use, and the key block that carries them under kek.
func IssueKeys(kek *KEK, alg Algorithm, pad Padding, r io.Reader) (*WorkingKeys, KeyBlock, error) {
	if r == nil {
		r = rand.Reader
	}
	macKey := make([]byte, macKeyLen(alg))
	pinKey := make([]byte, 16)
	defer clear(macKey)
	defer clear(pinKey)
	if _, err := io.ReadFull(r, macKey); err != nil {
		return nil, KeyBlock{}, fmt.Errorf("mac: cannot generate a working key: %w", err)
	}
	if _, err := io.ReadFull(r, pinKey); err != nil {
		return nil, KeyBlock{}, fmt.Errorf("mac: cannot generate a working key: %w", err)
	}
	if alg != CMAC {
		SetOddParity(macKey)
	}
	SetOddParity(pinKey)
	w, err := NewWorkingKeys(alg, pad, macKey, pinKey)
	if err != nil {
		return nil, KeyBlock{}, err
	}
	b := KeyBlock{MACKCV: w.MACKCV, PINKCV: w.PINKCV}
	if b.MACKey, err = kek.Wrap(macKey); err != nil {
		return nil, KeyBlock{}, err
	}
	if b.PINKey, err = kek.Wrap(pinKey); err != nil {
		return nil, KeyBlock{}, err
	}
	return w, b, nil
}

// OpenKeys decrypts a key block under kek, checks each key against the
// check value the block carries (a *[KCVError] when one differs) and
// returns the working keys ready to use.
func OpenKeys(kek *KEK, alg Algorithm, pad Padding, b KeyBlock) (*WorkingKeys, error) {
	macKey, err := kek.Unwrap(b.MACKey)
	if err != nil {
		return nil, err
	}
	defer clear(macKey)
	if err := alg.CheckKey(macKey); err != nil {
		return nil, fmt.Errorf("the MAC key in the key block does not suit %s: %w", alg, err)
	}
	kcv, err := checkValue(alg, macKey)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(kcv, b.MACKCV) {
		return nil, &KCVError{Key: "MAC", Got: strings.ToUpper(b.MACKCV), Computed: kcv, TMKKCV: kek.KCV()}
	}
	var pinKey []byte
	if b.PINKey != nil {
		if pinKey, err = kek.Unwrap(b.PINKey); err != nil {
			return nil, err
		}
		defer clear(pinKey)
		if len(pinKey) == 8 {
			return nil, fmt.Errorf("%w: the PIN key in the key block is single-length (8 bytes); want 16 or 24", ErrKeyLength)
		}
		pk, err := KCV(pinKey)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(pk, b.PINKCV) {
			return nil, &KCVError{Key: "PIN", Got: strings.ToUpper(b.PINKCV), Computed: pk, TMKKCV: kek.KCV()}
		}
	}
	return NewWorkingKeys(alg, pad, macKey, pinKey)
}
