package scenarios

import (
	"strings"
	"testing"
)

const minimal = `name: t
description: a test
terminals: [{id: T1}]
steps:
  - send: purchase
`

func TestLoadMinimal(t *testing.T) {
	sc, err := Load("t.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Seed != 1 || len(sc.Steps) != 1 || sc.Steps[0].Terminal != "T1" || sc.Steps[0].Tx.Amount != 1000 {
		t.Fatalf("%+v", sc)
	}
	ts := sc.Terminals[0]
	if ts.TID != "TERM0001" || ts.Timeout != defaultTimeout || !ts.SignOn || ts.Connect != "start" {
		t.Fatalf("terminal defaults: %+v", ts)
	}
}

// Strict decoding: every mistake is an error naming file:line and saying
// what is valid.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "name: t\ndescription: d\nterminals: [{}]\nstpes:\n  - send: purchase\n",
			`x.yaml:4: scenario: unknown key "stpes" (did you mean "steps"?)`},
		{"missing description", "name: t\nterminals: [{}]\nsteps: [{send: purchase}]\n", "x.yaml:1: scenario: missing description:"},
		{"bad name", "name: Bad Name\ndescription: d\nterminals: [{}]\nsteps: [{send: purchase}]\n", `x.yaml:1: name "Bad Name"`},
		{"unknown terminal key", "name: t\ndescription: d\nterminals:\n  - id: T1\n    timout: 1s\nsteps: [{send: purchase}]\n",
			`x.yaml:5: terminal 1: unknown key "timout" (did you mean "timeout"?)`},
		{"bad duration", "name: t\ndescription: d\nterminals:\n  - id: T1\n    timeout: fast\nsteps: [{send: purchase}]\n",
			`x.yaml:5: terminal 1: timeout: "fast" is not a duration`},
		{"bad length header", "name: t\ndescription: d\nterminals:\n  - id: T1\n    length_header: ascii3\nsteps: [{send: purchase}]\n",
			`x.yaml:5: terminal 1: length_header: unknown length header "ascii3"`},
		{"no action", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - sned: purchase\n",
			`x.yaml:5: step 1: no action (keys: sned) (did you mean "send"?)`},
		{"two actions", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    wait: 1s\n",
			"x.yaml:6: step 1: one action per step: send and wait"},
		{"bad kind", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchace\n",
			`x.yaml:5: step 1 (send): send: unknown transaction "purchace"`},
		{"unknown step key", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    amont: \"1.00\"\n",
			`x.yaml:6: step 1 (send): unknown key "amont" (did you mean "amount"?)`},
		{"bad amount", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    amount: \"1.234\"\n",
			`x.yaml:6: step 1 (send): amount: amount "1.234": at most two decimals`},
		{"unknown terminal", "name: t\ndescription: d\nterminals: [{id: T1}]\nsteps:\n  - send: purchase\n    terminal: T9\n",
			`x.yaml:6: step 1 (send): terminal: no terminal "T9" (terminals: T1)`},
		{"bad outcome", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    expect: {outcome: aproved}\n",
			`x.yaml:6: expect: outcome: "aproved": want one of approved`},
		{"unknown expect key", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    expect: {rc: \"00\", latency: 1s}\n",
			`x.yaml:6: expect: unknown key "latency"`},
		{"bad fault", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - add_fault: {type: dorp}\n",
			`x.yaml:5: unknown fault type "dorp" (did you mean "drop"?`},
		{"bad fault attr", "name: t\ndescription: d\nhost:\n  faults:\n    - {type: delay, delay: soon}\nterminals: [{}]\nsteps: [{send: purchase}]\n",
			`x.yaml:5: delay=soon: not a duration`},
		{"bad host rule", "name: t\ndescription: d\nhost:\n  rules:\n    rules:\n      - match: {pan: \"4000\"}\n        respond: {rc: \"00\"}\nterminals: [{}]\nsteps: [{send: purchase}]\n",
			`x.yaml:6: rule 1: match: pan "4000": want a full PAN`},
		{"unknown host rule key", "name: t\ndescription: d\nhost:\n  rules:\n    rules:\n      - match: {pan: \"4000000000000002\"}\n        respnd: {rc: \"00\"}\nterminals: [{}]\nsteps: [{send: purchase}]\n",
			`x.yaml:7: rule 1: unknown key "respnd"`},
		{"remove unknown fault", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - remove_fault: lost\n",
			`x.yaml:5: step 1 (remove_fault): remove_fault: no fault named "lost"`},
		{"await not async", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    id: a\n  - await: a\n",
			`x.yaml:7: step 2 (await): await: step "a" is not async`},
		{"async without id", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    async: true\n",
			`x.yaml:6: step 1 (send): an async send needs an id`},
		{"duplicate key", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - send: purchase\n    amount: \"1.00\"\n    amount: \"2.00\"\n",
			`x.yaml:7: step 1 (send): key "amount" given twice (first at line 6)`},
		{"reversal of non-financial", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - echo: T1\n    id: e\nexpect:\n  - reversal: e\n",
			`x.yaml:8: expectation 1 (reversal): reversal: step "e" is not a financial send`},
		{"unknown expectation", "name: t\ndescription: d\nterminals: [{}]\nsteps: [{send: purchase}]\nexpect:\n  - reversl: x\n",
			`x.yaml:6: expectation 1: unknown kind "reversl" (did you mean "reversal"?)`},
		{"bad count", "name: t\ndescription: d\nterminals: [{}]\nsteps: [{send: purchase}]\nexpect:\n  - host_ledger: {approved: many}\n",
			`x.yaml:6: host_ledger: approved: count "many"`},
		{"bad ledger key", "name: t\ndescription: d\nterminals: [{}]\nsteps: [{send: purchase}]\nexpect:\n  - host_ledger: {aproved: 1}\n",
			`x.yaml:6: host_ledger: unknown key "aproved" (did you mean "approved"?)`},
		{"echo_idle without loop", "name: t\ndescription: d\nterminals:\n  - id: T1\n    echo_idle: 1s\nsteps: [{send: purchase}]\n",
			`x.yaml:5: terminal 1: echo_idle: the echo test runs in the terminal's loop`},
		{"second document", minimal + "---\nname: u\n", "x.yaml:6: a scenario file holds one YAML document"},
		{"yaml syntax", "name: t\ndescription: [d\n", "x.yaml:"},
		{"at goes backwards", "name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - wait: 1s\n    at: 2s\n  - wait: 1s\n    at: 1s\n",
			"x.yaml:8: step 2 (wait): at 1s is earlier than the at 2s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("x.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("no error for:\n%s", c.yaml)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\n does not contain %q", err, c.want)
			}
		})
	}
}

func TestParseCount(t *testing.T) {
	for s, want := range map[string]Count{"3": {3, 3}, "1..3": {1, 3}, "1..": {1, -1}, "..2": {0, 2}, ">=1": {1, -1}, "<=2": {0, 2}, ">0": {1, -1}} {
		c, err := ParseCount(s)
		if err != nil || c != want {
			t.Errorf("%q: %v %v", s, c, err)
		}
	}
	for _, s := range []string{"", "x", "3..1", "..", "-1"} {
		if _, err := ParseCount(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

// The template written by possim scenarios new is valid as written.
func TestTemplateLoads(t *testing.T) {
	if _, err := Load("new.yaml", []byte(Template("my-scenario"))); err != nil {
		t.Fatal(err)
	}
}
