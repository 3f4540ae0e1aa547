package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/possim/possim/host"
)

func load(t *testing.T, text string) *Scenario {
	t.Helper()
	sc, err := Load("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// Two reports: one passing, one failing on purpose.
func twoReports(t *testing.T) []*Report {
	t.Helper()
	ok, err := Library("card-declined")
	if err != nil {
		t.Fatal(err)
	}
	approveAll, _ := host.ParseRules("approve-all", []byte(`default: {rc: "00"}`))
	good := Run(context.Background(), ok, Options{})
	bad := Run(context.Background(), ok, Options{ModifyHost: func(c *host.Config) { c.Rules = approveAll }})
	if !good.OK() || bad.OK() {
		t.Fatalf("want one pass and one fail: %v %v", good.OK(), bad.OK())
	}
	return []*Report{good, bad}
}

// The JUnit output is valid XML that CI tools read: one testsuite per
// scenario, one testcase per expectation, failures with the evidence.
func TestJUnitIsValid(t *testing.T) {
	t.Parallel()
	reports := twoReports(t)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, reports); err != nil {
		t.Fatal(err)
	}
	// Well-formed: a full token walk with the standard decoder.
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, buf.String())
		}
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Time     string `xml:"time,attr"`
			Props    []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
			SystemOut string `xml:"system-out"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("%d suites", len(doc.Suites))
	}
	total, failures := 0, 0
	for i, s := range doc.Suites {
		r := reports[i]
		if s.Name != r.Scenario || s.Tests != len(r.Results) || s.Tests != len(s.Cases) || s.Failures != r.Failed() || s.Errors != 0 {
			t.Errorf("suite %d: %+v", i, s)
		}
		if _, err := strconv.ParseFloat(s.Time, 64); err != nil {
			t.Errorf("suite time %q", s.Time)
		}
		if len(s.Props) == 0 || s.Props[0].Name != "seed" || s.Props[0].Value != fmt.Sprint(r.Seed) {
			t.Errorf("properties %+v", s.Props)
		}
		if !strings.Contains(s.SystemOut, "Expectations") {
			t.Error("system-out has no ladder")
		}
		n := 0
		for j, c := range s.Cases {
			if c.Name != r.Results[j].Name || c.Classname == "" {
				t.Errorf("case %d: %+v", j, c)
			}
			if (c.Failure != nil) == r.Results[j].OK {
				t.Errorf("case %q: failure %v, ok %v", c.Name, c.Failure, r.Results[j].OK)
			}
			if c.Failure != nil {
				n++
				if c.Failure.Text != r.Results[j].Evidence || c.Failure.Message == "" {
					t.Errorf("failure %+v", c.Failure)
				}
			}
		}
		if n != s.Failures {
			t.Errorf("suite %s: %d failures counted, attribute says %d", s.Name, n, s.Failures)
		}
		total += s.Tests
		failures += s.Failures
	}
	if doc.Tests != total || doc.Failures != failures || failures == 0 {
		t.Errorf("totals %d/%d, want %d/%d", doc.Tests, doc.Failures, total, failures)
	}
	if !strings.Contains(buf.String(), "rc: want 51, got 00 (approved)") {
		t.Error("the evidence is not in the failure text")
	}
}

func TestJSONReport(t *testing.T) {
	t.Parallel()
	reports := twoReports(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, reports); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Passed    bool `json:"passed"`
		Scenarios []struct {
			Scenario     string `json:"scenario"`
			Seed         uint64 `json:"seed"`
			Passed       bool   `json:"passed"`
			Expectations []struct {
				Name     string `json:"name"`
				OK       bool   `json:"ok"`
				Evidence string `json:"evidence"`
			} `json:"expectations"`
			Events []map[string]any `json:"events"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Passed || len(doc.Scenarios) != 2 || !doc.Scenarios[0].Passed || doc.Scenarios[1].Passed || len(doc.Scenarios[0].Events) == 0 {
		t.Fatalf("%+v", doc)
	}
}

// Reports never print a full PAN.
func TestReportsMaskPANs(t *testing.T) {
	t.Parallel()
	reports := twoReports(t)
	var text, js, ju bytes.Buffer
	for _, r := range reports {
		_ = r.WriteText(&text)
	}
	_ = WriteJSON(&js, reports)
	_ = WriteJUnit(&ju, reports)
	for _, pan := range []string{"4000000000000002", "4000000000000069", "4761739001010010"} {
		for name, b := range map[string]*bytes.Buffer{"text": &text, "json": &js, "junit": &ju} {
			if strings.Contains(b.String(), pan) {
				t.Errorf("%s report prints the full PAN %s", name, pan)
			}
		}
	}
	if !strings.Contains(text.String(), "400000******0002") {
		t.Error("the masked PAN is missing from the ladder")
	}
}

const coinFlips = `name: coin-flips
description: every answer is replaced by 05 with probability 0.5, from the seed
host:
  faults:
    - {type: rc, mti: "0210", rc: "05", p: 0.5, name: coin}
terminals: [{id: T1}]
steps:
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
  - {send: purchase}
`

// Same seed → same sequence of decisions (and so of outcomes).
func TestSameSeedSameDecisions(t *testing.T) {
	t.Parallel()
	sc := load(t, coinFlips)
	run := func(seed uint64) ([]Decision, []string) {
		rep := Run(context.Background(), sc, Options{Seed: seed})
		if rep.Seed != seed {
			t.Fatalf("seed %d reported as %d", seed, rep.Seed)
		}
		var rcs []string
		for _, o := range rep.Outcomes {
			rcs = append(rcs, o.STAN+":"+o.RC)
		}
		return rep.Decisions, rcs
	}
	d1, o1 := run(42)
	d2, o2 := run(42)
	if !reflect.DeepEqual(d1, d2) || !reflect.DeepEqual(o1, o2) {
		t.Fatalf("seed 42 twice:\n%v\n%v\n%v\n%v", d1, d2, o1, o2)
	}
	if len(d1) == 0 || len(d1) == 12 {
		t.Fatalf("seed 42: %d of 12 fired: not a coin", len(d1))
	}
	d3, o3 := run(7)
	if reflect.DeepEqual(d1, d3) || reflect.DeepEqual(o1, o3) {
		t.Fatalf("seeds 42 and 7 gave the same decisions: %v", d1)
	}
}

// A failed expectation says the cause the terminal named and its fix, in
// the text report and in JSON; so does each transaction that failed.
func TestFailedExpectationNamesCauseAndFix(t *testing.T) {
	t.Parallel()
	sc := load(t, `name: wants-approval
description: the host drops the answer, the scenario wants an approval
terminals:
  - id: T1
steps:
  - add_fault: {type: drop, mti: "0210", count: 1, name: lost-0210}
  - send: purchase
    amount: "30.00"
    expect: {outcome: approved}
expect:
  - host_ledger: {approved: 1, reversed: 0}
`)
	rep := Run(context.Background(), sc, Options{})
	if rep.OK() {
		t.Fatal("the scenario should fail: its answer was dropped")
	}
	var step, end *Result
	for i := range rep.Results {
		switch r := &rep.Results[i]; {
		case r.Step > 0 && !r.OK:
			step = r
		case r.Step == 0 && !r.OK:
			end = r
		}
	}
	if step == nil || step.Diagnosis == nil || step.Diagnosis.Cause == "" || step.Diagnosis.Fix == "" {
		t.Fatalf("the failed step expectation has no cause and fix: %+v", step)
	}
	if end == nil || end.Diagnosis == nil || end.Diagnosis.Cause != step.Diagnosis.Cause {
		t.Fatalf("the failed end expectation should carry the last failed transaction's cause: %+v", end)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cause: " + string(step.Diagnosis.Cause), "fix: " + step.Diagnosis.Fix, "Transactions that did not simply succeed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"diagnosis"`) || !strings.Contains(js.String(), `"fix"`) {
		t.Errorf("the JSON report lacks the diagnosis:\n%s", js.String())
	}
}
