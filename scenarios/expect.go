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

func checkConnect(st *Step, err error) Result {
	e := st.Expect
	r := Result{Pos: e.Pos, Step: st.Index, order: st.Index}
	var want []string
	var bad []string
	if e.Connected != nil {
		if *e.Connected {
			want = append(want, "connects")
		} else {
			want = append(want, "fails to connect")
		}
		if got := err == nil; got != *e.Connected {
			if err == nil {
				bad = append(bad, "it connected")
			} else {
				bad = append(bad, "it did not connect: "+err.Error())
			}
		}
	}
	if e.Why != "" {
		want = append(want, fmt.Sprintf("with %q", e.Why))
		if err == nil || !strings.Contains(err.Error(), e.Why) {
			got := "no error"
			if err != nil {
				got = err.Error()
			}
			bad = append(bad, fmt.Sprintf("the reason does not contain %q: %s", e.Why, got))
		}
	}
	r.Name = fmt.Sprintf("%s: %s %s", st.label(), st.Describe(), strings.Join(want, " "))
	r.OK = len(bad) == 0
	r.Evidence = strings.Join(bad, "; ")
	return r
}

// checkOutcome checks a step's expectations on its transaction's outcome.
func checkOutcome(st *Step, e *StepExpect, o *OutcomeRec) Result {
	r := Result{Pos: e.Pos, Step: st.Index, order: st.Index}
	var want, bad []string
	if len(e.Outcome) > 0 {
		w := joinClasses(e.Outcome)
		want = append(want, w)
		ok := false
		for _, c := range e.Outcome {
			ok = ok || c == o.Class
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("outcome: want %s, got %s", w, o.Class))
		}
	}
	if len(e.RC) > 0 {
		w := "rc " + strings.Join(e.RC, "|")
		if len(e.RC) == 1 {
			w += " (" + iso.RCMeaning(e.RC[0]) + ")"
		}
		want = append(want, w)
		if !contains(e.RC, o.RC) {
			got := o.RC
			if got == "" {
				got = "none (no answer)"
			} else {
				got += " (" + o.RCMeaning + ")"
			}
			bad = append(bad, fmt.Sprintf("rc: want %s, got %s", strings.Join(e.RC, "|"), got))
		}
	}
	if len(e.Cause) > 0 {
		ids := make([]string, len(e.Cause))
		ok := false
		for i, c := range e.Cause {
			ids[i] = string(c)
			ok = ok || c == o.Cause
		}
		want = append(want, "cause "+strings.Join(ids, "|"))
		if !ok {
			got := string(o.Cause)
			if got == "" {
				got = "none"
			}
			bad = append(bad, fmt.Sprintf("cause: want %s, got %s", strings.Join(ids, "|"), got))
		}
	}
	if e.LatencyMin > 0 {
		want = append(want, "latency ≥ "+e.LatencyMin.String())
		if o.Latency < e.LatencyMin {
			bad = append(bad, fmt.Sprintf("latency %s is under %s", o.Latency.Round(time.Millisecond), e.LatencyMin))
		}
	}
	if e.LatencyMax > 0 {
		want = append(want, "latency ≤ "+e.LatencyMax.String())
		if o.Latency > e.LatencyMax {
			bad = append(bad, fmt.Sprintf("latency %s is over %s", o.Latency.Round(time.Millisecond), e.LatencyMax))
		}
	}
	if e.Why != "" {
		want = append(want, fmt.Sprintf("why %q", e.Why))
		if !strings.Contains(o.Why, e.Why) {
			bad = append(bad, fmt.Sprintf("why does not contain %q: %q", e.Why, o.Why))
		}
	}
	if re := e.Reversal; re != nil {
		var w []string
		rv := o.Reversal
		if re.Acked != nil {
			w = append(w, yesNo(*re.Acked, "acknowledged", "not acknowledged"))
			if rv == nil || rv.Acked != *re.Acked {
				bad = append(bad, "reversal: "+reversalText(rv))
			}
		}
		if re.Pending != nil {
			w = append(w, yesNo(*re.Pending, "stored to send again", "not stored"))
			if rv == nil && *re.Pending || rv != nil && rv.Pending != *re.Pending {
				bad = append(bad, "reversal: "+reversalText(rv))
			}
		}
		if re.Attempts != nil {
			w = append(w, fmt.Sprintf("%s attempt(s)", re.Attempts))
			n := 0
			if rv != nil {
				n = rv.Attempts
			}
			if !re.Attempts.Has(n) {
				bad = append(bad, fmt.Sprintf("reversal attempts: want %s, got %d", re.Attempts, n))
			}
		}
		want = append(want, "reversal "+strings.Join(w, ", "))
	}
	r.Name = fmt.Sprintf("%s: %s", st.label(), st.Describe())
	if st.Action == ActAwait {
		r.Name = fmt.Sprintf("%s: outcome of %s (%s on %s)", st.label(), st.Name, o.Kind, o.Terminal)
	}
	if len(want) > 0 {
		r.Name += " → " + strings.Join(want, ", ")
	}
	r.OK = len(bad) == 0
	if !r.OK {
		bad = append(bad, "outcome was: "+outcomeText(o))
		r.Evidence = dedupe(bad)
		r.Diagnosis = diagnosisOf(o)
	}
	return r
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
		r := v.check(e)
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

func (v *view) check(e *Expectation) Result {
	switch e.Kind {
	case ExReversal:
		return v.reversal(e)
	case ExSignOn, ExEcho:
		return v.network(e)
	case ExLinkDown:
		side := e.Of
		downs := v.filter(func(x *Event) bool {
			return x.Side == side && x.Kind == EvDown && strings.Contains(x.Detail, e.Text)
		})
		name := fmt.Sprintf("%s's link goes down %s time(s)", side, e.Count)
		if e.Text != "" {
			name += fmt.Sprintf(" with %q", e.Text)
		}
		all := v.filter(func(x *Event) bool { return x.Side == side && x.Kind == EvDown })
		return v.counted(name, len(downs), *e.Count, "link down events: "+v.list(all, 6))
	case ExEvent:
		n := 0
		var seen []*Event
		for i := range v.events {
			if e.Event.matches(&v.events[i], v.stans) {
				n++
				seen = append(seen, &v.events[i])
			}
		}
		ev := "matching: " + v.list(seen, 6)
		if n == 0 {
			kind := v.filter(func(x *Event) bool { return x.Kind == e.Event.Kind })
			ev = fmt.Sprintf("no matching event; all %s events: %s", e.Event.Kind, v.list(kind, 6))
		}
		return v.counted(fmt.Sprintf("event %s, %s time(s)", e.Event.Describe(), e.Count), n, *e.Count, ev)
	case ExHostLog:
		var hits []string
		for _, l := range v.rep.HostLog {
			if strings.Contains(l, e.Text) {
				hits = append(hits, l)
			}
		}
		ev := "matching lines: " + strings.Join(hits, " | ")
		if len(hits) == 0 {
			ev = "host log: " + strings.Join(tail(v.rep.HostLog, 8), " | ")
		}
		return v.counted(fmt.Sprintf("host log mentions %q %s time(s)", e.Text, e.Count), len(hits), *e.Count, ev)
	case ExFaultFired:
		fired := v.filter(func(x *Event) bool { return x.Kind == EvFault && (x.Rule == e.Text || x.Type == e.Text) })
		all := v.filter(func(x *Event) bool { return x.Kind == EvFault })
		var labels []string
		for _, f := range all {
			labels = append(labels, f.Rule)
		}
		return v.counted(fmt.Sprintf("fault %s fires %s time(s)", e.Text, e.Count), len(fired), *e.Count,
			"faults that fired: "+strings.Join(uniq(labels), ", "))
	case ExHostLedger:
		return v.ledger(e)
	case ExTerminalOutcomes:
		return v.termOutcomes(e)
	case ExAccountsAgree:
		return v.accounts(e)
	case ExNoDuplicateCharge:
		return v.noDuplicate(e)
	case ExPendingReversals:
		n := v.rn.terms[e.Of].term.PendingReversals()
		return v.counted(fmt.Sprintf("%s holds %s reversal(s) in store-and-forward at the end", e.Of, e.Count), n, *e.Count,
			fmt.Sprintf("%d pending", n))
	}
	return Result{Name: string(e.Kind), Evidence: "unknown expectation"}
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

func (v *view) reversal(e *Expectation) Result {
	st := v.rn.sc.step(e.Of)
	var want []string
	if e.Within > 0 {
		want = append(want, "sent within "+e.Within.String())
	} else {
		want = append(want, "sent")
	}
	if e.Repeats != nil {
		want = append(want, fmt.Sprintf("repeated as 0401 %s time(s)", e.Repeats))
	}
	if e.Acked != nil {
		want = append(want, yesNo(*e.Acked, "acknowledged (0410)", "never acknowledged"))
	}
	r := Result{Name: fmt.Sprintf("reversal of %s", st.label())}
	o := v.outcomeOf(e.Of)
	if o == nil || o.STAN == "" {
		r.Name += ": " + strings.Join(want, ", ")
		r.Evidence = "the step's transaction has no outcome or no STAN (it was never sent)"
		return r
	}
	r.Name = fmt.Sprintf("reversal of %s (%s STAN %s on %s): %s", st.label(), o.Kind, o.STAN, o.Terminal, strings.Join(want, ", "))
	side := o.Terminal
	var origAt time.Time
	for _, ev := range v.events {
		if ev.Side == side && ev.Kind == EvSent && ev.STAN == o.STAN && isFinancialRequest(ev.MTI) {
			origAt = ev.Time
			break
		}
	}
	if origAt.IsZero() {
		origAt = o.SentAt
	}
	revs := v.filter(func(x *Event) bool {
		return x.Side == side && x.Kind == EvSent && iso.Class(x.MTI) == '4' && iso.IsRequest(x.MTI) && x.OrigSTAN == o.STAN
	})
	revSTANs := map[string]bool{}
	repeats := 0
	for _, x := range revs {
		revSTANs[x.STAN] = true
		if x.MTI[3] == '1' {
			repeats++
		}
	}
	acks := v.filter(func(x *Event) bool {
		return x.Side == side && x.Kind == EvReceived && iso.Class(x.MTI) == '4' && iso.IsResponse(x.MTI) && revSTANs[x.STAN]
	})
	atHost := v.filter(func(x *Event) bool {
		return x.Side == "host" && x.Kind == EvReceived && iso.Class(x.MTI) == '4' && x.OrigSTAN == o.STAN && x.TID == o.TID
	})
	var bad []string
	if len(revs) == 0 {
		sent := v.filter(func(x *Event) bool { return x.Side == side && x.Kind == EvSent })
		r.Evidence = fmt.Sprintf("no 0400/0401 naming STAN %s (field 90) was sent by %s; %s sent: %s; the outcome was: %s",
			o.STAN, side, side, v.list(sent, 10), outcomeText(o))
		return r
	}
	first := revs[0]
	if e.Within > 0 && first.Time.Sub(origAt) > e.Within {
		bad = append(bad, fmt.Sprintf("the first reversal left %s after the original (at %s), later than %s",
			first.Time.Sub(origAt).Round(time.Millisecond), v.at(origAt), e.Within))
	}
	if e.Repeats != nil && !e.Repeats.Has(repeats) {
		bad = append(bad, fmt.Sprintf("%d repeat(s) (0401), want %s", repeats, e.Repeats))
	}
	if e.Acked != nil && (len(acks) > 0) != *e.Acked {
		if *e.Acked {
			bad = append(bad, "no 0410 answered it")
		} else {
			bad = append(bad, "a 0410 answered it at "+v.at(acks[0].Time))
		}
	}
	r.OK = len(bad) == 0
	if !r.OK {
		bad = append(bad, fmt.Sprintf("original sent at %s; %s sent %s; answers received: %s; reversals that reached the host: %d",
			v.at(origAt), side, v.list(revs, 8), v.list(acks, 4), len(atHost)))
		r.Evidence = strings.Join(bad, "; ")
	}
	return r
}

// network checks sign-ons and echo tests.
func (v *view) network(e *Expectation) Result {
	code, what := "001", "sign-on"
	if e.Kind == ExEcho {
		code, what = "301", "echo test"
	}
	var from time.Time
	name := fmt.Sprintf("%s sends %s %s(s)", e.Of, e.Count, what)
	if e.After != "" {
		from = v.stepAt(e.After)
		name += " after " + v.rn.sc.step(e.After).label()
		if e.Kind == ExSignOn && e.Within > 0 {
			name += " within " + e.Within.String()
		}
	}
	if e.Answered != nil {
		name += yesNo(*e.Answered, ", answered", ", left unanswered")
	}
	idle := time.Duration(0)
	if e.Kind == ExEcho {
		idle = e.Within
		if idle > 0 {
			name += fmt.Sprintf(", each after at least %s without traffic", idle)
		}
	}
	var notIdle []string
	sent := v.filter(func(x *Event) bool {
		if x.Side != e.Of || x.Kind != EvSent || x.MTI != "0800" || x.NMIC != code || x.Time.Before(from) {
			return false
		}
		if idle > 0 {
			// the terminal's last message before this echo
			var last time.Time
			for _, y := range v.events {
				if !y.Time.Before(x.Time) {
					break
				}
				if y.Side == e.Of && (y.Kind == EvSent || y.Kind == EvReceived) {
					last = y.Time
				}
			}
			if !last.IsZero() && x.Time.Sub(last) < idle-idleSlack {
				notIdle = append(notIdle, fmt.Sprintf("%s stan=%s after %s idle", v.at(x.Time), x.STAN, x.Time.Sub(last).Round(time.Millisecond)))
				return false
			}
		}
		return true
	})
	answered := 0
	for _, s := range sent {
		for _, x := range v.events {
			if x.Side == e.Of && x.Kind == EvReceived && x.MTI == "0810" && x.STAN == s.STAN && x.RC == "00" && !x.Time.Before(s.Time) {
				answered++
				break
			}
		}
	}
	all := v.filter(func(x *Event) bool { return x.Side == e.Of && x.Kind == EvSent && x.MTI == "0800" && x.NMIC == code })
	evidence := fmt.Sprintf("%ss sent by %s: %s; %d answered", what, e.Of, v.list(all, 8), answered)
	if !from.IsZero() {
		evidence += fmt.Sprintf(" (counting from %s)", v.at(from))
	}
	if len(notIdle) > 0 {
		evidence += "; sent without the idle time: " + strings.Join(notIdle, ", ")
	}
	r := v.counted(name, len(sent), *e.Count, evidence)
	if e.Kind == ExSignOn && e.Within > 0 && len(sent) > 0 && sent[0].Time.Sub(from) > e.Within {
		r.OK = false
		r.Evidence = fmt.Sprintf("the first %s after %s left %s later, more than %s; %s", what, v.at(from), sent[0].Time.Sub(from).Round(time.Millisecond), e.Within, evidence)
	}
	if e.Answered != nil && r.OK {
		if *e.Answered && answered == 0 {
			r.OK, r.Evidence = false, "none was answered; "+evidence
		}
		if !*e.Answered && answered > 0 {
			r.OK, r.Evidence = false, fmt.Sprintf("%d answered; %s", answered, evidence)
		}
	}
	return r
}

func ledgerValue(c host.Counts, k string) int {
	switch k {
	case "approved":
		return int(c.Approved)
	case "declined":
		return int(c.Declined)
	case "reversed":
		return int(c.Reversed)
	case "reversals_received":
		return int(c.ReversalsReceived)
	case "duplicate_reversals":
		return int(c.DuplicateReversals)
	case "reversals_without_original":
		return int(c.ReversalsWithoutOriginal)
	case "reversals_of_declined":
		return int(c.ReversalsOfDeclined)
	case "originals_after_reversal":
		return int(c.OriginalsAfterReversal)
	}
	return -1
}

func ledgerText(c host.Counts) string {
	return fmt.Sprintf("approved %d, declined %d, reversed %d, reversals received %d (duplicates %d, without original %d, of declined %d)",
		c.Approved, c.Declined, c.Reversed, c.ReversalsReceived, c.DuplicateReversals, c.ReversalsWithoutOriginal, c.ReversalsOfDeclined)
}

func (v *view) ledger(e *Expectation) Result {
	var want, bad []string
	for _, k := range ledgerKeys {
		c, ok := e.Counts[k]
		if !ok {
			continue
		}
		want = append(want, fmt.Sprintf("%s %s", strings.ReplaceAll(k, "_", " "), c))
		if n := ledgerValue(v.rep.Ledger, k); !c.Has(n) {
			bad = append(bad, fmt.Sprintf("%s: %d, want %s", strings.ReplaceAll(k, "_", " "), n, c))
		}
	}
	r := Result{Name: "host's account: " + strings.Join(want, ", "), OK: len(bad) == 0}
	if !r.OK {
		r.Evidence = strings.Join(bad, "; ") + "; the host's account: " + ledgerText(v.rep.Ledger)
	}
	return r
}

func (v *view) termOutcomes(e *Expectation) Result {
	counts := map[string]int{}
	for _, o := range v.rn.outcomes {
		if e.Terminal == "" || o.Terminal == e.Terminal {
			counts[o.Class.String()]++
		}
	}
	var want, bad []string
	for _, k := range classes {
		c, ok := e.Counts[k]
		if !ok {
			continue
		}
		want = append(want, fmt.Sprintf("%s %s", k, c))
		if !c.Has(counts[k]) {
			bad = append(bad, fmt.Sprintf("%s: %d, want %s", k, counts[k], c))
		}
	}
	who := "the terminals"
	if e.Terminal != "" {
		who = e.Terminal
	}
	r := Result{Name: fmt.Sprintf("outcomes at %s: %s", who, strings.Join(want, ", ")), OK: len(bad) == 0}
	if !r.OK {
		var all []string
		for _, k := range classes {
			if counts[k] > 0 {
				all = append(all, fmt.Sprintf("%s %d", k, counts[k]))
			}
		}
		r.Evidence = strings.Join(bad, "; ") + "; all outcomes: " + strings.Join(all, ", ")
	}
	return r
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

// accounts compares, transaction by transaction and in totals, what the
// terminals believe with what the host's account holds.
func (v *view) accounts(e *Expectation) Result {
	var mism []string
	termApproved, termDeclined := 0, 0
	for _, o := range v.moneyTx() {
		charged := o.Class == terminal.Approved
		if o.Class == terminal.Approved {
			termApproved++
		}
		if o.Class == terminal.Declined {
			termDeclined++
		}
		hostState := "never received"
		hostCharged := false
		if o.STAN != "" {
			if tx, ok := v.rep.hostTx(o.TID, o.STAN); ok {
				hostState = tx.State.String()
				hostCharged = tx.State == host.Approved
			}
		}
		if charged != hostCharged {
			mism = append(mism, fmt.Sprintf("%s STAN %s on %s: the terminal shows %s, the host's account %s", o.Kind, o.STAN, o.Terminal, o.Class, hostState))
		}
	}
	c := v.rep.Ledger
	net := int(c.Approved) - int(c.Reversed)
	if net != termApproved {
		mism = append(mism, fmt.Sprintf("approved: host %d (%d approved − %d reversed), terminals %d", net, c.Approved, c.Reversed, termApproved))
	}
	if int(c.Declined) != termDeclined {
		mism = append(mism, fmt.Sprintf("declined: host %d, terminals %d", c.Declined, termDeclined))
	}
	agree := len(mism) == 0
	r := Result{Name: "the host's and the terminals' accounts agree (approved, declined, reversed)"}
	if !e.Want {
		r.Name = "the host's and the terminals' accounts disagree"
	}
	r.OK = agree == e.Want
	if !r.OK {
		if agree {
			r.Evidence = fmt.Sprintf("they agree: host %s; terminals approved %d, declined %d", ledgerText(c), termApproved, termDeclined)
		} else {
			r.Evidence = strings.Join(mism, "; ")
		}
	}
	return r
}

// noDuplicate: no request was approved twice by the host, and the host
// holds no charge the merchant does not know of (a charge the terminal
// shows as failed is one the merchant runs again).
func (v *view) noDuplicate(e *Expectation) Result {
	var bad []string
	approvals := map[string]int{}
	for _, x := range v.events {
		if x.Side == "host" && x.Kind == EvSent && iso.IsResponse(x.MTI) && (iso.Class(x.MTI) == '1' || iso.Class(x.MTI) == '2') && iso.IsApproval(x.RC) {
			approvals[x.TID+" STAN "+x.STAN]++
		}
	}
	for _, k := range sortedKeys(approvals) {
		if approvals[k] > 1 {
			bad = append(bad, fmt.Sprintf("the host approved TID %s %d times", k, approvals[k]))
		}
	}
	for _, o := range v.moneyTx() {
		if o.Class == terminal.Approved || o.STAN == "" {
			continue
		}
		if tx, ok := v.rep.hostTx(o.TID, o.STAN); ok && tx.State == host.Approved {
			bad = append(bad, fmt.Sprintf("%s STAN %s on %s stands approved at the host but the terminal shows %s: the customer is charged and the merchant will ask again",
				o.Kind, o.STAN, o.Terminal, o.Class))
		}
	}
	ok := len(bad) == 0
	r := Result{Name: "no duplicate charge (nothing approved twice, no charge the terminal does not show)", OK: ok == e.Want}
	if !e.Want {
		r.Name = "a duplicate charge is possible (the host holds a charge the terminal does not show)"
	}
	if !r.OK {
		if ok {
			r.Evidence = "no duplicate or hidden charge found"
		} else {
			r.Evidence = strings.Join(bad, "; ")
		}
	}
	return r
}
