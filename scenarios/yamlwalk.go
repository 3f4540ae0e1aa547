package scenarios

import (
	"fmt"
	"slices"
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
	resolve  = yamlnode.Resolve
	kindName = yamlnode.KindName
	isNull   = yamlnode.IsNull
)

func (d *dec) errf(n *yaml.Node, format string, a ...any) error {
	return yamlnode.Errorf(d.file, n, format, a...)
}

func (d *dec) pos(n *yaml.Node) string { return fmt.Sprintf("%s:%d", d.file, n.Line) }

// yamlErr turns "yaml: line 3: did not find expected key" into
// "file:3: did not find expected key".
func (d *dec) yamlErr(err error) error { return yamlnode.FileError(d.file, err) }

// obj is a mapping read by yamlnode.Mapping (every key known, none
// twice), with typed getters in the scenario's words. Getters keep the
// first error (sticky), so a block of reads is checked once.
type obj struct {
	d    *dec
	m    *yamlnode.Map
	what string
	err  error
}

// mapping checks that n is a mapping whose keys are all known and unique.
func (d *dec) mapping(n *yaml.Node, what string, known ...string) (*obj, error) {
	m, err := yamlnode.Mapping(d.file, n, what, known...)
	if err != nil {
		return nil, err
	}
	return &obj{d: d, m: m, what: what}, nil
}

// emptyObj stands for a mapping not given (a null list item): every key
// absent.
func (d *dec) emptyObj(n *yaml.Node, what string) *obj {
	return &obj{d: d, m: &yamlnode.Map{Node: resolve(n), Keys: map[string]yamlnode.Pair{}}, what: what}
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func suggestKey(k string, known []string) string { return yamlnode.Suggest(k, known) }

func (o *obj) has(k string) bool { return o.m.Has(k) }

// key is the node of key k, or the mapping's when k is absent (for the
// line of an error).
func (o *obj) key(k string) *yaml.Node {
	if kv, ok := o.m.Keys[k]; ok {
		return kv.Key
	}
	return o.m.Node
}

func (o *obj) val(k string) *yaml.Node {
	if kv, ok := o.m.Keys[k]; ok {
		return resolve(kv.Val)
	}
	return nil
}

// order is the keys as written.
func (o *obj) order() []string { return o.m.Order }

func (o *obj) fail(k string, format string, a ...any) {
	if o.err == nil {
		o.err = o.d.errf(o.key(k), "%s: %s: %s", o.what, k, fmt.Sprintf(format, a...))
	}
}

// keep records err unless an error is already kept.
func (o *obj) keep(err error) {
	if o.err == nil {
		o.err = err
	}
}

// scalar returns the text of key k ("" and false when absent).
func (o *obj) scalar(k string) (string, bool) {
	kv, ok := o.m.Keys[k]
	if !ok || isNull(kv.Val) {
		return "", false // "key:" with no value: as if absent
	}
	v, err := yamlnode.Scalar(o.d.file, kv, o.what+": ")
	if err != nil {
		o.keep(err)
		return "", false
	}
	return v, true
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
		o.err = o.d.errf(o.m.Node, "%s: missing %s:", o.what, k)
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
	kv, ok := o.m.Keys[k]
	if !ok {
		return nil
	}
	l, err := yamlnode.List(o.d.file, kv, o.what+": ")
	if err != nil {
		o.keep(err)
		return nil
	}
	return l
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
