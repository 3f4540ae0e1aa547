package yamlnode

import (
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestHelpers(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: &x [1, 2]\nb: *x\nc: ~\nd: 05\n"), &doc); err != nil {
		t.Fatal(err)
	}
	m := Resolve(&doc)
	if m.Kind != yaml.MappingNode {
		t.Fatalf("document not resolved: %v", m.Kind)
	}
	if Resolve(m.Content[3]).Kind != yaml.SequenceNode || KindName(m.Content[3]) != "a list" {
		t.Fatal("alias not followed")
	}
	if !IsNull(m.Content[5]) || IsNull(m.Content[7]) || KindName(m.Content[7]) != `"05"` || !IsNull(nil) {
		t.Fatal("null / scalar")
	}
	if got := FileError("f.yaml", errors.New("yaml: line 3: did not find expected key")).Error(); got != "f.yaml:3: did not find expected key" {
		t.Fatal(got)
	}
	if EditDistance("dely", "delay") != 1 || EditDistance("", "abc") != 3 || EditDistance("same", "same") != 0 {
		t.Fatal("edit distance")
	}
}
