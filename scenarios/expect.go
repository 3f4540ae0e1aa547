package scenarios

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/terminal"
)

// Result is one expectation checked: what was expected, whether it was
// met, and the evidence when it was not.
type Result struct {
	Name     string `json:"name"`
	Pos      string `json:"pos"` // file:line of the expectation
	OK       bool   `json:"ok"`
	Evidence string `json:"evidence,omitempty"`
	Step     int    `json:"step,omitempty"` // 0 for the end expectations
	// Diagnosis is, for an expectation not met, the cause the terminal
	// named for the transaction it looked at, with its fix: what to do
	// about the failure, not only that it happened.
	Diagnosis *diagnose.FindingJSON `json:"diagnosis,omitempty"`
	order     int
}

// lastDiagnosis is, for an end expectation not met, the cause of the last
// transaction that did not simply succeed: what the terminal saw go wrong
// last is the likeliest reason for what the scenario expected to differ.
func lastDiagnosis(outs []OutcomeRec) *diagnose.FindingJSON {
	for i := len(outs) - 1; i >= 0; i-- {
		if d := outs[i].Diagnosis; d != nil {
			return d
		}
	}
	return nil
}

// diagnosisOf is the catalogue's view of an outcome's cause (nil: the
// transaction simply succeeded, or named nothing the catalogue knows).
func diagnosisOf(o *OutcomeRec) *diagnose.FindingJSON {
	if o == nil || o.Outcome.Cause.Cause == "" {
		return nil
	}
	if _, ok := diagnose.Lookup(o.Outcome.Cause.Cause); !ok {
		return nil
	}
	j := o.Outcome.Cause.JSON()
	return &j
}

// checklist gathers what a check wants and what it found amiss.
type checklist struct{ want, bad []string }

func (c *checklist) wants(w string)               { c.want = append(c.want, w) }
func (c *checklist) miss(format string, a ...any) { c.bad = append(c.bad, fmt.Sprintf(format, a...)) }
func (c *checklist) missIf(b bool, f string, a ...any) {
	if b {
		c.miss(f, a...)
	}
}

// checkOutcome checks a step's expectations on its transaction's outcome.
func checkOutcome(st *Step, e *StepExpect, o *OutcomeRec) Result {
	r := Result{Pos: e.Pos, Step: st.Index, order: st.Index}
	var c checklist
	c.outcomeClass(e, o)
	c.outcomeRC(e, o)
	c.outcomeCause(e, o)
	c.outcomeLatency(e, o)
	if e.Why != "" {
		c.wants(fmt.Sprintf("why %q", e.Why))
		c.missIf(!strings.Contains(o.Why, e.Why), "why does not contain %q: %q", e.Why, o.Why)
	}
	if e.Reversal != nil {
		c.outcomeReversal(e.Reversal, o.Reversal)
	}
	r.Name = fmt.Sprintf("%s: %s", st.label(), st.Describe())
	if aw, ok := st.Spec.(*AwaitStep); ok {
		r.Name = fmt.Sprintf("%s: outcome of %s (%s on %s)", st.label(), aw.Step, o.Kind, o.Terminal)
	}
	if len(c.want) > 0 {
		r.Name += " → " + strings.Join(c.want, ", ")
	}
	r.OK = len(c.bad) == 0
	if !r.OK {
		c.bad = append(c.bad, "outcome was: "+outcomeText(o))
		r.Evidence = dedupe(c.bad)
		r.Diagnosis = diagnosisOf(o)
	}
	return r
}

func (c *checklist) outcomeClass(e *StepExpect, o *OutcomeRec) {
	if len(e.Outcome) == 0 {
		return
	}
	w := joinClasses(e.Outcome)
	c.wants(w)
	ok := false
	for _, cl := range e.Outcome {
		ok = ok || cl == o.Class
	}
	c.missIf(!ok, "outcome: want %s, got %s", w, o.Class)
}

func (c *checklist) outcomeRC(e *StepExpect, o *OutcomeRec) {
	if len(e.RC) == 0 {
		return
	}
	w := "rc " + strings.Join(e.RC, "|")
	if len(e.RC) == 1 {
		w += " (" + iso.RCMeaning(e.RC[0]) + ")"
	}
	c.wants(w)
	if contains(e.RC, o.RC) {
		return
	}
	got := o.RC
	if got == "" {
		got = "none (no answer)"
	} else {
		got += " (" + o.RCMeaning + ")"
	}
	c.miss("rc: want %s, got %s", strings.Join(e.RC, "|"), got)
}

func (c *checklist) outcomeCause(e *StepExpect, o *OutcomeRec) {
	if len(e.Cause) == 0 {
		return
	}
	ids := make([]string, len(e.Cause))
	ok := false
	for i, id := range e.Cause {
		ids[i] = string(id)
		ok = ok || id == o.Cause
	}
	c.wants("cause " + strings.Join(ids, "|"))
	if !ok {
		got := string(o.Cause)
		if got == "" {
			got = "none"
		}
		c.miss("cause: want %s, got %s", strings.Join(ids, "|"), got)
	}
}

func (c *checklist) outcomeLatency(e *StepExpect, o *OutcomeRec) {
	if e.LatencyMin > 0 {
		c.wants("latency ≥ " + e.LatencyMin.String())
		c.missIf(o.Latency < e.LatencyMin, "latency %s is under %s", o.Latency.Round(time.Millisecond), e.LatencyMin)
	}
	if e.LatencyMax > 0 {
		c.wants("latency ≤ " + e.LatencyMax.String())
		c.missIf(o.Latency > e.LatencyMax, "latency %s is over %s", o.Latency.Round(time.Millisecond), e.LatencyMax)
	}
}

func (c *checklist) outcomeReversal(re *ReversalExpect, rv *terminal.ReversalResult) {
	var w []string
	if re.Acked != nil {
		w = append(w, yesNo(*re.Acked, "acknowledged", "not acknowledged"))
		c.missIf(rv == nil || rv.Acked != *re.Acked, "reversal: %s", reversalText(rv))
	}
	if re.Pending != nil {
		w = append(w, yesNo(*re.Pending, "stored to send again", "not stored"))
		c.missIf(rv == nil && *re.Pending || rv != nil && rv.Pending != *re.Pending, "reversal: %s", reversalText(rv))
	}
	if re.Attempts != nil {
		w = append(w, fmt.Sprintf("%s attempt(s)", re.Attempts))
		n := 0
		if rv != nil {
			n = rv.Attempts
		}
		c.missIf(!re.Attempts.Has(n), "reversal attempts: want %s, got %d", re.Attempts, n)
	}
	c.wants("reversal " + strings.Join(w, ", "))
}

func dedupe(parts []string) string {
	seen := map[string]bool{}
	var out []string
	for _, p := range parts {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

func yesNo(b bool, y, n string) string {
	if b {
		return y
	}
	return n
}

func joinClasses(cs []terminal.Class) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, "|")
}

func reversalText(r *terminal.ReversalResult) string {
	if r == nil {
		return "none was made"
	}
	s := fmt.Sprintf("stan %s, %d sent, acknowledged %v, pending %v", r.STAN, r.Attempts, r.Acked, r.Pending)
	if r.Why != "" {
		s += " (" + r.Why + ")"
	}
	return s
}

// view is the end-of-run record the end expectations read.
type view struct {
	rn     *runner
	rep    *Report
	events []Event
	stans  map[string]string
}

func (rn *runner) checkEnd(rep *Report) {
	// The end expectations read what happened up to the end of the steps:
	// the shutdown that follows (links closed locally) is not part of it.
	var evs []Event
	for _, e := range rep.Events {
		if rn.endAt.IsZero() || e.Time.Before(rn.endAt) {
			evs = append(evs, e)
		}
	}
	v := &view{rn: rn, rep: rep, events: evs, stans: copyMap(rn.stans)}
	for i := range rn.sc.Expect {
		e := &rn.sc.Expect[i]
		r := Result{Name: string(e.Kind), Evidence: "unknown expectation"}
		if e.Spec != nil {
			r = e.Spec.check(v)
		}
		r.Pos = e.Pos
		if !r.OK && r.Diagnosis == nil {
			r.Diagnosis = lastDiagnosis(rn.outcomes)
		}
		r.order = 1_000_000 + i
		rn.results = append(rn.results, r)
	}
	sort.SliceStable(rn.results, func(i, j int) bool { return rn.results[i].order < rn.results[j].order })
}

func (v *view) at(t time.Time) string {
	return fmt.Sprintf("+%.3fs", t.Sub(v.rn.rec.start).Seconds())
}

func (v *view) outcomeOf(stepID string) *OutcomeRec {
	st := v.rn.sc.step(stepID)
	if st == nil {
		return nil
	}
	for i := range v.rn.outcomes {
		if v.rn.outcomes[i].Step == st.Index {
			return &v.rn.outcomes[i]
		}
	}
	return nil
}

func (v *view) filter(f func(*Event) bool) []*Event {
	var out []*Event
	for i := range v.events {
		if f(&v.events[i]) {
			out = append(out, &v.events[i])
		}
	}
	return out
}

func (v *view) list(es []*Event, max int) string {
	if len(es) == 0 {
		return "none"
	}
	var parts []string
	for i, e := range es {
		if i == max {
			parts = append(parts, fmt.Sprintf("… %d more", len(es)-max))
			break
		}
		s := v.at(e.Time) + " " + e.MTI
		if e.STAN != "" {
			s += " stan=" + e.STAN
		}
		if e.RC != "" {
			s += " rc=" + e.RC
		}
		if e.Kind != EvSent && e.Kind != EvReceived {
			s = v.at(e.Time) + " " + strings.TrimSpace(e.Summary+" "+e.Detail)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func (v *view) stepAt(id string) time.Time {
	st := v.rn.sc.step(id)
	for _, e := range v.events {
		if (e.Kind == EvStep || e.Kind == EvNote) && e.Step == st.Index {
			return e.Time
		}
	}
	return time.Time{}
}

func tail(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func (v *view) counted(name string, n int, c Count, evidence string) Result {
	r := Result{Name: name, OK: c.Has(n)}
	if !r.OK {
		r.Evidence = fmt.Sprintf("counted %d, want %s; %s", n, c, evidence)
	}
	return r
}

// idleSlack absorbs the gap between the terminal stamping its last traffic
// and the link stamping the message event.
const idleSlack = 5 * time.Millisecond

func isFinancialRequest(mti string) bool {
	return iso.IsRequest(mti) && (iso.Class(mti) == '1' || iso.Class(mti) == '2')
}

// netExpect is a sign-on or echo expectation, as network checks it.
type netExpect struct {
	of, after string
	within    time.Duration // sign-on: the first sent within this of the after step
	idle      time.Duration // echo: each after at least this long without traffic
	answered  *bool
	count     Count
	code      string // NMIC: 001 sign-on, 301 echo
	what      string // "sign-on", "echo test"
}

func (n netExpect) name(v *view) string {
	name := fmt.Sprintf("%s sends %s %s(s)", n.of, n.count, n.what)
	if n.after != "" {
		name += " after " + v.rn.sc.step(n.after).label()
		if n.within > 0 {
			name += " within " + n.within.String()
		}
	}
	if n.answered != nil {
		name += yesNo(*n.answered, ", answered", ", left unanswered")
	}
	if n.idle > 0 {
		name += fmt.Sprintf(", each after at least %s without traffic", n.idle)
	}
	return name
}

// lastTraffic is the time of side's last message before t (zero: none).
func (v *view) lastTraffic(side string, t time.Time) time.Time {
	var last time.Time
	for _, y := range v.events {
		if !y.Time.Before(t) {
			break
		}
		if y.Side == side && (y.Kind == EvSent || y.Kind == EvReceived) {
			last = y.Time
		}
	}
	return last
}

// networkSent are the 0800s of n sent from from on; notIdle describes
// those left out for not following the idle time.
func (v *view) networkSent(n netExpect, from time.Time) (sent []*Event, notIdle []string) {
	sent = v.filter(func(x *Event) bool {
		if x.Side != n.of || x.Kind != EvSent || x.MTI != "0800" || x.NMIC != n.code || x.Time.Before(from) {
			return false
		}
		if n.idle <= 0 {
			return true
		}
		last := v.lastTraffic(n.of, x.Time)
		if !last.IsZero() && x.Time.Sub(last) < n.idle-idleSlack {
			notIdle = append(notIdle, fmt.Sprintf("%s stan=%s after %s idle", v.at(x.Time), x.STAN, x.Time.Sub(last).Round(time.Millisecond)))
			return false
		}
		return true
	})
	return sent, notIdle
}

// answeredCount counts the 0800s of sent that side had an approved 0810 to.
func (v *view) answeredCount(side string, sent []*Event) int {
	answered := 0
	for _, s := range sent {
		for _, x := range v.events {
			if x.Side == side && x.Kind == EvReceived && x.MTI == "0810" && x.STAN == s.STAN && x.RC == "00" && !x.Time.Before(s.Time) {
				answered++
				break
			}
		}
	}
	return answered
}

// network checks sign-ons and echo tests.
func (v *view) network(n netExpect) Result {
	var from time.Time
	if n.after != "" {
		from = v.stepAt(n.after)
	}
	sent, notIdle := v.networkSent(n, from)
	answered := v.answeredCount(n.of, sent)
	all := v.filter(func(x *Event) bool { return x.Side == n.of && x.Kind == EvSent && x.MTI == "0800" && x.NMIC == n.code })
	evidence := fmt.Sprintf("%ss sent by %s: %s; %d answered", n.what, n.of, v.list(all, 8), answered)
	if !from.IsZero() {
		evidence += fmt.Sprintf(" (counting from %s)", v.at(from))
	}
	if len(notIdle) > 0 {
		evidence += "; sent without the idle time: " + strings.Join(notIdle, ", ")
	}
	r := v.counted(n.name(v), len(sent), n.count, evidence)
	if n.within > 0 && len(sent) > 0 && sent[0].Time.Sub(from) > n.within {
		r.OK = false
		r.Evidence = fmt.Sprintf("the first %s after %s left %s later, more than %s; %s", n.what, v.at(from), sent[0].Time.Sub(from).Round(time.Millisecond), n.within, evidence)
	}
	if n.answered != nil && r.OK {
		if *n.answered && answered == 0 {
			r.OK, r.Evidence = false, "none was answered; "+evidence
		}
		if !*n.answered && answered > 0 {
			r.OK, r.Evidence = false, fmt.Sprintf("%d answered; %s", answered, evidence)
		}
	}
	return r
}

func ledgerText(c host.Counts) string {
	return fmt.Sprintf("approved %d, declined %d, reversed %d, reversals received %d (duplicates %d, without original %d, of declined %d)",
		c.Approved, c.Declined, c.Reversed, c.ReversalsReceived, c.DuplicateReversals, c.ReversalsWithoutOriginal, c.ReversalsOfDeclined)
}

// moneyTx are the outcomes of transactions the host keeps an account of
// (authorizations and financial requests: everything but network
// management).
func (v *view) moneyTx() []*OutcomeRec {
	var out []*OutcomeRec
	for i := range v.rn.outcomes {
		o := &v.rn.outcomes[i]
		switch o.Kind {
		case terminal.Echo, terminal.SignOn, terminal.SignOff:
			continue
		}
		out = append(out, o)
	}
	return out
}
