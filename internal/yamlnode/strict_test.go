package yamlnode

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return Resolve(&doc)
}

func TestMappingErrorsInOneWording(t *testing.T) {
	cases := []struct{ src, want string }{
		{"[1, 2]\n", `f.yaml:1: rule 1: want a mapping (key: value), got a list`},
		{"delay: 1s\ndelya: 2s\n", `f.yaml:2: rule 1: unknown key "delya" (did you mean "delay"?) (known keys: type, delay)`},
		{"colour: red\n", `f.yaml:1: rule 1: unknown key "colour" (known keys: type, delay)`},
		{"type: x\ndelay: 1s\ntype: y\n", `f.yaml:3: rule 1: key "type" given twice (first at line 1)`},
	}
	for _, c := range cases {
		_, err := Mapping("f.yaml", node(t, c.src), "rule 1", "type", "delay")
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.src, err, c.want)
		}
	}
	m, err := Mapping("f.yaml", node(t, "delay: 1s\ntype: x\n"), "rule 1", "type", "delay")
	if err != nil || !m.Has("type") || m.Has("nope") || strings.Join(m.Order, ",") != "delay,type" {
		t.Fatalf("%+v %v", m, err)
	}
}

func TestMappingFuncTakesPatterns(t *testing.T) {
	isKnown := func(k string) bool { return k == "type" || strings.HasPrefix(k, "field.") }
	m, err := MappingFunc("f.yaml", node(t, "type: drop\nfield.39: \"05\"\n"), "fault", isKnown, []string{"type", "field.N"})
	if err != nil || !m.Has("field.39") {
		t.Fatalf("%v", err)
	}
	_, err = MappingFunc("f.yaml", node(t, "typ: drop\n"), "fault", isKnown, []string{"type", "field.N"})
	if err == nil || !strings.Contains(err.Error(), `f.yaml:1: fault: unknown key "typ" (did you mean "type"?)`) {
		t.Fatalf("%v", err)
	}
}

func TestScalarAndList(t *testing.T) {
	m, err := Mapping("f.yaml", node(t, "rc: 05\nmti: [\"0200\", \"0100\"]\none: \"0200\"\nmap: {a: 1}\nempty: []\nnested: [[1]]\n"),
		"match", "rc", "mti", "one", "map", "empty", "nested")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := Scalar("f.yaml", m.Keys["rc"], "match: "); s != "05" || err != nil {
		t.Fatalf("Scalar = %q, %v", s, err)
	}
	if _, err := Scalar("f.yaml", m.Keys["map"], "match: "); err == nil || err.Error() != "f.yaml:4: match: map: want a single value, got a mapping" {
		t.Fatalf("%v", err)
	}
	if l, err := List("f.yaml", m.Keys["mti"], ""); strings.Join(l, ",") != "0200,0100" || err != nil {
		t.Fatalf("List = %q, %v", l, err)
	}
	if l, err := List("f.yaml", m.Keys["one"], ""); len(l) != 1 || err != nil {
		t.Fatalf("List = %q, %v", l, err)
	}
	for k, want := range map[string]string{
		"map":    "f.yaml:4: map: want a value or a list of values, got a mapping",
		"empty":  "f.yaml:5: empty: an empty list matches nothing",
		"nested": "f.yaml:6: nested: list items must be single values, got a list",
	} {
		if _, err := List("f.yaml", m.Keys[k], ""); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("List(%s) = %v, want %s", k, err, want)
		}
	}
}
