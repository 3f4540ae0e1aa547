package scenarios

import (
	"context"
	"strings"
	"testing"
)

// readmeExample is the hand-written scenario of the README's "Scenarios"
// section, character for character: it must run, and pass, first time.
const readmeExample = `name: lost-approval
description: |
  The host approves but its answer is lost on the way back: the terminal
  times out and reverses, so nobody is charged.
terminals:
  - id: T1
    timeout: 500ms
steps:
  - send: purchase
    amount: "12.34"
    expect: {outcome: approved, rc: "00"}
  - add_fault: {type: drop, mti: "0210", count: 1}
  - send: purchase
    id: buy
    amount: "20.00"
    expect: {outcome: timeout_reversed}
expect:
  - reversal: buy
    within: 1s
    acked: true
  - host_ledger: {approved: 2, reversed: 1}
  - accounts_agree: true
`

func TestReadmeExampleRuns(t *testing.T) {
	t.Parallel()
	sc := load(t, readmeExample)
	rep := Run(context.Background(), sc, Options{})
	var b strings.Builder
	_ = rep.WriteText(&b)
	if !rep.OK() {
		t.Fatalf("the README example fails:\n%s", b.String())
	}
	if len(rep.Results) != 5 {
		t.Fatalf("%d expectations checked", len(rep.Results))
	}
}

// The template of possim scenarios new runs and passes as written.
func TestTemplateRuns(t *testing.T) {
	t.Parallel()
	sc := load(t, Template("from-template"))
	rep := Run(context.Background(), sc, Options{})
	if !rep.OK() {
		var b strings.Builder
		_ = rep.WriteText(&b)
		t.Fatalf("the template fails:\n%s", b.String())
	}
}
