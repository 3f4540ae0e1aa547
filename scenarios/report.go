package scenarios

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
)

// Report is the result of one run.
type Report struct {
	Scenario  string        `json:"scenario"`
	Title     string        `json:"title,omitempty"`
	File      string        `json:"file"`
	Seed      uint64        `json:"seed"`
	Start     time.Time     `json:"start"`
	Duration  time.Duration `json:"duration_ns"`
	HostAddr  string        `json:"host_addr,omitempty"`
	Passed    bool          `json:"passed"`
	Results   []Result      `json:"expectations"`
	Outcomes  []OutcomeRec  `json:"outcomes"`
	Ledger    host.Counts   `json:"host_ledger"`
	Decisions []Decision    `json:"decisions"`
	Events    []Event       `json:"events"`
	HostLog   []string      `json:"host_log,omitempty"`

	sc     *Scenario
	ledger *host.Ledger
}

// Decision is one fault firing, without its time: the same seed and the
// same scenario give the same list.
type Decision struct {
	Side   string `json:"side"`
	Rule   string `json:"rule"`
	Type   string `json:"type"`
	MTI    string `json:"mti,omitempty"`
	STAN   string `json:"stan,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func decisions(evs []Event) []Decision {
	out := []Decision{}
	for _, e := range evs {
		if e.Kind == EvFault {
			d := e.Detail
			if i := strings.Index(d, " on 127.0.0.1"); i >= 0 { // link faults name the ephemeral ports
				d = d[:i]
			}
			out = append(out, Decision{Side: e.Side, Rule: e.Rule, Type: e.Type, MTI: e.MTI, STAN: e.STAN, Detail: d})
		}
	}
	return out
}

// OK reports whether every expectation was met.
func (r *Report) OK() bool {
	for _, x := range r.Results {
		if !x.OK {
			return false
		}
	}
	return true
}

// Failed counts the unmet expectations.
func (r *Report) Failed() int {
	n := 0
	for _, x := range r.Results {
		if !x.OK {
			n++
		}
	}
	return n
}

func (r *Report) hostTx(tid, stan string) (host.Tx, bool) {
	if r.ledger == nil {
		return host.Tx{}, false
	}
	return r.ledger.Lookup(tid, stan)
}

// WriteText writes the ladder diagram and the expectations.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	title := r.Scenario
	if r.Title != "" {
		title += " — " + r.Title
	}
	fmt.Fprintf(&b, "possim replay %s\n", title)
	fmt.Fprintf(&b, "seed %d · %s · host %s", r.Seed, r.File, r.HostAddr)
	if r.sc != nil {
		fmt.Fprintf(&b, " (%s)", dialectText(r.sc.Host.Dialect))
		for _, t := range r.sc.Terminals {
			fmt.Fprintf(&b, " · %s = TID %s (%s)", t.ID, t.TID, dialectText(t.Dialect))
		}
	}
	b.WriteString("\n\n")
	width := 4
	if r.sc != nil {
		for _, t := range r.sc.Terminals {
			width = max(width, len(t.ID))
		}
	}
	fmt.Fprintf(&b, "%9s  %-*s %-8s %-4s  %s\n", "TIME", width, "TERM", "", "HOST", "MESSAGE / EVENT")
	for _, e := range r.Events {
		line := ladderLine(&e, width)
		if line == "" {
			continue
		}
		if e.Kind == EvStep || e.Kind == EvNote {
			b.WriteString(line + "\n")
			continue
		}
		fmt.Fprintf(&b, "%9s  %s\n", fmt.Sprintf("+%.3fs", e.At.Seconds()), line)
	}
	fmt.Fprintf(&b, "\nHost's account: %s\n", ledgerText(r.Ledger))
	writeDiagnoses(&b, r.Outcomes)
	b.WriteString("\nExpectations\n")
	for _, x := range r.Results {
		mark := "✓"
		if !x.OK {
			mark = "✗"
		}
		fmt.Fprintf(&b, "  %s %s  [%s]\n", mark, x.Name, x.Pos)
		if !x.OK && x.Evidence != "" {
			fmt.Fprintf(&b, "      evidence: %s\n", x.Evidence)
		}
		if d := x.Diagnosis; !x.OK && d != nil {
			fmt.Fprintf(&b, "      cause: %s — %s: %s\n", d.Cause, d.Title, d.Explanation)
			fmt.Fprintf(&b, "      fix: %s\n", d.Fix)
		}
	}
	n, f := len(r.Results), r.Failed()
	verdict := "PASS"
	if f > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "\n%s: %d of %d expectations met in %s (seed %d)\n", verdict, n-f, n, r.Duration.Round(time.Millisecond), r.Seed)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeDiagnoses lists each transaction that did not simply succeed with
// the cause the terminal named and its fix.
func writeDiagnoses(b *strings.Builder, outs []OutcomeRec) {
	first := true
	for _, o := range outs {
		d := o.Diagnosis
		if d == nil {
			continue
		}
		if first {
			b.WriteString("\nTransactions that did not simply succeed\n")
			first = false
		}
		fmt.Fprintf(b, "  step %d %s %s STAN %s: %s — cause %s (%s): %s\n", o.Step, o.Terminal, o.Kind, o.STAN, o.Class, d.Cause, d.Title, d.Explanation)
		fmt.Fprintf(b, "      fix: %s\n", d.Fix)
	}
}

func dialectText(d DialectSpec) string {
	s := d.Name
	if d.LengthHeader != "" {
		s += ", " + d.LengthHeader + " length header"
	}
	if d.Bitmap == "single128" {
		s += ", single 128-bit bitmap"
	}
	return s
}

// ladderLine renders one event: terminal events on the left lifeline,
// host events on the right, arrows for the direction.
func ladderLine(e *Event, width int) string {
	l := ladder{e: e, width: width}
	switch e.Kind {
	case EvStep:
		return fmt.Sprintf("── step %d · +%.3fs · %s", e.Step, e.At.Seconds(), e.Detail)
	case EvNote:
		return "   ✎ " + e.Detail
	case EvSent:
		return l.either("◀───────", e.Summary+l.rc(), "───────▶", e.Summary)
	case EvReceived:
		return l.either("───────▶", e.Summary, "◀───────", e.Summary+l.rc())
	case EvLate:
		return l.term("◀─late──") + e.Summary + l.rc() + "  ! " + e.Detail
	case EvDuplicate:
		return l.term("◀──dup──") + e.Summary + l.rc() + "  ! " + e.Detail + " [response.duplicate]"
	case EvUnmatched:
		return l.either("──?─────", e.Summary+"  ! "+e.Detail, "◀────?──", e.Summary+l.rc()+"  ! "+e.Detail)
	case EvBadMessage:
		s := badMessageText(e)
		return l.either("──✗─────", s, "◀──✗────", s)
	case EvDown:
		s := "link down: " + e.Detail
		return l.either("✗", s, "✗", s)
	case EvFault:
		s := faultText(e)
		return l.either("⚡", s, "⚡", s)
	case EvLog, EvConnect:
		return l.either("·", e.Detail, "·", e.Detail)
	case EvOutcome:
		return l.term("⇒") + e.Detail
	}
	return ""
}

// ladder draws one event's line on the terminal's or the host's lifeline.
type ladder struct {
	e     *Event
	width int
}

func (l ladder) term(arrow string) string {
	return fmt.Sprintf("%-*s %-8s %-4s  ", l.width, l.e.Side, arrow, "")
}

func (l ladder) host(arrow string) string {
	return fmt.Sprintf("%-*s %8s %-4s  ", l.width, "", arrow, "HOST")
}

// either is the host's line when the event is the host's, else the
// terminal's.
func (l ladder) either(hostArrow, hostText, termArrow, termText string) string {
	if l.e.Side == "host" {
		return l.host(hostArrow) + hostText
	}
	return l.term(termArrow) + termText
}

// rc is the meaning of the event's response code, " (Approved)", or "".
func (l ladder) rc() string {
	if l.e.RC == "" {
		return ""
	}
	return " (" + iso.RCMeaning(l.e.RC) + ")"
}

func badMessageText(e *Event) string {
	s := "✗ bad message: " + e.Detail
	if e.Summary != "" {
		s += " (read as: " + e.Summary + ")"
	}
	return s
}

func faultText(e *Event) string {
	s := fmt.Sprintf("⚡ fault %s", e.Rule)
	if e.Type != "" && !strings.HasPrefix(e.Rule, e.Type) {
		s += " (" + e.Type + ")"
	}
	if e.Summary != "" {
		s += " on " + e.Summary
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// WriteJSON writes the reports, and the scenarios that could not be loaded,
// as one JSON document.
func WriteJSON(w io.Writer, reports []*Report, invalid ...Invalid) error {
	for _, r := range reports {
		r.Passed = r.OK()
	}
	doc := struct {
		Passed    bool      `json:"passed"`
		Scenarios []*Report `json:"scenarios"`
		Invalid   []Invalid `json:"invalid,omitempty"`
	}{Passed: allOK(reports) && len(invalid) == 0, Scenarios: reports, Invalid: invalid}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func allOK(reports []*Report) bool {
	for _, r := range reports {
		if !r.OK() {
			return false
		}
	}
	return true
}

// JUnit XML: one testsuite per scenario, one testcase per expectation.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the reports as JUnit XML; each scenario that could not
// be loaded is a testsuite with one error case at its file:line.
func WriteJUnit(w io.Writer, reports []*Report, invalid ...Invalid) error {
	doc := junitSuites{Name: "possim replay"}
	var total time.Duration
	for _, r := range reports {
		s := junitSuite{Name: r.Scenario, Time: secs(r.Duration), Timestamp: r.Start.UTC().Format("2006-01-02T15:04:05"),
			Properties: []junitProperty{{"seed", fmt.Sprint(r.Seed)}, {"file", r.File}}}
		for _, x := range r.Results {
			c := junitCase{Name: x.Name, Classname: "possim.scenario." + r.Scenario, File: x.Pos, Time: "0"}
			if !x.OK {
				c.Failure = &junitFailure{Message: x.Name, Type: "unmet", Text: x.Evidence}
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		var ladder strings.Builder
		_ = r.WriteText(&ladder)
		s.SystemOut = ladder.String()
		doc.Suites = append(doc.Suites, s)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		total += r.Duration
	}
	for _, v := range invalid {
		doc.Suites = append(doc.Suites, junitSuite{Name: v.Name(), Tests: 1, Errors: 1, Time: "0",
			Properties: []junitProperty{{"file", v.Arg}},
			Cases: []junitCase{{Name: "load " + v.Arg, Classname: "possim.scenario." + v.Name(), File: v.Pos, Time: "0",
				Error: &junitFailure{Message: "invalid scenario: " + v.Pos, Type: "invalid", Text: v.Error}}}})
		doc.Tests++
		doc.Errors++
	}
	doc.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
