// Package emv builds and reads the EMV data a chip terminal sends in field
// 55: BER-TLV (EMV Book 3, Annex B) with the tags an authorization request
// carries. Values are static test values shaped like a real card's; no
// cryptogram is computed.
//
// BER-TLV is written here rather than with moov-io's field.Composite BerTLV
// spec: field 55 is one opaque field in every dialect (a user's spec may
// define it any way), and the terminal and host need the tags, not a
// message field.
package emv

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// TLV is one data object.
type TLV struct {
	Tag   uint32 // 0x9F26, 0x95, 0x5F2A…
	Value []byte
}

// Tag names, for describe and errors.
var Names = map[uint32]string{
	0x9F26: "Application Cryptogram", 0x9F27: "Cryptogram Information Data", 0x9F10: "Issuer Application Data",
	0x9F37: "Unpredictable Number", 0x9F36: "Application Transaction Counter", 0x95: "Terminal Verification Results",
	0x9A: "Transaction Date", 0x9C: "Transaction Type", 0x9F02: "Amount, Authorised", 0x5F2A: "Transaction Currency Code",
	0x82: "Application Interchange Profile", 0x9F1A: "Terminal Country Code",
}

// ErrTLV means the bytes are not well-formed BER-TLV.
var ErrTLV = errors.New("bad BER-TLV")

// Encode writes the objects in order.
func Encode(objs []TLV) []byte {
	var out []byte
	for _, o := range objs {
		out = appendTag(out, o.Tag)
		n := len(o.Value)
		switch {
		case n < 0x80:
			out = append(out, byte(n))
		case n <= 0xFF:
			out = append(out, 0x81, byte(n))
		default:
			out = append(out, 0x82, byte(n>>8), byte(n))
		}
		out = append(out, o.Value...)
	}
	return out
}

func appendTag(dst []byte, tag uint32) []byte {
	switch {
	case tag > 0xFFFF:
		return append(dst, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFF:
		return append(dst, byte(tag>>8), byte(tag))
	}
	return append(dst, byte(tag))
}

// Decode reads a sequence of primitive objects (the tags of field 55 are
// all primitive). It never panics on short or malformed input.
func Decode(b []byte) ([]TLV, error) {
	var out []TLV
	for i := 0; i < len(b); {
		if b[i] == 0x00 || b[i] == 0xFF { // padding between objects (Book 3 B1)
			i++
			continue
		}
		start := i
		tag := uint32(b[i])
		if b[i]&0x1F == 0x1F { // more tag bytes follow
			for {
				i++
				if i >= len(b) {
					return out, fmt.Errorf("%w: tag at offset %d is cut short", ErrTLV, start)
				}
				tag = tag<<8 | uint32(b[i])
				if b[i]&0x80 == 0 {
					break
				}
				if tag > 0xFFFFFF {
					return out, fmt.Errorf("%w: tag at offset %d is longer than 3 bytes", ErrTLV, start)
				}
			}
		}
		i++
		if i >= len(b) {
			return out, fmt.Errorf("%w: tag %X has no length", ErrTLV, tag)
		}
		n := int(b[i])
		i++
		if n&0x80 != 0 {
			k := n & 0x7F
			if k == 0 || k > 2 || i+k > len(b) {
				return out, fmt.Errorf("%w: tag %X: bad length form %02X", ErrTLV, tag, b[i-1])
			}
			n = 0
			for _, c := range b[i : i+k] {
				n = n<<8 | int(c)
			}
			i += k
		}
		if i+n > len(b) {
			return out, fmt.Errorf("%w: tag %X says %d bytes, %d left", ErrTLV, tag, n, len(b)-i)
		}
		out = append(out, TLV{Tag: tag, Value: append([]byte(nil), b[i:i+n]...)})
		i += n
	}
	return out, nil
}

// Find returns the value of tag, if present.
func Find(objs []TLV, tag uint32) ([]byte, bool) {
	for _, o := range objs {
		if o.Tag == tag {
			return o.Value, true
		}
	}
	return nil, false
}

// Request are the values of one chip authorization.
type Request struct {
	Amount   uint64 // minor units (9F02, n12 BCD)
	Currency string // 3 digits (5F2A)
	Country  string // 3 digits (9F1A)
	Date     string // YYMMDD (9A)
	TxType   byte   // 9C: 0x00 purchase, 0x20 refund, 0x31 balance
	UN       uint32 // 9F37 unpredictable number
	ATC      uint16 // 9F36
}

// Required are the tags every chip request must carry (the host checks).
var Required = []uint32{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A}

// Build makes field 55 for a chip authorization with static card values
// (cryptogram, issuer data, AIP) and the transaction's own ones.
func Build(r Request) ([]byte, error) {
	amount, err := bcd(fmt.Sprintf("%012d", r.Amount))
	if err != nil {
		return nil, fmt.Errorf("9F02 amount: %w", err)
	}
	cur, err := bcd("0" + r.Currency)
	if err != nil || len(r.Currency) != 3 {
		return nil, fmt.Errorf("5F2A currency %q: want 3 digits", r.Currency)
	}
	ctry, err := bcd("0" + r.Country)
	if err != nil || len(r.Country) != 3 {
		return nil, fmt.Errorf("9F1A country %q: want 3 digits", r.Country)
	}
	date, err := bcd(r.Date)
	if err != nil || len(r.Date) != 6 {
		return nil, fmt.Errorf("9A date %q: want YYMMDD", r.Date)
	}
	objs := []TLV{
		{0x9F26, []byte{0x1A, 0x2B, 0x3C, 0x4D, 0x5E, 0x6F, 0x70, 0x81}}, // ARQC (static test value)
		{0x9F27, []byte{0x80}}, // ARQC requested
		{0x9F10, []byte{0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00}}, // issuer application data
		{0x9F37, []byte{byte(r.UN >> 24), byte(r.UN >> 16), byte(r.UN >> 8), byte(r.UN)}},
		{0x9F36, []byte{byte(r.ATC >> 8), byte(r.ATC)}},
		{0x95, []byte{0x00, 0x00, 0x00, 0x80, 0x00}}, // TVR
		{0x9A, date},
		{0x9C, []byte{r.TxType}},
		{0x9F02, amount},
		{0x5F2A, cur},
		{0x82, []byte{0x39, 0x00}}, // AIP: SDA, cardholder verification, terminal risk management
		{0x9F1A, ctry},
	}
	return Encode(objs), nil
}

// Check says whether field 55 is well-formed and carries every required
// tag; the error names what is missing.
func Check(b []byte) error {
	objs, err := Decode(b)
	if err != nil {
		return err
	}
	var missing []string
	for _, t := range Required {
		if _, ok := Find(objs, t); !ok {
			missing = append(missing, fmt.Sprintf("%X (%s)", t, Names[t]))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("ICC data lacks %s", strings.Join(missing, ", "))
	}
	return nil
}

// Describe lists the tags present, with lengths but no values: field 55 is
// never printed in clear.
func Describe(b []byte) string {
	objs, err := Decode(b)
	if err != nil {
		return fmt.Sprintf("[ICC data, %d bytes: %v]", len(b), err)
	}
	tags := make([]string, 0, len(objs))
	for _, o := range objs {
		tags = append(tags, fmt.Sprintf("%X(%d)", o.Tag, len(o.Value)))
	}
	sort.Strings(tags)
	return fmt.Sprintf("[ICC data, %d bytes, tags %s]", len(b), strings.Join(tags, " "))
}

func bcd(digits string) ([]byte, error) {
	if len(digits)%2 != 0 {
		digits = "0" + digits
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return nil, fmt.Errorf("%q is not digits", digits)
		}
	}
	return hex.DecodeString(digits)
}
