package scenarios

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The scenario language is a set of registered kinds, the shape
// internal/fault uses for its fault types: each step kind (step_*.go) and
// each expectation kind (expect_*.go) is one file that registers itself in
// init with its keys, its decoder, and a type that runs (or checks) and
// describes it. Adding a kind is adding a file.

// StepSpec is what a step of one kind holds, and how it runs and reads.
// The concrete types (SendStep, WaitStep, AddFaultStep, …) are in the
// step_*.go files.
type StepSpec interface {
	// run plays the step; its results go to rn.
	run(ctx context.Context, rn *runner, st *Step)
	// describe is the step on one line (Step.Describe).
	describe(st *Step) string
}

// stepKind is a registered step kind.
type stepKind struct {
	name Action
	rank int      // its place in lists and error messages
	keys []string // the keys it takes besides itself, id and at
	// decode reads the step's own keys; st holds Index, ID, At and Pos
	// already, and decode may set Terminal and Tx.
	// A kind with "expect" in its keys reads it too (outcomeExpect for a
	// transaction's outcome).
	decode func(c *stepDec) (StepSpec, error)
}

// kindSet is the registered kinds of one sort (steps, expectations) by
// name, and their names in rank order (how lists and errors show them).
type kindSet[N ~string, K any] struct {
	what  string // "step kind"
	m     map[N]K
	names []N
	rank  func(K) int
}

func (ks *kindSet[N, K]) register(name N, k K) {
	if _, dup := ks.m[name]; dup {
		panic("scenarios: " + ks.what + " registered twice: " + string(name))
	}
	ks.m[name] = k
	ks.names = append(ks.names, name)
	sort.SliceStable(ks.names, func(i, j int) bool { return ks.rank(ks.m[ks.names[i]]) < ks.rank(ks.m[ks.names[j]]) })
}

var steps = kindSet[Action, *stepKind]{what: "step kind", m: map[Action]*stepKind{}, rank: func(k *stepKind) int { return k.rank }}

func registerStep(k *stepKind) { steps.register(k.name, k) }

// stepDec is what a step kind's decoder reads and checks against.
type stepDec struct {
	d          *dec
	sc         *Scenario
	o          *obj
	st         *Step
	what       string          // "step 3 (send)"
	ids        map[string]int  // step id → index, for the steps so far
	earlier    []Step          // the steps before this one
	faultNames map[string]bool // faults named so far (config and add_fault)
}

// act is the key of the step's action ("send").
func (c *stepDec) act() string { return string(c.st.Action) }

// val is the value of the action key.
func (c *stepDec) val() *yaml.Node { return c.o.val(c.act()) }

// outcomeExpect reads the step's expect: on its transaction's outcome
// into st.Expect, once the step's own keys read well.
func (c *stepDec) outcomeExpect() error {
	if c.o.err != nil || !c.o.has("expect") {
		return nil
	}
	e, err := stepOutcomeExpect(c.d, c.o.val("expect"), c.o.key("expect"))
	c.st.Expect = e
	return err
}

// termRef checks a reference to a terminal under key k; "" is the first
// terminal.
func (c *stepDec) termRef(k, v string) string {
	if v == "" {
		return c.sc.Terminals[0].ID
	}
	if c.sc.terminal(v) == nil && c.o.err == nil {
		c.o.fail(k, "no terminal %q (terminals: %s)", v, c.sc.terminalIDs())
	}
	return v
}

// ExpectSpec is what an end expectation of one kind holds, and how it is
// checked. The concrete types (ReversalExpectation, EventExpectation, …)
// are in the expect_*.go files.
type ExpectSpec interface {
	// check reads the end-of-run record.
	check(v *view) Result
	// subject is what Expectation.Summary adds to the kind's name
	// (" of T1", ": approved, declined"), or "".
	subject() string
}

// expectKind is a registered expectation kind.
type expectKind struct {
	name   ExpectKind
	rank   int      // its place in lists and error messages
	keys   []string // the keys it takes besides itself
	decode func(c *expectDec) (ExpectSpec, error)
}

var expects = kindSet[ExpectKind, *expectKind]{what: "expectation kind", m: map[ExpectKind]*expectKind{}, rank: func(k *expectKind) int { return k.rank }}

func registerExpect(k *expectKind) { expects.register(k.name, k) }

// expectDec is what an expectation kind's decoder reads and checks
// against.
type expectDec struct {
	d   *dec
	sc  *Scenario
	o   *obj
	k   string         // the kind's key
	ids map[string]int // step id → index
}

// val is the value of the kind's key.
func (c *expectDec) val() *yaml.Node { return c.o.val(c.k) }

// terminal checks a reference to a terminal given under the kind's key;
// "" is the first terminal.
func (c *expectDec) terminal(v string) string {
	if v == "" {
		return c.sc.Terminals[0].ID
	}
	if c.sc.terminal(v) == nil && c.o.err == nil {
		c.o.fail(c.k, "no terminal %q (terminals: %s)", v, c.sc.terminalIDs())
	}
	return v
}

// stepRef checks a reference to a step id under key.
func (c *expectDec) stepRef(key, v string) {
	if v != "" && c.o.err == nil {
		if _, ok := c.ids[v]; !ok {
			c.o.fail(key, "no step with id %q", v)
		}
	}
}

// count reads count:, def when absent.
func (c *expectDec) count(def Count) *Count {
	if n := c.o.count("count"); n != nil {
		return n
	}
	return &def
}

// atLeastOnce is the count of most expectations when none is given.
var atLeastOnce = Count{1, -1}

// counts reads the kind's mapping of named counts (host_ledger,
// terminal_outcomes).
func (c *expectDec) counts(known []string) (map[string]*Count, error) {
	if c.o.err != nil {
		return nil, c.o.err
	}
	m, err := c.d.mapping(c.val(), c.k, known...)
	if err != nil {
		return nil, err
	}
	out := map[string]*Count{}
	for _, name := range m.order() {
		out[name] = m.count(name)
	}
	if m.err != nil {
		return nil, m.err
	}
	if len(out) == 0 {
		c.o.fail(c.k, "give at least one count (%s)", strings.Join(known, ", "))
	}
	return out, nil
}

// countsSubject lists the names of counts, sorted.
func countsSubject(counts map[string]*Count) string {
	if len(counts) == 0 {
		return ""
	}
	return ": " + strings.Join(sortedKeys(counts), ", ")
}

// Summary is the expectation in a few words: "reversal of buy",
// "host ledger: approved, declined".
func (e *Expectation) Summary() string {
	t := strings.ReplaceAll(string(e.Kind), "_", " ")
	if e.Spec != nil {
		t += e.Spec.subject()
	}
	return t
}

func kindNames[K ~string](ks []K) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func ofSubject(of string) string {
	if of == "" {
		return ""
	}
	return fmt.Sprintf(" of %s", of)
}
