package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Status of one check of a diagnosis.
type Status string

const (
	StatusOK      Status = "ok"
	StatusFail    Status = "fail"
	StatusSkipped Status = "skipped"
)

func (s Status) mark() string {
	switch s {
	case StatusOK:
		return "✓"
	case StatusFail:
		return "✗"
	}
	return "-"
}

// Check is one step of a diagnosis (a probe step, or one stream of a
// capture): its status, how long it took, what was seen and, when it
// failed, the finding that names the cause.
type Check struct {
	Name    string        `json:"name"`
	Status  Status        `json:"status"`
	Took    time.Duration `json:"-"`
	Summary string        `json:"summary"`
	// Details are further lines: the framings tried and how they failed,
	// the RTTs, a ladder.
	Details  []string  `json:"details,omitempty"`
	Findings []Finding `json:"-"`
}

// Report is the result of a diagnosis.
type Report struct {
	// Kind is "probe", "capture" or "trace".
	Kind   string  `json:"kind"`
	Target string  `json:"target"`
	Checks []Check `json:"-"`
	Start  time.Time
	Took   time.Duration
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return true
		}
	}
	return false
}

// Findings returns every finding of every check, in order.
func (r *Report) Findings() []Finding {
	var out []Finding
	for _, c := range r.Checks {
		out = append(out, c.Findings...)
	}
	return out
}

// WriteText prints the report for people: one line per check with ✓/✗/-,
// details indented, and for each finding its cause, explanation and fix
// from the catalogue.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "possim diagnose %s %s\n", r.Kind, r.Target)
	for _, c := range r.Checks {
		took := ""
		if c.Took > 0 {
			took = " (" + fmtDur(c.Took) + ")"
		}
		fmt.Fprintf(&b, "%s %-12s %s%s\n", c.Status.mark(), c.Name, c.Summary, took)
		for _, d := range c.Details {
			fmt.Fprintf(&b, "      %s\n", d)
		}
		for _, f := range c.Findings {
			writeFinding(&b, f, "    ")
		}
	}
	n := 0
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			n++
		}
	}
	if n == 0 {
		fmt.Fprintf(&b, "result: all checks passed (%s)\n", fmtDur(r.Took))
	} else {
		fmt.Fprintf(&b, "result: %d check(s) failed (%s)\n", n, fmtDur(r.Took))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteFinding prints one finding as the lines every text output uses:
//
//	cause: network.slow — slow network (network)
//	  why: the sign-on took 820 ms …
//	  fix: …
//	  checklist: network_signal — …
func WriteFinding(w io.Writer, f Finding, indent string) {
	var b strings.Builder
	writeFinding(&b, f, indent)
	_, _ = io.WriteString(w, b.String())
}

func writeFinding(b *strings.Builder, f Finding, indent string) {
	c := f.Entry()
	fmt.Fprintf(b, "%scause: %s — %s (%s)\n", indent, c.ID, c.Title, c.Family)
	fmt.Fprintf(b, "%s  why: %s\n", indent, f.Explanation())
	fmt.Fprintf(b, "%s  fix: %s\n", indent, f.FixText())
	if c.Checklist != CheckNone {
		note := ""
		if c.ChecklistNote != "" {
			note = " — " + c.ChecklistNote
		}
		fmt.Fprintf(b, "%s  checklist: %s%s\n", indent, c.Checklist, note)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// ms is a duration in the JSON unit.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// FindingJSON is a finding as machines read it: the cause with its
// catalogue words, so a consumer needs no copy of the catalogue.
type FindingJSON struct {
	Cause         ID             `json:"cause"`
	Family        Family         `json:"family"`
	Title         string         `json:"title"`
	Merchant      string         `json:"merchant"`
	Explanation   string         `json:"explanation"`
	Fix           string         `json:"fix"`
	Checklist     Checklist      `json:"checklist,omitempty"`
	ChecklistNote string         `json:"checklist_note,omitempty"`
	Evidence      []evidenceJSON `json:"evidence,omitempty"`
}

type evidenceJSON struct {
	AtMS float64 `json:"at"`
	What string  `json:"what"`
}

// JSON returns f with its catalogue words, durations in milliseconds.
func (f Finding) JSON() FindingJSON {
	c := f.Entry()
	out := FindingJSON{Cause: c.ID, Family: c.Family, Title: c.Title, Merchant: c.Merchant,
		Explanation: f.Explanation(), Fix: f.FixText(), Checklist: c.Checklist, ChecklistNote: c.ChecklistNote}
	for _, e := range f.Evidence {
		out.Evidence = append(out.Evidence, evidenceJSON{ms(e.At), e.What})
	}
	return out
}

// WriteJSON prints the report as one JSON object; durations in ms (units).
func (r *Report) WriteJSON(w io.Writer) error {
	type checkJSON struct {
		Name     string        `json:"name"`
		Status   Status        `json:"status"`
		TookMS   float64       `json:"took"`
		Summary  string        `json:"summary"`
		Details  []string      `json:"details,omitempty"`
		Findings []FindingJSON `json:"findings,omitempty"`
	}
	out := struct {
		Units    map[string]string `json:"units"`
		Kind     string            `json:"kind"`
		Target   string            `json:"target"`
		Start    time.Time         `json:"start"`
		TookMS   float64           `json:"took"`
		OK       bool              `json:"ok"`
		Checks   []checkJSON       `json:"checks"`
		Findings []FindingJSON     `json:"findings"`
	}{Units: map[string]string{"durations": "ms"}, Kind: r.Kind, Target: r.Target, Start: r.Start,
		TookMS: ms(r.Took), OK: !r.Failed(), Checks: []checkJSON{}, Findings: []FindingJSON{}}
	for _, c := range r.Checks {
		cj := checkJSON{Name: c.Name, Status: c.Status, TookMS: ms(c.Took), Summary: c.Summary, Details: c.Details}
		for _, f := range c.Findings {
			cj.Findings = append(cj.Findings, f.JSON())
			out.Findings = append(out.Findings, f.JSON())
		}
		out.Checks = append(out.Checks, cj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
