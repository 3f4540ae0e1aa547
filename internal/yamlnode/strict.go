package yamlnode

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The strict object reader every possim YAML file goes through, so that
// all of them word the same mistakes the same way:
//
//	FILE:LINE: WHAT: want a mapping (key: value), got a list
//	FILE:LINE: WHAT: unknown key "delya" (did you mean "delay"?) (known keys: type, delay, …)
//	FILE:LINE: WHAT: key "rc" given twice (first at line 4)
//	FILE:LINE: CTX KEY: want a single value, got a mapping
//	FILE:LINE: CTX KEY: want a value or a list of values, got a mapping
//
// WHAT and CTX are the caller's path to the node ("rule 2 (\"refunds\"):
// match"); LINE is always the line of the key or value at fault.

// Pair is one key of a mapping and its value.
type Pair struct{ Key, Val *yaml.Node }

// Map is a mapping read strictly: every key known, none twice.
type Map struct {
	Node  *yaml.Node
	Keys  map[string]Pair
	Order []string // the keys as written
}

// Has reports whether the mapping gives key k.
func (m *Map) Has(k string) bool { _, ok := m.Keys[k]; return ok }

// Errorf is an error at n's line of file: "file:line: message".
func Errorf(file string, n *yaml.Node, format string, a ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, a...))
}

// Mapping reads n as a mapping whose keys are all among known and unique.
func Mapping(file string, n *yaml.Node, what string, known ...string) (*Map, error) {
	return MappingFunc(file, n, what, func(k string) bool { return slices.Contains(known, k) }, known)
}

// MappingFunc is Mapping for key sets a list cannot hold (field.39, …):
// isKnown decides, names is what the error lists and suggests from.
func MappingFunc(file string, n *yaml.Node, what string, isKnown func(string) bool, names []string) (*Map, error) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, Errorf(file, n, "%s: want a mapping (key: value), got %s", what, KindName(n))
	}
	m := &Map{Node: n, Keys: make(map[string]Pair, len(n.Content)/2)}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !isKnown(k.Value) {
			return nil, Errorf(file, k, "%s: unknown key %q%s (known keys: %s)", what, k.Value, Suggest(k.Value, names), strings.Join(names, ", "))
		}
		if prev, dup := m.Keys[k.Value]; dup {
			return nil, Errorf(file, k, "%s: key %q given twice (first at line %d)", what, k.Value, prev.Key.Line)
		}
		m.Keys[k.Value] = Pair{k, v}
		m.Order = append(m.Order, k.Value)
	}
	return m, nil
}

// Scalar is the text of a single value; numbers stay as written (rc: 05
// is "05").
func Scalar(file string, kv Pair, ctx string) (string, error) {
	v := Resolve(kv.Val)
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", Errorf(file, kv.Key, "%s%s: want a single value, got %s", ctx, kv.Key.Value, KindName(v))
	}
	return v.Value, nil
}

// List accepts a single value or a non-empty list of single values.
func List(file string, kv Pair, ctx string) ([]string, error) {
	v := Resolve(kv.Val)
	if v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return []string{v.Value}, nil
	}
	if v == nil || v.Kind != yaml.SequenceNode {
		return nil, Errorf(file, kv.Key, "%s%s: want a value or a list of values, got %s", ctx, kv.Key.Value, KindName(v))
	}
	if len(v.Content) == 0 {
		return nil, Errorf(file, kv.Key, "%s%s: an empty list matches nothing; remove the key to match any value", ctx, kv.Key.Value)
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		e = Resolve(e)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			return nil, Errorf(file, e, "%s%s: list items must be single values, got %s", ctx, kv.Key.Value, KindName(e))
		}
		out = append(out, e.Value)
	}
	return out, nil
}

// Suggest is ` (did you mean "x"?)` for the known name within two edits
// of s (case aside), or "".
func Suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := EditDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
