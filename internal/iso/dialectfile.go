package iso

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/possim/possim/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// A dialect file (YAML) names a message spec and says how it is framed:
//
//	name: acme
//	description: ACME acquirer, private fields 48 and 62 their way
//	spec: acme.json          # moov-io JSON spec, relative to this file
//	base: iso87ascii         # or/and: a built-in dialect for the spec and the defaults
//	version: 1987            # 1993: 1xxx MTIs, function code in 24, action codes in 39
//	framing:
//	  length_header: binary2 # binary2, bcd2, ascii4
//	  tpdu: "6000030000"     # or none
//	  header: "603100310000" # or none
//	  length_counts_header: true
//	match: tid,stan          # tid, stan, rrn, mti
//	mac_field: 64            # or 128
//
// It is read strictly: an unknown key, a key given twice or a value of the
// wrong kind is an error naming file:line.

var dialectFileKeys = []string{"name", "description", "spec", "base", "version", "framing", "match", "mac_field"}
var framingKeys = []string{"length_header", "tpdu", "header", "length_counts_header"}

// LoadDialectFile reads a dialect file and the spec it names.
func LoadDialectFile(path string) (*Dialect, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("dialect file: %w", err)
	}
	return ParseDialectFile(path, data)
}

// ParseDialectFile is LoadDialectFile of data read from path (a relative
// spec path is taken from path's directory).
func ParseDialectFile(path string, data []byte) (*Dialect, []Warning, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%s: empty dialect file", path)
		}
		return nil, nil, yamlnode.FileError(path, err)
	}
	top := yamlnode.Resolve(&doc)
	if top.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s:%d: want a mapping (key: value), got %s", path, top.Line, yamlnode.KindName(top))
	}
	vals := map[string]*yaml.Node{}
	lines := map[string]int{}
	if err := mappingKeys(path, top, dialectFileKeys, vals, lines); err != nil {
		return nil, nil, err
	}
	str := func(k string) (string, error) {
		n, ok := vals[k]
		if !ok || yamlnode.IsNull(n) {
			return "", nil
		}
		if n.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("%s:%d: %s: want a single value, got %s", path, n.Line, k, yamlnode.KindName(n))
		}
		return n.Value, nil
	}
	var opts Options
	var specPath, base, version, match, macField string
	var name, desc string
	for k, dst := range map[string]*string{"name": &name, "description": &desc, "spec": &specPath, "base": &base,
		"version": &version, "match": &match, "mac_field": &macField} {
		v, err := str(k)
		if err != nil {
			return nil, nil, err
		}
		*dst = v
	}
	errAt := func(k, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s: %s", path, lines[k], k, fmt.Sprintf(format, a...))
	}
	if specPath == "" && base == "" {
		return nil, nil, fmt.Errorf("%s: name a message spec: spec: FILE.json (moov-io JSON spec) or base: DIALECT (one of %s)", path, strings.Join(Names(), ", "))
	}
	if fr, ok := vals["framing"]; ok && !yamlnode.IsNull(fr) {
		fv := map[string]*yaml.Node{}
		fl := map[string]int{}
		if fr.Kind != yaml.MappingNode {
			return nil, nil, fmt.Errorf("%s:%d: framing: want a mapping, got %s", path, fr.Line, yamlnode.KindName(fr))
		}
		if err := mappingKeys(path, fr, framingKeys, fv, fl); err != nil {
			return nil, nil, err
		}
		for k, n := range fv {
			if n.Kind != yaml.ScalarNode || yamlnode.IsNull(n) {
				return nil, nil, fmt.Errorf("%s:%d: framing: %s: want a single value, got %s", path, fl[k], k, yamlnode.KindName(n))
			}
			switch k {
			case "length_header":
				if _, err := ParseLengthHeader(n.Value); err != nil {
					return nil, nil, fmt.Errorf("%s:%d: framing: %s: %v", path, fl[k], k, err)
				}
				opts.LengthHeader = n.Value
			case "tpdu":
				if n.Value != "none" {
					if _, err := ParseTPDU(n.Value); err != nil {
						return nil, nil, fmt.Errorf("%s:%d: framing: %s: %v", path, fl[k], k, err)
					}
				}
				opts.TPDU = n.Value
			case "header":
				if n.Value != "none" {
					if _, err := parseHex("header", n.Value); err != nil {
						return nil, nil, fmt.Errorf("%s:%d: framing: %s: %v", path, fl[k], k, err)
					}
				}
				opts.Header = n.Value
			case "length_counts_header":
				b, err := strconv.ParseBool(n.Value)
				if err != nil {
					return nil, nil, fmt.Errorf("%s:%d: framing: %s: want true or false, got %q", path, fl[k], k, n.Value)
				}
				opts.LengthCountsHeader = &b
			}
		}
	}
	baseName := base
	if baseName == "" {
		baseName = "iso87ascii"
	}
	d, err := Build(baseName, opts)
	if err != nil {
		return nil, nil, errAt("base", "%v", err)
	}
	var ws []Warning
	if specPath != "" {
		if !filepath.IsAbs(specPath) {
			specPath = filepath.Join(filepath.Dir(path), specPath)
		}
		spec, sw, err := LoadSpec(specPath)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: spec: %w", path, lines["spec"], err)
		}
		ws = sw
		d.Spec = spec
		d.MACWireLen = macWireLen(spec)
		d.Description = "spec " + specPath + " framed as " + baseName
	}
	if version != "" {
		v, err := ParseVersion(version)
		if err != nil {
			return nil, nil, errAt("version", "%v", err)
		}
		d.Version = v
	}
	if match != "" {
		if err := checkMatch(match); err != nil {
			return nil, nil, errAt("match", "%v", err)
		}
		d.Match = match
	}
	if macField != "" {
		switch macField {
		case "64":
			d.MACField = 64
		case "128":
			d.MACField = 128
		default:
			return nil, nil, errAt("mac_field", "want 64 or 128, got %q", macField)
		}
		if _, ok := d.Spec.Fields[d.MACField]; !ok {
			return nil, nil, errAt("mac_field", "field %d is not defined in the spec", d.MACField)
		}
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	d.Name = name
	if desc != "" {
		d.Description = desc
	}
	d.Source = path
	return d, ws, nil
}

// FromSpecFile returns the dialect base with its spec replaced by the one
// in specPath (--spec FILE): the framing, version and matching key stay the
// base's.
func FromSpecFile(base *Dialect, specPath string) (*Dialect, []Warning, error) {
	spec, ws, err := LoadSpec(specPath)
	if err != nil {
		return nil, nil, err
	}
	d := *base
	d.Spec = spec
	d.MACWireLen = macWireLen(spec)
	d.Name = base.Name + "+" + filepath.Base(specPath)
	d.Description = "spec " + specPath + " framed as " + base.Name
	d.Source = specPath
	return &d, ws, nil
}

// checkMatch checks a matching key's words; the link package parses it.
func checkMatch(s string) error {
	for _, p := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "tid", "41", "stan", "11", "rrn", "37", "mti", "class":
		default:
			return fmt.Errorf("matching key part %q: valid parts are tid, stan, rrn, mti", p)
		}
	}
	return nil
}

func mappingKeys(path string, n *yaml.Node, known []string, vals map[string]*yaml.Node, lines map[string]int) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if line, dup := lines[k.Value]; dup {
			return fmt.Errorf("%s:%d: key %q given twice (first at line %d)", path, k.Line, k.Value, line)
		}
		if !contains(known, k.Value) {
			return fmt.Errorf("%s:%d: unknown key %q%s (known keys: %s)", path, k.Line, k.Value, didYouMean(k.Value, known), strings.Join(known, ", "))
		}
		lines[k.Value] = k.Line
		vals[k.Value] = yamlnode.Resolve(n.Content[i+1])
	}
	return nil
}
