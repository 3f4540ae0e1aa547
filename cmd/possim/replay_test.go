package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/possim/possim/scenarios"
)

func writeScenario(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const passing = `name: quick
description: one approved purchase
terminals: [{id: T1}]
steps:
  - send: purchase
    amount: "1.00"
    expect: {outcome: approved, rc: "00"}
`

const failing = `name: wrong-hope
description: expects a decline the host does not give
terminals: [{id: T1}]
steps:
  - send: purchase
    amount: "1.00"
    expect: {outcome: declined, rc: "51"}
`

const invalid = `name: broken
description: a typo
terminals: [{id: T1}]
steps:
  - send: purchase
    amout: "1.00"
`

// Exit codes: 0 every expectation met, 1 one unmet, 2 invalid scenario or
// usage error.
func TestReplayExitCodes(t *testing.T) {
	good, bad, inv := writeScenario(t, "quick.yaml", passing), writeScenario(t, "wrong.yaml", failing), writeScenario(t, "broken.yaml", invalid)

	code, out, errOut := runCmd("replay", good)
	if code != 0 || !strings.Contains(out, "PASS: 1 of 1") || !strings.Contains(out, "───────▶") {
		t.Fatalf("passing: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd("replay", bad)
	if code != 1 || !strings.Contains(out, "✗") || !strings.Contains(out, "rc: want 51, got 00 (approved)") {
		t.Fatalf("failing: %d\n%s", code, out)
	}
	code, _, errOut = runCmd("replay", inv)
	if code != 2 || !strings.Contains(errOut, "broken.yaml:6:") || !strings.Contains(errOut, `unknown key "amout"`) {
		t.Fatalf("invalid: %d %q", code, errOut)
	}
	// A passing and a failing scenario together: 1.
	if code, _, _ := runCmd("replay", good, bad); code != 1 {
		t.Fatalf("mixed: %d", code)
	}
	for _, args := range [][]string{
		{"replay"},
		{"replay", "no-such-scenario"},
		{"replay", "missing/file.yaml"},
		{"replay", "--output", "xml", good},
		{"replay", "--seed", "x", good},
		{"replay", "--dry-run", inv},
	} {
		if code, _, errOut := runCmd(args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, want 2 (%q)", args, code, errOut)
		}
	}
	code, out, _ = runCmd("replay", "--dry-run", good, "happy-path")
	if code != 0 || !strings.Contains(out, "quick: valid") || !strings.Contains(out, "happy-path: valid") {
		t.Fatalf("dry run: %d %q", code, out)
	}
	if code, out, _ := runCmd("replay", "--help"); code != 0 || !strings.Contains(out, "Usage: possim replay") {
		t.Fatalf("help: %d %q", code, out)
	}
}

// A library scenario by name, in JUnit and JSON.
func TestReplayLibraryOutputs(t *testing.T) {
	code, out, errOut := runCmd("replay", "--output", "junit", "card-declined")
	if code != 0 {
		t.Fatalf("junit: %d %s", code, errOut)
	}
	var suites struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Name != "card-declined" || len(suites.Suites[0].Cases) < 5 {
		t.Fatalf("junit: %v %+v\n%s", err, suites, out)
	}
	code, out, _ = runCmd("replay", "--output", "json", "--seed", "99", writeScenario(t, "wrong.yaml", failing))
	var doc struct {
		Passed    bool `json:"passed"`
		Scenarios []struct {
			Seed uint64 `json:"seed"`
		} `json:"scenarios"`
	}
	if code != 1 || json.Unmarshal([]byte(out), &doc) != nil || doc.Passed || doc.Scenarios[0].Seed != 99 {
		t.Fatalf("json: %d %+v\n%s", code, doc, out)
	}
}

func TestScenariosCommand(t *testing.T) {
	code, out, _ := runCmd("scenarios", "list")
	if code != 0 {
		t.Fatal(code)
	}
	for _, n := range scenarios.LibraryNames() {
		if !strings.Contains(out, n) {
			t.Errorf("list misses %s", n)
		}
	}
	code, out, _ = runCmd("scenarios", "show", "half-open")
	if code != 0 || !strings.Contains(out, "name: half-open") || !strings.Contains(out, "MERCHANT SEES") {
		t.Fatalf("show: %d %q", code, out)
	}
	if code, _, errOut := runCmd("scenarios", "show", "half-opn"); code != 2 || !strings.Contains(errOut, `did you mean "half-open"`) {
		t.Fatalf("show unknown: %d %q", code, errOut)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	if code, out, errOut := runCmd("scenarios", "new", "mine", "--file", file); code != 0 || !strings.Contains(out, "wrote") {
		t.Fatalf("new: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCmd("replay", "--dry-run", file); code != 0 || !strings.Contains(out, "mine: valid") {
		t.Fatalf("the template does not validate: %d %q", code, out)
	}
	if code, _, errOut := runCmd("scenarios", "new", "mine", "--file", file); code != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("new over an existing file: %d %q", code, errOut)
	}
	if code, out, _ := runCmd("scenarios", "new", "mine", "--file", "-"); code != 0 || !strings.HasPrefix(out, "# A possim scenario") {
		t.Fatalf("new to stdout: %d", code)
	}
	for _, args := range [][]string{{"scenarios"}, {"scenarios", "fly"}, {"scenarios", "new", "Bad Name"}, {"scenarios", "show"}} {
		if code, _, _ := runCmd(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// One invalid scenario among valid ones: JUnit and JSON still carry every
// scenario, the invalid one as an error at its file:line, and the exit is 2.
func TestReplayReportsInvalidAmongValid(t *testing.T) {
	good, inv := writeScenario(t, "quick.yaml", passing), writeScenario(t, "broken.yaml", invalid)
	code, out, errOut := runCmd("replay", "--output", "junit", good, inv)
	if code != 2 {
		t.Fatalf("junit: exit %d, want 2\n%s", code, errOut)
	}
	var suites struct {
		Errors int `xml:"errors,attr"`
		Suites []struct {
			Name   string `xml:"name,attr"`
			Errors int    `xml:"errors,attr"`
			Cases  []struct {
				File  string `xml:"file,attr"`
				Error *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &suites); err != nil || len(suites.Suites) != 2 || suites.Errors != 1 {
		t.Fatalf("junit: %v %+v\n%s", err, suites, out)
	}
	bad := suites.Suites[1]
	if bad.Name != "broken" || bad.Errors != 1 || len(bad.Cases) != 1 || bad.Cases[0].Error == nil ||
		!strings.HasSuffix(bad.Cases[0].File, "broken.yaml:6") || !strings.Contains(bad.Cases[0].Error.Text, `unknown key "amout"`) {
		t.Fatalf("invalid suite: %+v\n%s", bad, out)
	}
	if suites.Suites[0].Name != "quick" || suites.Suites[0].Errors != 0 {
		t.Fatalf("valid suite: %+v", suites.Suites[0])
	}
	code, out, _ = runCmd("replay", "--output", "json", good, inv)
	var doc struct {
		Passed    bool              `json:"passed"`
		Scenarios []json.RawMessage `json:"scenarios"`
		Invalid   []struct {
			Pos   string `json:"pos"`
			Error string `json:"error"`
		} `json:"invalid"`
	}
	if code != 2 || json.Unmarshal([]byte(out), &doc) != nil || doc.Passed || len(doc.Scenarios) != 1 ||
		len(doc.Invalid) != 1 || !strings.HasSuffix(doc.Invalid[0].Pos, "broken.yaml:6") {
		t.Fatalf("json: %d %+v\n%s", code, doc, out)
	}
}
