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
	f, err := readDialectFile(path, data)
	if err != nil {
		return nil, nil, err
	}
	if f.spec == "" && f.base == "" {
		return nil, nil, fmt.Errorf("%s: name a message spec: spec: FILE.json (moov-io JSON spec) or base: DIALECT (one of %s)", path, strings.Join(Names(), ", "))
	}
	opts, err := framingOptions(path, f.vals["framing"])
	if err != nil {
		return nil, nil, err
	}
	baseName := f.base
	if baseName == "" {
		baseName = "iso87ascii"
	}
	d, err := Build(baseName, opts)
	if err != nil {
		return nil, nil, f.errAt("base", "%v", err)
	}
	var ws []Warning
	if f.spec != "" {
		specPath := f.spec
		if !filepath.IsAbs(specPath) {
			specPath = filepath.Join(filepath.Dir(path), specPath)
		}
		spec, sw, err := LoadSpec(specPath)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: spec: %w", path, f.lines["spec"], err)
		}
		ws = sw
		d.Spec = spec
		d.MACWireLen = macWireLen(spec)
		d.Description = "spec " + specPath + " framed as " + baseName
	}
	if err := f.applySettings(d); err != nil {
		return nil, nil, err
	}
	return d, ws, nil
}

// dialectFile is a dialect file's top-level keys, read and checked for
// shape; the values are judged by ParseDialectFile and applySettings.
type dialectFile struct {
	path                                         string
	vals                                         map[string]*yaml.Node
	lines                                        map[string]int
	name, desc, spec, base, version, match, macF string
}

func readDialectFile(path string, data []byte) (*dialectFile, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty dialect file", path)
		}
		return nil, yamlnode.FileError(path, err)
	}
	top := yamlnode.Resolve(&doc)
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping (key: value), got %s", path, top.Line, yamlnode.KindName(top))
	}
	f := &dialectFile{path: path, vals: map[string]*yaml.Node{}, lines: map[string]int{}}
	if err := mappingKeys(path, top, dialectFileKeys, f.vals, f.lines); err != nil {
		return nil, err
	}
	for k, dst := range map[string]*string{"name": &f.name, "description": &f.desc, "spec": &f.spec, "base": &f.base,
		"version": &f.version, "match": &f.match, "mac_field": &f.macF} {
		n, ok := f.vals[k]
		if !ok || yamlnode.IsNull(n) {
			continue
		}
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: %s: want a single value, got %s", path, n.Line, k, yamlnode.KindName(n))
		}
		*dst = n.Value
	}
	return f, nil
}

func (f *dialectFile) errAt(k, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", f.path, f.lines[k], k, fmt.Sprintf(format, a...))
}

// applySettings sets what the file says on top of the built dialect:
// version, matching key, MAC field, name and description.
func (f *dialectFile) applySettings(d *Dialect) error {
	if f.version != "" {
		v, err := ParseVersion(f.version)
		if err != nil {
			return f.errAt("version", "%v", err)
		}
		d.Version = v
	}
	if f.match != "" {
		if err := checkMatch(f.match); err != nil {
			return f.errAt("match", "%v", err)
		}
		d.Match = f.match
	}
	if f.macF != "" {
		switch f.macF {
		case "64":
			d.MACField = 64
		case "128":
			d.MACField = 128
		default:
			return f.errAt("mac_field", "want 64 or 128, got %q", f.macF)
		}
		if _, ok := d.Spec.Fields[d.MACField]; !ok {
			return f.errAt("mac_field", "field %d is not defined in the spec", d.MACField)
		}
	}
	d.Name = f.name
	if d.Name == "" {
		d.Name = strings.TrimSuffix(filepath.Base(f.path), filepath.Ext(f.path))
	}
	if f.desc != "" {
		d.Description = f.desc
	}
	d.Source = f.path
	return nil
}

// framingOptions reads the framing: mapping, checking each value.
func framingOptions(path string, fr *yaml.Node) (Options, error) {
	var opts Options
	if fr == nil || yamlnode.IsNull(fr) {
		return opts, nil
	}
	if fr.Kind != yaml.MappingNode {
		return opts, fmt.Errorf("%s:%d: framing: want a mapping, got %s", path, fr.Line, yamlnode.KindName(fr))
	}
	fv := map[string]*yaml.Node{}
	fl := map[string]int{}
	if err := mappingKeys(path, fr, framingKeys, fv, fl); err != nil {
		return opts, err
	}
	for k, n := range fv {
		if n.Kind != yaml.ScalarNode || yamlnode.IsNull(n) {
			return opts, fmt.Errorf("%s:%d: framing: %s: want a single value, got %s", path, fl[k], k, yamlnode.KindName(n))
		}
		if err := setFraming(&opts, k, n.Value); err != nil {
			return opts, fmt.Errorf("%s:%d: framing: %s: %v", path, fl[k], k, err)
		}
	}
	return opts, nil
}

func setFraming(opts *Options, k, v string) error {
	switch k {
	case "length_header":
		if _, err := ParseLengthHeader(v); err != nil {
			return err
		}
		opts.LengthHeader = v
	case "tpdu":
		if v != "none" {
			if _, err := ParseTPDU(v); err != nil {
				return err
			}
		}
		opts.TPDU = v
	case "header":
		if v != "none" {
			if _, err := parseHex("header", v); err != nil {
				return err
			}
		}
		opts.Header = v
	case "length_counts_header":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		opts.LengthCountsHeader = &b
	}
	return nil
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
