package fault

import (
	"fmt"
	"strings"

	"github.com/possim/possim/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// ParseYAML reads a document whose only key is faults:, a list of rules
// (see DecodeYAML). name is the file name, for errors.
//
//	faults:
//	  - type: delay
//	    mti: [0200, 0210]
//	    p: 0.1
//	    delay: 35s
//	  - spec: "rc:rc=05,nth=3"
//	  - "drop:mti=0210,count=1"
func ParseYAML(name string, data []byte) ([]Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	top := resolve(doc.Content[0])
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return nil, nil
	}
	m, err := yamlnode.Mapping(name, top, "the faults file", "faults")
	if err != nil {
		return nil, err
	}
	if !m.Has("faults") {
		return nil, nil
	}
	return DecodeYAML(name, m.Keys["faults"].Val)
}

// DecodeYAML reads the rules of a faults: sequence node, strictly: an
// unknown key or a bad value is an error naming name:line. Host, terminal
// and scenario configs embed a faults: list and pass its node here. Each
// item is a mapping with type: and the flag grammar's keys (mti may be a
// list; field.39: "05"), or spec: "TYPE:key=value,..." alone, or a plain
// spec string.
func DecodeYAML(name string, n *yaml.Node) ([]Rule, error) {
	if n == nil {
		return nil, nil
	}
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: faults: want a list of rules", name, n.Line)
	}
	out := make([]Rule, 0, len(n.Content))
	for _, item := range n.Content {
		r, err := decodeRule(name, resolve(item))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeRule(name string, n *yaml.Node) (Rule, error) {
	at := func(line int, err error) error { return fmt.Errorf("%s:%d: %v", name, line, err) }
	if n.Kind == yaml.ScalarNode {
		r, err := ParseSpec(n.Value)
		if err != nil {
			return Rule{}, at(n.Line, err)
		}
		return r, nil
	}
	if n.Kind != yaml.MappingNode {
		return Rule{}, at(n.Line, fmt.Errorf("a fault is a mapping (type: delay, delay: 2s...) or a spec string"))
	}
	// type: or spec: first, so that the other keys can be checked against it.
	var typeNode, specNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "type":
			typeNode = resolve(n.Content[i+1])
		case "spec":
			specNode = resolve(n.Content[i+1])
		}
	}
	if specNode != nil {
		if len(n.Content) != 2 {
			return Rule{}, at(n.Line, fmt.Errorf("spec: goes alone (the other keys are in the spec)"))
		}
		if specNode.Kind != yaml.ScalarNode {
			return Rule{}, at(specNode.Line, fmt.Errorf("spec: want a string"))
		}
		r, err := ParseSpec(specNode.Value)
		if err != nil {
			return Rule{}, at(specNode.Line, err)
		}
		return r, nil
	}
	if typeNode == nil {
		return Rule{}, at(n.Line, fmt.Errorf("a fault needs type: (or spec:)"))
	}
	if typeNode.Kind != yaml.ScalarNode {
		return Rule{}, at(typeNode.Line, fmt.Errorf("type: want a name"))
	}
	t, err := lookupType(typeNode.Value)
	if err != nil {
		return Rule{}, at(typeNode.Line, err)
	}
	ctx := "fault " + t.Name
	m, err := yamlnode.MappingFunc(name, n, ctx, t.acceptsKey, append([]string{"type"}, t.keyNames()...))
	if err != nil {
		return Rule{}, err
	}
	r := Rule{Type: t.Name}
	for _, k := range m.Order {
		if k == "type" {
			continue
		}
		kv := m.Keys[k]
		// A list (mti: [0200, 0210]) is the flag grammar's 0200|0210.
		vals, err := yamlnode.List(name, kv, ctx+": ")
		if err != nil {
			return Rule{}, err
		}
		if err := setKey(t, &r, k, strings.Join(vals, "|")); err != nil {
			return Rule{}, at(kv.Key.Line, err)
		}
	}
	if err := finish(t, &r); err != nil {
		return Rule{}, at(n.Line, fmt.Errorf("fault %s: %v", t.Name, err))
	}
	return r, nil
}

var resolve = yamlnode.Resolve // shared by every strict YAML reader
