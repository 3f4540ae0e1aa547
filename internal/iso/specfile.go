package iso

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/specs"
	"github.com/possim/possim/internal/yamlnode"
)

// A user's message spec is a file in moov-io/iso8583's JSON spec format,
// read and written by moov's own specs.ImportJSON / specs.ExportJSON (what
// the deprecated specs.Builder calls): one format that moov-io users already
// have, and no second parser of it here. What moov's reader does not do —
// reject unknown or repeated keys, say which line — is a strict walk over
// the JSON tokens before moov reads it (checkSpecJSON).

func init() {
	// possim's hand-made BCD encoder (bcd.go) writes exactly moov's BCD:
	// export it under moov's name, so an exported iso87bin spec is one any
	// moov-io user can load.
	specs.EncodingsIntToExt["packedBCD"] = "BCD"
}

// Warning is a spec or dialect problem that possim works with but a
// standard peer or Wireshark will not: it is printed, never ignored.
type Warning struct {
	File  string
	Field int // 0: not about one field
	Text  string
}

func (w Warning) String() string {
	at := w.File
	if w.Field > 0 {
		at += fmt.Sprintf(": field %d", w.Field)
	}
	if at == "" {
		return w.Text
	}
	return at + ": " + w.Text
}

// ExportSpec writes d's spec in moov-io's JSON spec format.
func ExportSpec(d *Dialect) ([]byte, error) {
	b, err := specs.ExportJSON(d.Spec)
	if err != nil {
		return nil, fmt.Errorf("dialect %s: cannot export its spec: %w", d.Name, err)
	}
	return b, nil
}

// LoadSpec reads a moov-io JSON message spec file, strictly, and checks it
// against possim's wire rules (CheckSpec).
func LoadSpec(path string) (*iso8583.MessageSpec, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("spec file: %w", err)
	}
	return ParseSpec(path, data)
}

// ParseSpec is LoadSpec of data read from name.
func ParseSpec(name string, data []byte) (*iso8583.MessageSpec, []Warning, error) {
	if err := checkSpecJSON(name, data); err != nil {
		return nil, nil, err
	}
	spec, err := specs.ImportJSON(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s", name, moovError(err))
	}
	if spec.Name == "" {
		spec.Name = name
	}
	ws, err := CheckSpec(name, spec)
	if err != nil {
		return nil, ws, err
	}
	fastBCD(spec)
	return spec, ws, nil
}

// moovError rewords moov's import errors ("error importing field: 4.
// unknown encoding: X for field: 4") with the names that are valid.
func moovError(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "unknown encoding"):
		s += " (valid encodings: " + strings.Join(keys(specs.EncodingsExtToInt), ", ") + ")"
	case strings.Contains(s, "unknown prefix"):
		s += " (valid prefixes: " + strings.Join(keys(specs.PrefixesExtToInt), ", ") + ")"
	case strings.Contains(s, "no constructor"):
		s += " (valid types: " + strings.Join(keys(specs.FieldConstructor), ", ") + ")"
	}
	return s
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckSpec checks a spec against DESIGN §3. What makes messages impossible
// (no MTI, no bitmap) is an error; what a standard peer or Wireshark will
// read differently is a warning that says what they will make of it.
func CheckSpec(name string, spec *iso8583.MessageSpec) ([]Warning, error) {
	var ws []Warning
	warn := func(id int, format string, a ...any) {
		ws = append(ws, Warning{File: name, Field: id, Text: fmt.Sprintf(format, a...)})
	}
	if _, ok := spec.Fields[0]; !ok {
		return nil, fmt.Errorf("%s: field 0 (the MTI) is not defined: no message can be packed", name)
	}
	bm, ok := spec.Fields[1]
	if !ok {
		return nil, fmt.Errorf("%s: field 1 (the bitmap) is not defined: no message can be packed", name)
	}
	if _, isBitmap := bm.(*field.Bitmap); !isBitmap {
		return nil, fmt.Errorf("%s: field 1: type must be Bitmap", name)
	}
	bs := bm.Spec()
	switch {
	case bs.Length == 16:
		warn(1, "one 128-bit bitmap (32 hex characters / 16 bytes) with bit 1 never set: ISO 8583 has 64-bit bitmaps where bit 1 announces a secondary one. "+
			"Wireshark reads the first 64 bits as the primary bitmap, finds bit 1 clear, takes the secondary half as field data and marks the message malformed; "+
			"standard peers (jPOS, iso8583-connection with a standard spec) misread every field. Use \"length\": 8 for a standard primary + secondary bitmap")
	case bs.Length != 8:
		warn(1, "bitmap of %d bytes: ISO 8583 bitmaps are 8 bytes (64 bits) each; Wireshark and standard peers will misread every field", bs.Length)
	case bs.DisableAutoExpand:
		warn(1, "disableAutoExpand: the secondary bitmap is always sent, even with no field above 64; standard peers accept it, but it is not what they send")
	}
	for _, id := range []int{64, 128} {
		f, ok := spec.Fields[id]
		if !ok {
			continue
		}
		if n, ok := macWire(f); !ok {
			warn(id, "the MAC field is %s: ISO 8583 defines it as 8 bytes (b 64), 16 hex characters in ASCII messages. "+
				"Wireshark will decode it as 8 bytes and mark what follows malformed; standard peers will misread it; possim cannot MAC messages of this dialect", n)
		}
	}
	var missing []int
	for id := 2; id <= 128; id++ {
		if _, ok := spec.Fields[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		warn(0, "fields %s are not defined: a message carrying one cannot be read (possim answers it as a format error), while Wireshark still decodes them by the standard", ranges(missing))
	}
	for id := range spec.Fields {
		if id > 192 || id < 0 {
			return ws, fmt.Errorf("%s: field %d: ISO 8583 fields are numbered 0 (MTI), 1 (bitmap) and 2–128 (192 with a tertiary bitmap)", name, id)
		}
	}
	return ws, nil
}

// macWire says how field f carries a MAC and whether that is 8 bytes.
func macWire(f field.Field) (string, bool) {
	s := f.Spec()
	fixed := s.Pref != nil && strings.HasSuffix(s.Pref.Inspect(), ".Fixed")
	if !fixed {
		return "variable length", false
	}
	switch f.(type) {
	case *field.Binary, *field.Hex:
		if s.Length == 8 {
			return "8 bytes", true
		}
		return fmt.Sprintf("%d bytes", s.Length), false
	case *field.String:
		if s.Length == 16 {
			return "16 characters", true
		}
		return fmt.Sprintf("%d characters", s.Length), false
	}
	return fmt.Sprintf("a %T", f), false
}

// macWireLen is MACWireLen for a spec's field 64: 16 when it is carried as
// hex characters, 8 as bytes, 0 when it is not an 8-byte MAC.
func macWireLen(spec *iso8583.MessageSpec) int {
	f, ok := spec.Fields[64]
	if !ok {
		return 0
	}
	if _, ok := macWire(f); !ok {
		return 0
	}
	s := f.Spec()
	if _, isStr := f.(*field.String); isStr {
		return 16
	}
	if s.Enc == encoding.BytesToASCIIHex {
		return 16
	}
	if _, bin := f.(*field.Hex); bin && s.Enc == encoding.ASCII {
		return 16
	}
	return 8
}

func ranges(ids []int) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(ids[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d–%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// fastBCD puts possim's BCD encoder and length prefixes in place of moov's
// in an imported spec's top-level fields: same bytes on the wire, without
// moov's per-call lookup tables (bcd.go).
func fastBCD(spec *iso8583.MessageSpec) {
	for _, f := range spec.Fields {
		s := f.Spec()
		if s == nil || len(s.Subfields) > 0 {
			continue
		}
		if s.Enc == encoding.BCD {
			s.Enc = fastBCDEncoder
		}
		if s.Pref != nil {
			switch s.Pref.Inspect() {
			case "BCD.LL":
				s.Pref = bcdLength{2}
			case "BCD.LLL":
				s.Pref = bcdLength{3}
			}
		}
	}
}

// The keys of moov-io's JSON spec format (specs/builder.go's specDummy,
// fieldDummy, paddingDummy, tagDummy).
var (
	specKeys    = []string{"name", "fields"}
	fieldKeys   = []string{"type", "length", "description", "enc", "prefix", "padding", "tag", "subfields", "bitmap", "disableAutoExpand"}
	paddingKeys = []string{"type", "pad"}
	tagKeys     = []string{"length", "enc", "padding", "sort", "skipUnknownTLVTags", "storeUnknownTLVTags", "prefUnknownTLV"}
)

// checkSpecJSON walks the JSON tokens of a spec file: an unknown key (a
// typo moov would silently ignore), a key given twice (moov keeps the last)
// or a value of the wrong kind is an error naming file:line and the field.
func checkSpecJSON(name string, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := &jsonWalker{name: name, data: data, dec: dec}
	if err := w.object("the spec", specKeys, func(key, where string) error {
		switch key {
		case "name":
			return w.want(where, "a string", func(t json.Token) bool { _, ok := t.(string); return ok })
		case "fields":
			return w.object("fields", nil, func(id, where string) error {
				n, err := strconv.Atoi(id)
				if err != nil || n < 0 {
					return fmt.Errorf("%s: fields: key %q is not a field number", w.at(), id)
				}
				return w.field("field "+id, false)
			})
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: unexpected data after the spec object", w.at())
	}
	return nil
}

type jsonWalker struct {
	name string
	data []byte
	dec  *json.Decoder
}

// at is "file:line" of the decoder's position.
func (w *jsonWalker) at() string {
	off := int(w.dec.InputOffset())
	off = min(off, len(w.data))
	return fmt.Sprintf("%s:%d", w.name, 1+bytes.Count(w.data[:off], []byte{'\n'}))
}

func (w *jsonWalker) token(where string) (json.Token, error) {
	t, err := w.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %s: the file ends early", w.at(), where)
		}
		return nil, fmt.Errorf("%s: %s: not valid JSON: %v", w.at(), where, err)
	}
	return t, nil
}

// object reads {key: value...}; known (nil: any key) lists the keys, each
// value is read by fn.
func (w *jsonWalker) object(where string, known []string, fn func(key, where string) error) error {
	t, err := w.token(where)
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s: %s: want an object {...}, got %v", w.at(), where, t)
	}
	seen := map[string]string{}
	for w.dec.More() {
		t, err := w.token(where)
		if err != nil {
			return err
		}
		k := t.(string) // object keys are always strings
		at := w.at()
		if first, dup := seen[k]; dup {
			return fmt.Errorf("%s: %s: key %q given twice (first at %s)", at, where, k, first)
		}
		seen[k] = at
		if known != nil && !contains(known, k) {
			return fmt.Errorf("%s: %s: unknown key %q%s (known keys: %s)", at, where, k, didYouMean(k, known), strings.Join(known, ", "))
		}
		if err := fn(k, where+": "+k); err != nil {
			return err
		}
	}
	_, err = w.token(where)
	return err
}

func (w *jsonWalker) want(where, what string, ok func(json.Token) bool) error {
	t, err := w.token(where)
	if err != nil {
		return err
	}
	if d, isDelim := t.(json.Delim); isDelim {
		return fmt.Errorf("%s: %s: want %s, got %q", w.at(), where, what, d.String())
	}
	if !ok(t) {
		return fmt.Errorf("%s: %s: want %s, got %v", w.at(), where, what, t)
	}
	return nil
}

func isString(t json.Token) bool { _, ok := t.(string); return ok }
func isBool(t json.Token) bool   { _, ok := t.(bool); return ok }
func isCount(t json.Token) bool {
	n, ok := t.(json.Number)
	if !ok {
		return false
	}
	i, err := n.Int64()
	return err == nil && i >= 0
}

func (w *jsonWalker) field(where string, sub bool) error {
	return w.object(where, fieldKeys, func(key, at string) error {
		switch key {
		case "type", "description", "enc", "prefix":
			return w.want(at, "a string", isString)
		case "length":
			return w.want(at, "a whole number ≥ 0", isCount)
		case "disableAutoExpand":
			return w.want(at, "true or false", isBool)
		case "padding":
			return w.padding(at)
		case "tag":
			return w.object(at, tagKeys, func(k, at string) error {
				switch k {
				case "length":
					return w.want(at, "a whole number ≥ 0", isCount)
				case "skipUnknownTLVTags", "storeUnknownTLVTags":
					return w.want(at, "true or false", isBool)
				case "padding":
					return w.padding(at)
				}
				return w.want(at, "a string", isString)
			})
		case "subfields":
			return w.object(at, nil, func(k, at string) error { return w.field(at, true) })
		case "bitmap":
			return w.field(at, true)
		}
		return nil
	})
}

// padding checks what moov's reader skips silently: an unknown padding type
// or a pad of more than one character leaves the field unpadded.
func (w *jsonWalker) padding(where string) error {
	return w.object(where, paddingKeys, func(k, at string) error {
		t, err := w.token(at)
		if err != nil {
			return err
		}
		s, ok := t.(string)
		if !ok {
			return fmt.Errorf("%s: %s: want a string, got %v", w.at(), at, t)
		}
		switch k {
		case "type":
			if _, ok := specs.PaddersExtToInt[s]; !ok {
				return fmt.Errorf("%s: %s: unknown padding %q (valid: %s)", w.at(), at, s, strings.Join(keys(specs.PaddersExtToInt), ", "))
			}
		case "pad":
			if len([]rune(s)) > 1 {
				return fmt.Errorf("%s: %s: pad %q must be one character", w.at(), at, s)
			}
		}
		return nil
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func didYouMean(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := yamlnode.EditDistance(strings.ToLower(k), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
