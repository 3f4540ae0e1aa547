// Package iso holds possim's ISO 8583 dialects: message specs built on
// moov-io/iso8583, the framing that carries them on a TCP stream, MTI
// helpers and a masked describe.
//
// A dialect is data — a spec plus a framing — chosen by name. The stock moov
// Spec87ASCII is deliberately not used: it writes one 128-bit bitmap with bit 1
// never set and cannot pack the 8-byte fields 52/64, which real peers and
// Wireshark reject.
package iso

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// Dialect is a message spec plus the framing that carries it.
type Dialect struct {
	Name        string
	Description string
	Spec        *iso8583.MessageSpec
	Framing     Framing
	// MACWireLen is how many bytes field 64/128 takes on the wire (16 hex
	// characters in ASCII dialects, 8 bytes in binary ones).
	MACWireLen int
	// Version is the ISO 8583 edition: MTIs, network codes, RC width
	// (version.go). Zero means 1987.
	Version Version
	// Match is the default matching key ("tid,stan"), parsed by the link
	// package; "" means TID + STAN.
	Match string
	// MACField is the field a dialect file names for the MAC (64 or 128);
	// 0: 64, or 128 when a secondary bitmap is present.
	MACField int
	// Source is the file the dialect was read from; "" for built-in ones.
	Source string
}

// NewMessage returns an empty message of this dialect.
func (d *Dialect) NewMessage() *iso8583.Message { return iso8583.NewMessage(d.Spec) }

// Pack packs m and returns the ISO message bytes (MTI onwards, no framing).
func (d *Dialect) Pack(m *iso8583.Message) ([]byte, error) { return m.Pack() }

// Unpack parses ISO message bytes (MTI onwards).
func (d *Dialect) Unpack(b []byte) (*iso8583.Message, error) {
	m := iso8583.NewMessage(d.Spec)
	if err := m.Unpack(b); err != nil {
		return m, err
	}
	return m, nil
}

// Options override a dialect's framing; zero values keep the dialect's own.
type Options struct {
	LengthHeader string // "binary2", "bcd2", "ascii4"
	// TPDU is the 10 hex digits of the request TPDU ("6000030000"); "none"
	// removes it.
	TPDU string
	// Header is the fixed header after the TPDU, in hex; "none" removes it.
	Header string
	// LengthCountsHeader, when set, says whether the length header counts
	// the TPDU and fixed header.
	LengthCountsHeader *bool
}

type builder func() *Dialect

var dialects = map[string]builder{
	"iso87ascii": newISO87ASCII,
	"iso87bin":   newISO87Bin,
	"iso93ascii": newISO93ASCII,
}

// Names lists the dialects possim ships, sorted.
func Names() []string {
	out := make([]string, 0, len(dialects))
	for n := range dialects {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the named dialect with its default framing.
func Lookup(name string) (*Dialect, error) { return Build(name, Options{}) }

// Build returns the named dialect with opts applied to its framing.
func Build(name string, opts Options) (*Dialect, error) {
	b, ok := dialects[name]
	if !ok {
		return nil, fmt.Errorf("unknown dialect %q: valid dialects are %s", name, strings.Join(Names(), ", "))
	}
	d := b()
	if err := opts.apply(d); err != nil {
		return nil, err
	}
	return d, nil
}

func (opts Options) apply(d *Dialect) error {
	if opts.LengthHeader != "" {
		lh, err := ParseLengthHeader(opts.LengthHeader)
		if err != nil {
			return err
		}
		d.Framing.Length = lh
	}
	if opts.TPDU != "" {
		if opts.TPDU == "none" {
			d.Framing.TPDU = nil
		} else {
			t, err := ParseTPDU(opts.TPDU)
			if err != nil {
				return err
			}
			d.Framing.TPDU = t[:]
		}
	}
	if opts.Header != "" {
		if opts.Header == "none" {
			d.Framing.Header = nil
		} else {
			h, err := parseHex("header", opts.Header)
			if err != nil {
				return err
			}
			d.Framing.Header = h
		}
	}
	if opts.LengthCountsHeader != nil {
		d.Framing.LengthCountsPrefix = *opts.LengthCountsHeader
	}
	return nil
}

func newISO87ASCII() *Dialect {
	return &Dialect{
		Name:        "iso87ascii",
		Description: "ISO 8583:1987, ASCII MTI and fields, hex bitmaps (16 characters each), 2-byte binary length header",
		Spec:        buildSpec("possim iso87ascii", asciiEncoding, &elements),
		Framing:     Framing{Length: Binary2, LengthCountsPrefix: true},
		MACWireLen:  16,
		Version:     V1987,
	}
}

func newISO93ASCII() *Dialect {
	return &Dialect{
		Name: "iso93ascii",
		Description: "ISO 8583:1993, ASCII MTI (1xxx) and fields, hex bitmaps (16 characters each), 2-byte binary length header; " +
			"network management 1804/1814 with the function code in field 24, 3-digit action codes in field 39",
		Spec:       buildSpec("possim iso93ascii", asciiEncoding, &elements93),
		Framing:    Framing{Length: Binary2, LengthCountsPrefix: true},
		MACWireLen: 16,
		Version:    V1993,
	}
}

// defaultBinHeader is the 6-byte message header UnionPay-style POS links
// carry after the TPDU: application type 60, version 31, terminal status and
// processing requirement 00 31, reserved 00 00.
var defaultBinHeader = []byte{0x60, 0x31, 0x00, 0x31, 0x00, 0x00}

func newISO87Bin() *Dialect {
	return &Dialect{
		Name:        "iso87bin",
		Description: "ISO 8583:1987 binary POS: BCD MTI and numerics, binary bitmaps, TPDU 60 DDDD SSSS + 6-byte header, 2-byte binary length counting both",
		Spec:        buildSpec("possim iso87bin", binaryEncoding, &elements),
		Framing: Framing{
			Length:             Binary2,
			TPDU:               []byte{0x60, 0x00, 0x03, 0x00, 0x00},
			Header:             append([]byte(nil), defaultBinHeader...),
			LengthCountsPrefix: true,
		},
		MACWireLen: 8,
		Version:    V1987,
	}
}

// encodingSet says how a dialect puts each kind of element on the wire.
type encodingSet struct {
	mti, bitmap *field.Spec
	numEnc      encoding.Encoder
	numPref     prefix.Prefixers
	charPref    prefix.Prefixers // length prefixes of character fields
	binEnc      encoding.Encoder
	binPref     prefix.Prefixer
}

var asciiEncoding = encodingSet{
	mti:      &field.Spec{Length: 4, Description: "Message Type Indicator", Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed},
	bitmap:   &field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed},
	numEnc:   encoding.ASCII,
	numPref:  prefix.ASCII,
	charPref: prefix.ASCII,
	binEnc:   encoding.BytesToASCIIHex,
	binPref:  prefix.ASCII.Fixed, // length in bytes; the encoder doubles it
}

var binaryEncoding = encodingSet{
	mti:      &field.Spec{Length: 4, Description: "Message Type Indicator", Enc: fastBCDEncoder, Pref: prefix.BCD.Fixed},
	bitmap:   &field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary, Pref: prefix.Binary.Fixed},
	numEnc:   fastBCDEncoder,
	numPref:  bcdPrefixers,
	charPref: bcdPrefixers,
	binEnc:   encoding.Binary,
	binPref:  prefix.Binary.Fixed,
}

func pick(p prefix.Prefixers, m lenMode) prefix.Prefixer {
	switch m {
	case llvar:
		return p.LL
	case lllvar:
		return p.LLL
	}
	return p.Fixed
}

func buildSpec(name string, e encodingSet, table *[129]elem) *iso8583.MessageSpec {
	fields := make(map[int]field.Field, 129)
	fields[0] = field.NewString(e.mti)
	fields[1] = field.NewBitmap(e.bitmap)
	for id := 2; id <= 128; id++ {
		el := table[id]
		switch el.kind {
		case kN:
			// No padding: moov strips pad characters on unpack, which
			// would turn STAN 000123 into 123. Set pads numerics instead.
			fields[id] = field.NewString(&field.Spec{Length: el.len, Description: el.desc, Enc: e.numEnc, Pref: pick(e.numPref, el.mode)})
		case kB:
			fields[id] = field.NewBinary(&field.Spec{Length: el.len, Description: el.desc, Enc: e.binEnc, Pref: e.binPref})
		case kXN:
			fields[id] = field.NewString(&field.Spec{Length: el.len + 1, Description: el.desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed})
		default: // kAN, kZ: characters
			s := &field.Spec{Length: el.len, Description: el.desc, Enc: encoding.ASCII}
			if el.mode == fixed {
				s.Pref = prefix.ASCII.Fixed
				s.Pad = padding.Right(' ')
			} else {
				s.Pref = pick(e.charPref, el.mode)
			}
			fields[id] = field.NewString(s)
		}
	}
	return &iso8583.MessageSpec{Name: name, Fields: fields}
}

// WithOptions returns a copy of d with opts applied to its framing (the
// command line's --length-header etc. over a dialect file's).
func (d *Dialect) WithOptions(opts Options) (*Dialect, error) {
	out := *d
	if err := opts.apply(&out); err != nil {
		return nil, err
	}
	return &out, nil
}
