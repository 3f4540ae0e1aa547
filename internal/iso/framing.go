package iso

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// LengthHeader is the encoding of the message length in front of every
// frame. There is deliberately no "none": a TCP stream without explicit
// framing cannot be split into messages reliably.
type LengthHeader uint8

const (
	Binary2 LengthHeader = iota // 2 bytes, binary big-endian (max 65535)
	BCD2                        // 2 bytes, BCD (max 9999)
	ASCII4                      // 4 ASCII digits (max 9999)
)

var lengthHeaderNames = map[string]LengthHeader{"binary2": Binary2, "bcd2": BCD2, "ascii4": ASCII4}

func (h LengthHeader) String() string {
	switch h {
	case Binary2:
		return "binary2"
	case BCD2:
		return "bcd2"
	case ASCII4:
		return "ascii4"
	}
	return fmt.Sprintf("LengthHeader(%d)", uint8(h))
}

// ParseLengthHeader accepts binary2, bcd2 or ascii4.
func ParseLengthHeader(s string) (LengthHeader, error) {
	if h, ok := lengthHeaderNames[strings.ToLower(s)]; ok {
		return h, nil
	}
	return 0, fmt.Errorf("unknown length header %q: valid are binary2 (2-byte binary big-endian), bcd2 (2-byte BCD), ascii4 (4 ASCII digits)", s)
}

// Size is the number of bytes of the header itself.
func (h LengthHeader) Size() int {
	if h == ASCII4 {
		return 4
	}
	return 2
}

// Max is the largest length the header can carry.
func (h LengthHeader) Max() int {
	if h == Binary2 {
		return 0xFFFF
	}
	return 9999
}

// ErrBadLengthHeader means the length header bytes are not valid for the
// framing (non-digit in BCD/ASCII): framing is lost.
var ErrBadLengthHeader = errors.New("bad length header")

// Put writes n into dst[:h.Size()].
//
// moov-io/iso8583's network headers do the same encoding through io.Reader /
// io.Writer with binary.Read/Write; the link works on buffers it owns, so it
// encodes in place (the tests check byte equality with moov's headers).
func (h LengthHeader) Put(dst []byte, n int) error {
	if n < 0 || n > h.Max() {
		return fmt.Errorf("message length %d does not fit a %s length header (max %d)", n, h, h.Max())
	}
	switch h {
	case Binary2:
		dst[0], dst[1] = byte(n>>8), byte(n)
	case BCD2:
		d := [4]byte{byte(n / 1000), byte(n / 100 % 10), byte(n / 10 % 10), byte(n % 10)}
		dst[0], dst[1] = d[0]<<4|d[1], d[2]<<4|d[3]
	case ASCII4:
		dst[0], dst[1], dst[2], dst[3] = '0'+byte(n/1000), '0'+byte(n/100%10), '0'+byte(n/10%10), '0'+byte(n%10)
	}
	return nil
}

// Get decodes a length from b[:h.Size()].
func (h LengthHeader) Get(b []byte) (int, error) {
	switch h {
	case Binary2:
		return int(b[0])<<8 | int(b[1]), nil
	case BCD2:
		n := 0
		for _, c := range b[:2] {
			hi, lo := c>>4, c&0x0F
			if hi > 9 || lo > 9 {
				return 0, fmt.Errorf("%w: bcd2 bytes % X are not BCD digits", ErrBadLengthHeader, b[:2])
			}
			n = n*100 + int(hi)*10 + int(lo)
		}
		return n, nil
	case ASCII4:
		n := 0
		for _, c := range b[:4] {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%w: ascii4 bytes %q are not 4 digits", ErrBadLengthHeader, b[:4])
			}
			n = n*10 + int(c-'0')
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: unknown header kind %d", ErrBadLengthHeader, h)
}

// Framing is how messages of a dialect sit on the TCP stream:
// length header, then an optional TPDU and fixed header, then the message.
type Framing struct {
	Length LengthHeader
	// TPDU is the 5-byte TPDU a terminal sends (60 DDDD SSSS), nil for none.
	// Responses carry it with destination and source swapped.
	TPDU []byte
	// Header is a fixed header after the TPDU and before the MTI.
	Header []byte
	// LengthCountsPrefix says whether the length header counts the TPDU and
	// fixed header as well as the message.
	LengthCountsPrefix bool
}

// PrefixLen is the number of bytes of TPDU and fixed header.
func (f Framing) PrefixLen() int { return len(f.TPDU) + len(f.Header) }

// Prefix returns a fresh copy of the request prefix (TPDU + header).
func (f Framing) Prefix() []byte {
	p := make([]byte, 0, f.PrefixLen())
	p = append(p, f.TPDU...)
	return append(p, f.Header...)
}

// ReplyPrefix returns the prefix to answer a message that arrived with
// prefix req: the TPDU's destination and source swapped, the header kept.
func (f Framing) ReplyPrefix(req []byte) []byte {
	out := append([]byte(nil), req...)
	if len(f.TPDU) == 5 && len(out) >= 5 {
		copy(out[1:3], req[3:5])
		copy(out[3:5], req[1:3])
	}
	return out
}

// PayloadLen returns how many bytes follow the length header for a declared
// length n.
func (f Framing) PayloadLen(n int) int {
	if f.LengthCountsPrefix {
		return n
	}
	return n + f.PrefixLen()
}

// AppendFrame appends a whole frame — length header, prefix, message — to
// dst. prefix may be nil when the framing has none; if the framing has one
// and prefix is nil, the request prefix is used.
func (f Framing) AppendFrame(dst, prefix, msg []byte) ([]byte, error) {
	if prefix == nil && f.PrefixLen() > 0 {
		prefix = append(append(make([]byte, 0, f.PrefixLen()), f.TPDU...), f.Header...)
	}
	if len(prefix) != f.PrefixLen() {
		return dst, fmt.Errorf("frame prefix is %d bytes, framing wants %d (TPDU %d + header %d)", len(prefix), f.PrefixLen(), len(f.TPDU), len(f.Header))
	}
	n := len(msg)
	if f.LengthCountsPrefix {
		n += len(prefix)
	}
	hs := f.Length.Size()
	start := len(dst)
	dst = append(dst, make([]byte, hs)...)
	if err := f.Length.Put(dst[start:], n); err != nil {
		return dst[:start], err
	}
	dst = append(dst, prefix...)
	return append(dst, msg...), nil
}

// Split separates a payload (what follows the length header) into its
// prefix and the ISO message.
func (f Framing) Split(payload []byte) (prefix, msg []byte, err error) {
	p := f.PrefixLen()
	if len(payload) < p {
		return nil, nil, fmt.Errorf("frame of %d bytes is shorter than its TPDU/header (%d bytes)", len(payload), p)
	}
	return payload[:p], payload[p:], nil
}

// Describe says the framing in words, for banners and errors.
func (f Framing) Describe() string {
	var b strings.Builder
	b.WriteString(f.Length.String() + " length")
	if len(f.TPDU) > 0 {
		fmt.Fprintf(&b, ", TPDU %X", f.TPDU)
	}
	if len(f.Header) > 0 {
		fmt.Fprintf(&b, ", header %X", f.Header)
	}
	if f.PrefixLen() > 0 {
		if f.LengthCountsPrefix {
			b.WriteString(", length counts TPDU/header")
		} else {
			b.WriteString(", length counts the message only")
		}
	}
	return b.String()
}

// ParseTPDU parses 10 hex digits; the first byte must be 0x60 (the TPDU ID
// of ISO 8583 POS links).
func ParseTPDU(s string) ([5]byte, error) {
	var t [5]byte
	b, err := parseHex("TPDU", s)
	if err != nil {
		return t, err
	}
	if len(b) != 5 {
		return t, fmt.Errorf("TPDU %q: want 10 hex digits (60 + destination + source), got %d", s, len(s))
	}
	if b[0] != 0x60 {
		return t, fmt.Errorf("TPDU %q: must start with 60", s)
	}
	copy(t[:], b)
	return t, nil
}

func parseHex(what, s string) ([]byte, error) {
	s = strings.ReplaceAll(s, " ", "")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not hex: %v", what, s, err)
	}
	return b, nil
}

// MoovLengthFuncs returns a message-length reader and writer with
// iso8583-connection's signatures (connection.MessageLengthReader/Writer)
// that carry this framing: the length header, and the TPDU and fixed header
// as part of the "length" (the writer writes the request prefix, the reader
// reads and drops the peer's). It lets that independent implementation talk
// every built-in dialect in the interop tests.
func (f Framing) MoovLengthFuncs() (func(io.Reader) (int, error), func(io.Writer, int) (int, error)) {
	read := func(r io.Reader) (int, error) {
		hdr := make([]byte, f.Length.Size()+f.PrefixLen())
		if _, err := io.ReadFull(r, hdr[:f.Length.Size()]); err != nil {
			return 0, err
		}
		n, err := f.Length.Get(hdr)
		if err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(r, hdr[f.Length.Size():]); err != nil {
			return 0, err
		}
		if f.LengthCountsPrefix {
			n -= f.PrefixLen()
		}
		if n < 0 {
			return 0, fmt.Errorf("%w: length %d is shorter than the TPDU/header", ErrBadLengthHeader, n)
		}
		return n, nil
	}
	write := func(w io.Writer, n int) (int, error) {
		buf := make([]byte, f.Length.Size(), f.Length.Size()+f.PrefixLen())
		total := n
		if f.LengthCountsPrefix {
			total += f.PrefixLen()
		}
		if err := f.Length.Put(buf, total); err != nil {
			return 0, err
		}
		buf = append(buf, f.Prefix()...)
		return w.Write(buf)
	}
	return read, write
}
