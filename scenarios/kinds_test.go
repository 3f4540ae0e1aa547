package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The kinds keep the order every message lists them in.
func TestKindsInTheirOrder(t *testing.T) {
	wantSteps := "send, sign_on, echo, connect, wait, wait_for, await, add_fault, remove_fault, drop_link, restart_host, set_rules, rotate_keys, note"
	if got := strings.Join(kindNames(steps.names[:14]), ", "); got != wantSteps {
		t.Errorf("step kinds: %s\nwant %s", got, wantSteps)
	}
	wantExpect := "reversal, sign_on, echo, link_down, event, host_log, fault_fired, host_ledger, terminal_outcomes, accounts_agree, no_duplicate_charge, pending_reversals"
	if got := strings.Join(kindNames(expects.names[:12]), ", "); got != wantExpect {
		t.Errorf("expectation kinds: %s\nwant %s", got, wantExpect)
	}
}

// A step kind and an expectation kind are each one registration: these
// two, registered by this test file alone, load, run and check.
const actTestMark Action = "test_mark"

type testMarkStep struct{ label string }

func (sp *testMarkStep) run(_ context.Context, rn *runner, _ *Step) {
	rn.rec.add(Event{Side: "host", Kind: EvLog, Detail: "mark " + sp.label})
}
func (sp *testMarkStep) describe(*Step) string { return "mark " + sp.label }

type testMarkExpect struct{ label string }

func (x *testMarkExpect) subject() string { return " " + x.label }
func (x *testMarkExpect) check(v *view) Result {
	n := len(v.filter(func(e *Event) bool { return e.Kind == EvLog && e.Detail == "mark "+x.label }))
	return v.counted(fmt.Sprintf("mark %s seen", x.label), n, Count{1, 1}, "no mark")
}

func init() {
	registerStep(&stepKind{name: actTestMark, rank: 100, decode: func(c *stepDec) (StepSpec, error) {
		return &testMarkStep{label: c.o.required(c.act())}, nil
	}})
	registerExpect(&expectKind{name: "test_marked", rank: 100, decode: func(c *expectDec) (ExpectSpec, error) {
		return &testMarkExpect{label: c.o.required(c.k)}, nil
	}})
}

func TestOneFileAddsAKind(t *testing.T) {
	sc, err := Load("x.yaml", []byte("name: t\ndescription: d\nterminals: [{}]\nsteps:\n  - test_mark: here\nexpect:\n  - test_marked: here\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Steps[0].Describe() != "mark here" || sc.Expect[0].Summary() != "test marked here" {
		t.Fatalf("%q %q", sc.Steps[0].Describe(), sc.Expect[0].Summary())
	}
	rep := Run(context.Background(), sc, Options{})
	i := slices.IndexFunc(rep.Results, func(r Result) bool { return r.Name == "mark here seen" })
	if !rep.Passed || i < 0 {
		t.Fatalf("%+v", rep.Results)
	}
}
