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
