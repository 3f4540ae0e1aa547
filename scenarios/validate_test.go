package scenarios

import (
	"strings"
	"testing"
)

// TIDs and MTIs are judged by internal/iso's validators, in their words.
func TestLoadValidatesTIDAndMTIThroughIso(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"blank tid", "name: t\ndescription: d\nterminals:\n  - tid: \"  \"\nsteps: [{send: purchase}]\n",
			`x.yaml:4: terminal 1: tid "  ": want 1 to 8 characters (field 41)`},
		{"long tid", "name: t\ndescription: d\nterminals:\n  - tid: TERMINAL9\nsteps: [{send: purchase}]\n",
			`x.yaml:4: terminal 1: tid "TERMINAL9": want 1 to 8 characters (field 41)`},
		{"padded long tid", "name: t\ndescription: d\nterminals:\n  - tid: \"TERMINAL \"\nsteps: [{send: purchase}]\n",
			`x.yaml:4: terminal 1: tid "TERMINAL ": want at most 8 characters (field 41)`},
		{"bad mti", "name: t\ndescription: d\nterminals: [{}]\nsteps: [{send: purchase}]\nexpect:\n  - event: sent\n    mti: \"210\"\n",
			`x.yaml:7: expectation 1 (event): mti: "210": want 4 digits ("0200")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("x.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\n does not contain %q", err, c.want)
			}
		})
	}
}

// The scenario reader walks mappings, single values and lists through
// internal/yamlnode, in its wording, at the line of the key.
func TestLoadShapesInYamlnodeWording(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"single value", "name: [a]\ndescription: d\nterminals: [{}]\nsteps: [{send: purchase}]\n",
			`x.yaml:1: scenario: name: want a single value, got a list`},
		{"list of values", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    expect:\n      rc: {a: 1}\n",
			`x.yaml:7: expect: rc: want a value or a list of values, got a mapping`},
		{"list item", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    expect:\n      rc: [[\"00\"]]\n",
			`x.yaml:7: expect: rc: list items must be single values, got a list`},
		{"not a mapping", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    expect: [1]\n",
			`x.yaml:6: expect: want a mapping (key: value), got a list`},
		{"step unknown key", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - wait: 1s\n    terminal: T1\n",
			`x.yaml:6: step 1 (wait): unknown key "terminal" (known keys: wait, id, at)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("x.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\n does not contain %q", err, c.want)
			}
		})
	}
}
