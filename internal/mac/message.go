package mac

import (
	"crypto/aes"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// MACs on ISO 8583 messages.
//
// The MAC covers the packed message from the MTI up to, not including, the
// MAC field: field 64, or field 128 when the message has a secondary bitmap
// (any field 65–127). The MAC field is then the last field on the wire, so
// the MACed bytes are the packed message less its last d.MACWireLen bytes
// (16 hex characters in iso87ascii, 8 bytes in iso87bin). The TPDU, the
// fixed header and the length header are not MACed.
//
// [Codec] wraps a link.Codec: Encode sets the MAC field to zeros, packs
// once, computes the MAC over the span and writes it over the zeros in
// place (in hex for ASCII dialects); Decode unpacks, then verifies over the
// same span of the bytes received. A failed check returns the message and a
// *[VerifyError] that names the symptom.

// SignWith says which key a message is signed with; anything but
// SignCurrent is a fault.
type SignWith uint8

const (
	SignCurrent  SignWith = iota // the current working key
	SignPrevious                 // the generation before (mac-stale-key)
	SignWrong                    // a random key the peer does not have (mac-wrong-key)
	SignOmit                     // no MAC field at all (mac-missing)
)

func (s SignWith) String() string {
	switch s {
	case SignPrevious:
		return "previous key"
	case SignWrong:
		return "wrong key"
	case SignOmit:
		return "no MAC"
	}
	return "current key"
}

// Tamper is what a fault hook wants done with one message the codec signs.
// The zero Tamper signs normally.
type Tamper struct {
	Sign SignWith
	// Seed makes the random key of SignWrong (from the fault's seeded RNG).
	Seed uint64
	// After, when set, runs once the message is signed (a host changing the
	// terminal's keys silently after this answer: key-desync).
	After func()
}

// CodecOptions configure a [Codec]. Zero values are the usual POS link.
type CodecOptions struct {
	// Field is where the MAC goes: 0 picks 64, or 128 when the message has
	// a secondary bitmap; 64 or 128 force that field (64 refuses messages
	// with fields above 64, since the MAC must be the last field).
	Field int
	// Classes are the MTI class digits (the second digit) whose messages
	// carry a MAC, requests and responses alike; default "124":
	// authorization, financial, reversal.
	Classes string
	// Network also MACs 08xx network management, except sign-on (field 70
	// = 001) and key change (101): those carry the keys themselves and
	// cannot be MACed with a key the terminal does not have yet.
	Network bool
	// Unsigned: when there is no working key for a message's TID, Encode
	// sends it without a MAC field instead of failing with [ErrNoKey] (a
	// host answering a terminal that never signed on).
	Unsigned bool
	// Fault, when set, is asked how to sign each message the codec is about
	// to sign, with the keys it would use.
	Fault func(m *iso8583.Message, k *WorkingKeys) Tamper
}

// Codec is the MAC layer of a link: a link.Codec that signs what it encodes
// and verifies what it decodes. It is safe for concurrent use; keys come
// from a [KeySource] at each message.
type Codec struct {
	inner   link.Codec
	d       *iso.Dialect
	keys    KeySource
	opt     CodecOptions
	classes [10]bool
}

// NewCodec wraps inner (usually link.DialectCodec{D: d}) for dialect d.
func NewCodec(inner link.Codec, d *iso.Dialect, keys KeySource, opt CodecOptions) (*Codec, error) {
	if d == nil || inner == nil || keys == nil {
		return nil, errors.New("mac: NewCodec needs a codec, a dialect and a key source")
	}
	if d.MACWireLen != 8 && d.MACWireLen != 16 {
		return nil, fmt.Errorf("mac: dialect %s carries the MAC in %d bytes; want 8 (binary) or 16 (hex)", d.Name, d.MACWireLen)
	}
	if opt.Field != 0 && opt.Field != 64 && opt.Field != 128 {
		return nil, fmt.Errorf("mac: MAC field %d: want 64, 128 or 0 (64, or 128 with a secondary bitmap)", opt.Field)
	}
	c := &Codec{inner: inner, d: d, keys: keys, opt: opt}
	cl := opt.Classes
	if cl == "" {
		cl = "124"
	}
	for _, ch := range cl {
		if ch < '0' || ch > '9' {
			return nil, fmt.Errorf("mac: MAC classes %q: want MTI class digits such as 124", cl)
		}
		c.classes[ch-'0'] = true
	}
	if opt.Network {
		c.classes[8] = true
	}
	return c, nil
}

// Covers reports whether the codec MACs m.
func (c *Codec) Covers(m *iso8583.Message) bool {
	mti, _ := m.GetMTI()
	return c.covers(m, mti)
}

func (c *Codec) covers(m *iso8583.Message, mti string) bool {
	if len(mti) != 4 || mti[1] < '0' || mti[1] > '9' || !c.classes[mti[1]-'0'] {
		return false
	}
	if mti[1] == '8' {
		switch iso.Get(m, 70) {
		case "001", "101":
			return false
		}
	}
	return true
}

// Encode signs m (when its class is MACed) and appends the packed message.
// It sets m's MAC field to the MAC it sends, so that observers see the
// message as it went out.
func (c *Codec) Encode(dst []byte, m *iso8583.Message) ([]byte, error) {
	mti, _ := m.GetMTI()
	if !c.covers(m, mti) {
		return c.inner.Encode(dst, m)
	}
	id, err := c.signField(m)
	if err != nil {
		return dst, err
	}
	m.UnsetField(192 - id) // the other MAC field: 64 ↔ 128
	tid := tidOf(m)
	k := c.keys.Keys(tid)
	if k == nil {
		if !c.opt.Unsigned {
			return dst, fmt.Errorf("%w for TID %q: sign on first (no working keys exchanged)", ErrNoKey, tid)
		}
		m.UnsetField(id)
		return c.inner.Encode(dst, m)
	}
	var t Tamper
	if c.opt.Fault != nil {
		t = c.opt.Fault(m, k)
	}
	signer := k.MAC
	switch t.Sign {
	case SignOmit:
		m.UnsetField(id)
		dst, err = c.inner.Encode(dst, m)
		if err == nil && t.After != nil {
			t.After()
		}
		return dst, err
	case SignPrevious:
		if k.Prev != nil {
			signer = k.Prev.MAC
		}
	case SignWrong:
		signer = wrongMACer(k.MAC, t.Seed)
	}
	field := make([]byte, 8) // the field keeps this slice: it gets the MAC below
	if err := m.BinaryField(id, field); err != nil {
		return dst, err
	}
	start := len(dst)
	dst, err = c.inner.Encode(dst, m)
	if err != nil {
		return dst, err
	}
	w := c.d.MACWireLen
	packed := dst[start:]
	if len(packed) < w {
		return dst[:start], fmt.Errorf("mac: packed message of %d bytes is shorter than its MAC field", len(packed))
	}
	signInPlace(field, packed, w, signer)
	if t.After != nil {
		t.After()
	}
	return dst, nil
}

// PackedMACField is where the MAC of an answer of MTI mti goes when the
// answer is packed without this codec and signed by SignPacked (the
// host's fast answers, host/answer.go); secondary says the answer has a
// field 65–127. 0: such an answer must go through Encode (a class this
// codec does not sign the same way, a MAC fault hook, a wrapped codec
// other than the dialect's, a MAC field 64 that would not be last).
func (c *Codec) PackedMACField(mti string, secondary bool) int {
	if _, plain := c.inner.(link.DialectCodec); !plain || c.opt.Fault != nil {
		return 0
	}
	if len(mti) != 4 || mti[1] < '0' || mti[1] > '9' || mti[1] == '8' || !c.classes[mti[1]-'0'] {
		return 0
	}
	switch {
	case c.opt.Field == 128 || c.opt.Field == 0 && secondary:
		return 128
	case secondary:
		return 0
	}
	return 64
}

// SignPacked signs packed in place as Encode would: its last field is the
// MAC field PackedMACField named, holding zeros, and tid's working keys
// sign it. False when tid has no keys (Encode knows what to do then).
func (c *Codec) SignPacked(packed []byte, tid string) bool {
	k := c.keys.Keys(tid)
	w := c.d.MACWireLen
	if k == nil || len(packed) < w {
		return false
	}
	var mac [8]byte
	signInPlace(mac[:], packed, w, k.MAC)
	return true
}

// signInPlace MACs packed up to its last w bytes (the MAC field's wire
// form) and writes the MAC there; mac gets its 8 bytes.
func signInPlace(mac, packed []byte, w int, signer *MACer) {
	var buf [aes.BlockSize]byte
	sum := signer.Sum(buf[:0], packed[:len(packed)-w])
	copy(mac, sum[:8])
	putWire(packed[len(packed)-w:], mac)
	clear(buf[:])
}

// wrongMACer is a MACer for the same algorithm under a random key from seed.
func wrongMACer(cur *MACer, seed uint64) *MACer {
	rnd := rand.New(rand.NewPCG(seed, 0x6d61632d77726f6e))
	n := cur.alg.KeySizes()[0]
	key := make([]byte, n)
	for i := range key {
		key[i] = byte(rnd.UintN(256))
	}
	m, err := New(cur.alg, key, cur.pad)
	clear(key)
	if err != nil {
		return cur
	}
	return m
}

// putWire writes the 8-byte MAC into its wire form: 16 upper-case hex
// characters, or the 8 bytes.
func putWire(wire, mac []byte) {
	if len(wire) == 8 {
		copy(wire, mac)
		return
	}
	const digits = "0123456789ABCDEF"
	for i, b := range mac {
		wire[2*i], wire[2*i+1] = digits[b>>4], digits[b&0x0F]
	}
}

// signField is the MAC field for a message about to be signed.
func (c *Codec) signField(m *iso8583.Message) (int, error) {
	switch c.opt.Field {
	case 128:
		return 128, nil
	case 64:
		if f := secondaryField(m); f != 0 {
			return 0, fmt.Errorf("mac: MAC field 64, but the message has field %d: the MAC must be the last field (use field 128)", f)
		}
		return 64, nil
	}
	if secondaryField(m) != 0 {
		return 128, nil
	}
	return 64, nil
}

// secondaryField returns the first field 65–127 set in m, 0 for none.
func secondaryField(m *iso8583.Message) int {
	// One copy of the field map under one lock: asking GetField for each
	// of 63 ids (a lock each) was 11 % of the CPU of a MACed pipeline.
	first := 0
	for id := range m.GetFields() {
		if id >= 65 && id < 128 && (first == 0 || id < first) {
			first = id
		}
	}
	return first
}

// secondaryUnpacked is secondaryField for a message just unpacked: its
// bitmap says which fields it has, without a copy of the field map.
func secondaryUnpacked(m *iso8583.Message) int {
	bm := m.Bitmap()
	if bm == nil || bm.Len() <= 64 {
		return 0
	}
	for id := 65; id < 128; id++ {
		if bm.IsSet(id) {
			return id
		}
	}
	return 0
}

// Decode unpacks b and, when its class is MACed, verifies its MAC. A
// failed check returns the message with a *[VerifyError].
func (c *Codec) Decode(b []byte) (*iso8583.Message, error) {
	m, err := c.inner.Decode(b)
	if err != nil || m == nil {
		return m, err
	}
	mti, _ := m.GetMTI()
	required := c.covers(m, mti)
	if !required && (keyExchange(m, mti) || m.GetField(64) == nil && m.GetField(128) == nil) {
		return m, nil
	}
	if ve := c.verify(m, mti, b, required); ve != nil {
		return m, ve
	}
	return m, nil
}

// keyExchange: sign-on and key change messages are never MACed (they carry
// the keys).
func keyExchange(m *iso8583.Message, mti string) bool {
	if len(mti) != 4 || mti[1] != '8' {
		return false
	}
	code := iso.Get(m, 70)
	return code == "001" || code == "101"
}

// verify checks the MAC of a message that must carry one (required), or of
// one that carries a MAC although its class is not MACed: an MTI damaged
// into another class still fails its check, and a MAC nobody asked for is
// only skipped when there is no key to check it with.
func (c *Codec) verify(m *iso8583.Message, mti string, b []byte, required bool) *VerifyError {
	sec := secondaryUnpacked(m)
	id := 64
	if c.opt.Field == 128 || (c.opt.Field == 0 && sec != 0) {
		id = 128
	}
	ve := &VerifyError{MTI: mti, STAN: iso.Get(m, 11), TID: tidOf(m), Field: id}
	f := m.GetField(id)
	switch {
	case f == nil && id == 128 && m.GetField(64) != nil:
		ve.Kind = Misplaced
		ve.Detail = fmt.Sprintf("the MAC is in field 64 but the message has a secondary bitmap (field %d): it belongs in field 128, the last field", sec)
		return ve
	case f == nil:
		ve.Kind = Missing
		if id == 128 {
			ve.Detail = fmt.Sprintf("no field 128 (the message has a secondary bitmap, field %d)", sec)
		} else {
			ve.Detail = "no field 64"
		}
		return ve
	case id == 64 && sec != 0:
		ve.Kind = Misplaced
		ve.Detail = fmt.Sprintf("field 64 is not the last field (field %d follows)", sec)
		return ve
	}
	got, _ := f.Bytes()
	w := c.d.MACWireLen
	if len(got) != 8 || len(b) < w || !sameWire(b[len(b)-w:], got) {
		ve.Kind = Misplaced
		ve.Detail = fmt.Sprintf("the message does not end with its MAC field (bytes follow field %d)", id)
		return ve
	}
	k := c.keys.Keys(ve.TID)
	if k == nil {
		if !required {
			return nil
		}
		ve.Kind = NoKey
		return ve
	}
	span := b[:len(b)-w]
	if k.MAC.Verify(span, got) {
		if !k.Confirmed {
			c.keys.Confirm(ve.TID, k.Gen)
		}
		return nil
	}
	ve.KCV, ve.Since, ve.Via = k.MACKCV, k.At, k.Via
	if p := k.Prev; p != nil {
		ve.PrevKCV = p.MACKCV
		if p.MAC.Verify(span, got) {
			ve.Kind = StaleKey
			if !k.Confirmed {
				ve.Kind = KeyDesync
			}
			return ve
		}
	}
	var buf [aes.BlockSize]byte
	want := k.MAC.Sum(buf[:0], span)[:8]
	n := 0
	for i := range want {
		n += bits.OnesCount8(want[i] ^ got[i])
	}
	clear(buf[:])
	ve.Bits = n
	ve.Kind = WrongKey
	if n <= maxCorruptBits {
		ve.Kind = Corrupted
	}
	return ve
}

// maxCorruptBits: a MAC that differs from the right one in this many bits
// or fewer was damaged on the way (one hex digit changed is at most 4 bits);
// a MAC under another key differs in about 32 of 64 bits, and in 8 or fewer
// with a probability below 1e-9.
const maxCorruptBits = 8

// sameWire reports whether wire is mac's wire form (hex of either case, or
// the bytes).
func sameWire(wire, mac []byte) bool {
	if len(wire) == 8 {
		return string(wire) == string(mac)
	}
	for i, b := range mac {
		if !isHex(wire[2*i]) || !isHex(wire[2*i+1]) || unhexByte(wire[2*i])<<4|unhexByte(wire[2*i+1]) != b {
			return false
		}
	}
	return true
}

// Span returns the bytes of a packed message that its MAC covers (all but
// the last d.MACWireLen) and the MAC as it sits on the wire.
func Span(d *iso.Dialect, packed []byte) (span, wire []byte, err error) {
	w := d.MACWireLen
	if w <= 0 || len(packed) < w {
		return nil, nil, fmt.Errorf("mac: a %s message of %d bytes cannot end with a %d-byte MAC field", d.Name, len(packed), w)
	}
	return packed[:len(packed)-w], packed[len(packed)-w:], nil
}

// Expected returns the MAC of a received message as its sender should
// have made it under m: the leftmost 8 bytes over [Span]. For a person
// checking a captured message; the link verifies with [Codec].
func Expected(m *MACer, d *iso.Dialect, packed []byte) ([]byte, error) {
	span, _, err := Span(d, packed)
	if err != nil {
		return nil, err
	}
	return m.Sum(nil, span)[:8], nil
}

// VerifyKind is the symptom of a failed MAC check.
type VerifyKind uint8

const (
	Missing   VerifyKind = iota + 1 // no MAC field
	Misplaced                       // a MAC field, but not where the MAC belongs (64 with a secondary bitmap, bytes after it)
	NoKey                           // no working key to check it with (not signed on)
	Corrupted                       // a few bits off the right MAC: damaged on the way (bad-mac)
	StaleKey                        // made with the previous key although the peer has used the current one
	KeyDesync                       // made with the previous key and the peer never used the current one: it missed the key change
	WrongKey                        // made with neither the current nor the previous key (or the data changed after signing)
)

func (k VerifyKind) String() string {
	switch k {
	case Missing:
		return "mac-missing"
	case Misplaced:
		return "mac-misplaced"
	case NoKey:
		return "no-mac-key"
	case Corrupted:
		return "mac-corrupted"
	case StaleKey:
		return "stale-mac-key"
	case KeyDesync:
		return "key-desync"
	case WrongKey:
		return "wrong-mac-key"
	}
	return fmt.Sprintf("VerifyKind(%d)", uint8(k))
}

// VerifyError is a message whose MAC did not verify. It carries check
// values and field numbers, never keys (nor MAC values: the link's
// transcripts mask MACs).
type VerifyError struct {
	Kind           VerifyKind
	MTI, STAN, TID string
	Field          int       // the MAC field looked at (64 or 128)
	KCV            string    // check value of the current key ("" with NoKey)
	PrevKCV        string    // of the previous key, "" when there is none
	Since          time.Time // when the current key was installed
	Via            string    // how it came (sign-on, key change...)
	Bits           int       // Corrupted, WrongKey: bits that differ from the right MAC
	Detail         string
}

// Error names the message and the symptom.
func (e *VerifyError) Error() string {
	return fmt.Sprintf("MAC verification failed on %s STAN %s: %s", e.MTI, e.STAN, e.Reason())
}

// Untrusted tells a link that the message unpacked but cannot be trusted
// (its MAC failed), without the link importing this package.
func (e *VerifyError) Untrusted() bool { return true }

// Reason is the symptom in words, without naming the message.
func (e *VerifyError) Reason() string {
	cur := "the current key (KCV " + e.KCV
	if e.Via != "" {
		cur += ", " + e.Via
	}
	if !e.Since.IsZero() {
		cur += " at " + e.Since.Format("15:04:05.000")
	}
	cur += ")"
	switch e.Kind {
	case Missing:
		return "MAC missing: " + e.Detail
	case Misplaced:
		return "MAC misplaced: " + e.Detail
	case NoKey:
		return fmt.Sprintf("no working MAC key for TID %s: it has not signed on (no working keys exchanged)", e.TID)
	case Corrupted:
		return fmt.Sprintf("MAC corrupted: %d %s differ from the MAC under %s — damaged on the way, not a key problem",
			e.Bits, plural(e.Bits, "bit", "bits"), cur)
	case StaleKey:
		return fmt.Sprintf("stale MAC key: made with the previous key (KCV %s), not %s, which the peer has already used",
			e.PrevKCV, cur)
	case KeyDesync:
		return fmt.Sprintf("key desync: MAC made with the previous key (KCV %s); %s has never been used by the peer — it missed the key change",
			e.PrevKCV, cur)
	case WrongKey:
		s := "MAC mismatch with " + cur
		if e.PrevKCV != "" {
			s += " and with the previous key (KCV " + e.PrevKCV + ")"
		}
		return s + ": made with a wrong key, or the message changed after it was signed"
	}
	return "MAC check failed"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// AsVerifyError returns err's *VerifyError, if it has one.
func AsVerifyError(err error) (*VerifyError, bool) {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve, true
	}
	return nil, false
}

func tidOf(m *iso8583.Message) string { return strings.TrimRight(iso.Get(m, 41), " ") }
