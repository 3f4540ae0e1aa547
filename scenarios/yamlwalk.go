package scenarios

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// The scenario file is walked as a yaml.Node tree rather than decoded into
// structs: (*yaml.Node).Decode ignores Decoder.KnownFields, and walking
// gives every error the line of the key it is about (host/rules.go does
// the same for rules files).

type dec struct{ file string }

// The node helpers shared by every strict YAML reader.
var (
	resolve      = yamlnode.Resolve
	kindName     = yamlnode.KindName
	isNull       = yamlnode.IsNull
	editDistance = yamlnode.EditDistance
)

func (d *dec) errf(n *yaml.Node, format string, a ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return fmt.Errorf("%s:%d: %s", d.file, line, fmt.Sprintf(format, a...))
}

func (d *dec) pos(n *yaml.Node) string { return fmt.Sprintf("%s:%d", d.file, n.Line) }

// yamlErr turns "yaml: line 3: did not find expected key" into
// "file:3: did not find expected key".
func (d *dec) yamlErr(err error) error { return yamlnode.FileError(d.file, err) }

type keyVal struct{ key, val *yaml.Node }

// obj is a mapping whose keys were checked against a known list. Getters
// keep the first error (sticky), so a block of reads is checked once.
type obj struct {
	d     *dec
	n     *yaml.Node
	what  string
	kv    map[string]keyVal
	order []string
	err   error
}

// mapping checks that n is a mapping whose keys are all known and unique.
func (d *dec) mapping(n *yaml.Node, what string, known ...string) (*obj, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, d.errf(n, "%s: want a mapping (key: value), got %s", what, kindName(n))
	}
	o := &obj{d: d, n: n, what: what, kv: make(map[string]keyVal, len(n.Content)/2)}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !contains(known, k.Value) {
			return nil, d.errf(k, "%s: unknown key %q%s (known keys: %s)", what, k.Value, suggestKey(k.Value, known), strings.Join(known, ", "))
		}
		if prev, dup := o.kv[k.Value]; dup {
			return nil, d.errf(k, "%s: key %q given twice (first at line %d)", what, k.Value, prev.key.Line)
		}
		o.kv[k.Value] = keyVal{k, v}
		o.order = append(o.order, k.Value)
	}
	return o, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func suggestKey(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func (o *obj) has(k string) bool { _, ok := o.kv[k]; return ok }

func (o *obj) key(k string) *yaml.Node {
	if kv, ok := o.kv[k]; ok {
		return kv.key
	}
	return o.n
}

func (o *obj) val(k string) *yaml.Node {
	if kv, ok := o.kv[k]; ok {
		return resolve(kv.val)
	}
	return nil
}

func (o *obj) fail(k string, format string, a ...any) {
	if o.err == nil {
		o.err = o.d.errf(o.key(k), "%s: %s: %s", o.what, k, fmt.Sprintf(format, a...))
	}
}

// scalar returns the text of key k ("" and false when absent).
func (o *obj) scalar(k string) (string, bool) {
	kv, ok := o.kv[k]
	if !ok {
		return "", false
	}
	v := resolve(kv.val)
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return "", false // "key:" with no value: as if absent
	}
	if v.Kind != yaml.ScalarNode {
		o.fail(k, "want a single value, got %s", kindName(v))
		return "", false
	}
	return v.Value, true
}

func (o *obj) str(k, def string) string {
	if s, ok := o.scalar(k); ok {
		return s
	}
	return def
}

func (o *obj) required(k string) string {
	s, ok := o.scalar(k)
	if !ok && o.err == nil && !o.has(k) {
		o.err = o.d.errf(o.n, "%s: missing %s:", o.what, k)
	}
	return s
}

func (o *obj) dur(k string, def time.Duration) time.Duration {
	s, ok := o.scalar(k)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		o.fail(k, "%q is not a duration (use a unit: 500ms, 2s)", s)
		return def
	}
	if d < 0 {
		o.fail(k, "must not be negative")
		return def
	}
	return d
}

func (o *obj) boolean(k string, def bool) bool {
	s, ok := o.scalar(k)
	if !ok {
		return def
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true
	case "false", "no", "off":
		return false
	}
	o.fail(k, "%q: want true or false", s)
	return def
}

func (o *obj) optBool(k string) *bool {
	if !o.has(k) {
		return nil
	}
	b := o.boolean(k, false)
	return &b
}

func (o *obj) integer(k string, def, lo, hi int) int {
	s, ok := o.scalar(k)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		o.fail(k, "%q: want a whole number from %d to %d", s, lo, hi)
		return def
	}
	return n
}

func (o *obj) count(k string) *Count {
	s, ok := o.scalar(k)
	if !ok {
		return nil
	}
	c, err := ParseCount(s)
	if err != nil {
		o.fail(k, "%v", err)
		return nil
	}
	return &c
}

// list accepts one value or a list of values.
func (o *obj) list(k string) []string {
	kv, ok := o.kv[k]
	if !ok {
		return nil
	}
	v := resolve(kv.val)
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return []string{v.Value}
	}
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		o.fail(k, "want a value or a list of values, got %s", kindName(v))
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		e = resolve(e)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			o.fail(k, "list items must be single values, got %s", kindName(e))
			return nil
		}
		out = append(out, e.Value)
	}
	return out
}

func (o *obj) enum(k, def string, values ...string) string {
	s, ok := o.scalar(k)
	if !ok {
		return def
	}
	if !contains(values, s) {
		o.fail(k, "%q: want one of %s%s", s, strings.Join(values, ", "), suggestKey(s, values))
		return def
	}
	return s
}

// rulesFromNode compiles a rules document embedded in the scenario, with
// errors at the scenario file's lines.
func (d *dec) rulesFromNode(n *yaml.Node, _ string) (*host.RuleSet, error) {
	return host.DecodeRules(d.file, resolve(n))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
