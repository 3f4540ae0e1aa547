// Package yamlnode holds what possim's strict YAML readers (host rules,
// fault lists, scenarios) share. They walk yaml.Node trees instead of
// decoding into structs because (*yaml.Node).Decode ignores
// Decoder.KnownFields, and walking gives every error the line of the key it
// is about.
package yamlnode

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resolve follows aliases (*anchor) to the node they name, and a document
// node to its single content node.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return Resolve(n.Content[0])
	}
	return n
}

// IsNull reports whether n is absent or an explicit null.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// KindName says what n is, for "want X, got Y" errors.
func KindName(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "no value"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// FileError turns the parser's "yaml: line 3: did not find expected key"
// into "file:3: did not find expected key".
func FileError(file string, err error) error {
	s := err.Error()
	if rest, ok := strings.CutPrefix(s, "yaml: line "); ok {
		if num, msg, ok := strings.Cut(rest, ": "); ok {
			if _, e := strconv.Atoi(num); e == nil {
				return fmt.Errorf("%s:%s: %s", file, num, msg)
			}
		}
	}
	return fmt.Errorf("%s: %s", file, strings.TrimPrefix(s, "yaml: "))
}

// EditDistance is the Levenshtein distance, for "did you mean" hints.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
