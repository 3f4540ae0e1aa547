package outcome

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/possim/possim/internal/diagnose"
)

// Title is the class as a shouted title: "TIMEOUT REVERSED".
func (c Class) Title() string { return strings.ToUpper(strings.ReplaceAll(c.String(), "_", " ")) }

// Line is the outcome on one line, for ladders and event logs:
// "purchase APPROVED stan=000001 rc=00 (approved) in 3ms — why; reversal ...".
func Line(o *Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", o.Kind, o.Class.Title())
	if o.STAN != "" {
		fmt.Fprintf(&b, " stan=%s", o.STAN)
	}
	if o.RC != "" {
		fmt.Fprintf(&b, " rc=%s (%s)", o.RC, o.RCMeaning)
	}
	if o.Latency > 0 {
		fmt.Fprintf(&b, " in %s", roundLatency(o.Latency))
	}
	if w := o.Why(); w != "" {
		fmt.Fprintf(&b, " — %s", w)
	}
	if o.Cause.Cause != "" {
		fmt.Fprintf(&b, " [%s]", o.Cause.Cause)
	}
	if r := o.Reversal; r != nil {
		fmt.Fprintf(&b, "; reversal stan=%s: %d sent, %s", r.STAN, r.Attempts, reversalState(r, "acknowledged", "NOT acknowledged, stored to send again"))
	}
	if o.Duplicates > 0 {
		fmt.Fprintf(&b, "; %d duplicate answer(s) [%s]", o.Duplicates, diagnose.ResponseDuplicate)
	}
	return b.String()
}

func reversalState(r *Reversal, acked, pending string) string {
	if r.Acked {
		return acked
	}
	return pending
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// Text writes the outcome as a terminal shows it: a title line with the
// numbers, then why, the cause and its fix, the reversal's story, and
// duplicates or a late answer.
func Text(w io.Writer, o *Outcome) {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %s", o.Kind, o.Class.Title())
	if o.STAN != "" {
		fmt.Fprintf(&b, "  stan=%s", o.STAN)
	}
	if o.RC != "" {
		fmt.Fprintf(&b, "  rc=%s (%s)", o.RC, o.RCMeaning)
	}
	if o.AuthCode != "" {
		fmt.Fprintf(&b, "  auth=%s", o.AuthCode)
	}
	if o.RRN != "" {
		fmt.Fprintf(&b, "  rrn=%s", o.RRN)
	}
	if o.Latency > 0 {
		fmt.Fprintf(&b, "  %s", o.Latency.Round(100*time.Microsecond))
	}
	const pad = "\n         "
	if w := o.Why(); w != "" {
		fmt.Fprintf(&b, "%swhy: %s", pad, w)
	}
	if id := o.Cause.Cause; id != "" && o.Class != Approved {
		c := diagnose.MustLookup(id)
		fmt.Fprintf(&b, "%scause: %s (%s)", pad, id, c.Title)
		fmt.Fprintf(&b, "%sfix: %s", pad, o.Cause.FixText())
	}
	if r := o.Reversal; r != nil {
		fmt.Fprintf(&b, "%sreversal stan=%s: %d sent, %s", pad, r.STAN, r.Attempts,
			reversalState(r, "acknowledged (0410)", "NOT acknowledged — pending (store-and-forward)"))
		if r.Why != "" {
			fmt.Fprintf(&b, "; %s", r.Why)
		}
	}
	if o.Duplicates > 0 {
		fmt.Fprintf(&b, "%sduplicate: the host answered this request %d more time(s) [%s]", pad, o.Duplicates, diagnose.ResponseDuplicate)
	}
	if l := o.Late; l != nil {
		fmt.Fprintf(&b, "%slate: an answer (rc=%s) arrived %s after the deadline [%s]", pad, l.RC, l.After.Round(time.Millisecond), diagnose.ResponseLate)
	}
	for _, n := range o.Notes {
		fmt.Fprintf(&b, "%snote: %s", pad, n)
	}
	b.WriteByte('\n')
	_, _ = io.WriteString(w, b.String())
}

// String is Text as a string (without the final newline).
func (o Outcome) String() string {
	var b strings.Builder
	Text(&b, &o)
	return strings.TrimSuffix(b.String(), "\n")
}

// JSONOutcome is the JSON form of an Outcome. Durations are in the unit
// the "units" key names (milliseconds).
type JSONOutcome struct {
	Units      string        `json:"units"`
	Kind       string        `json:"kind"`
	Class      Class         `json:"class"`
	TID        string        `json:"tid,omitempty"`
	STAN       string        `json:"stan,omitempty"`
	RC         string        `json:"rc,omitempty"`
	RCMeaning  string        `json:"rc_meaning,omitempty"`
	RRN        string        `json:"rrn,omitempty"`
	AuthCode   string        `json:"auth_code,omitempty"`
	Latency    float64       `json:"latency"`
	Cause      *JSONCause    `json:"cause,omitempty"`
	Reversal   *JSONReversal `json:"reversal,omitempty"`
	Duplicates int           `json:"duplicates,omitempty"`
	Late       *JSONLate     `json:"late,omitempty"`
	Notes      []string      `json:"notes,omitempty"`
}

// JSONCause is the cause with the catalogue's words.
type JSONCause struct {
	ID          diagnose.ID    `json:"id"`
	Title       string         `json:"title"`
	Explanation string         `json:"explanation"`
	Merchant    string         `json:"merchant"`
	Fix         string         `json:"fix"`
	Evidence    []JSONEvidence `json:"evidence,omitempty"`
}

// JSONEvidence is one observation, At in milliseconds from the start.
type JSONEvidence struct {
	At   float64 `json:"at"`
	What string  `json:"what"`
}

// JSONReversal is the reversal's story.
type JSONReversal struct {
	STAN     string `json:"stan"`
	Attempts int    `json:"attempts"`
	Acked    bool   `json:"acked"`
	Pending  bool   `json:"pending"`
	Why      string `json:"why,omitempty"`
}

// JSONLate is a late answer, After in milliseconds.
type JSONLate struct {
	After float64 `json:"after"`
	RC    string  `json:"rc,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ToJSON converts o to its JSON form.
func ToJSON(o *Outcome) JSONOutcome {
	j := JSONOutcome{Units: "ms", Kind: o.Kind, Class: o.Class, TID: o.TID, STAN: o.STAN, RC: o.RC, RCMeaning: o.RCMeaning,
		RRN: o.RRN, AuthCode: o.AuthCode, Latency: ms(o.Latency), Duplicates: o.Duplicates, Notes: o.Notes}
	if o.Cause.Cause != "" {
		c := diagnose.MustLookup(o.Cause.Cause)
		jc := &JSONCause{ID: o.Cause.Cause, Title: c.Title, Explanation: o.Why(), Merchant: c.Merchant, Fix: o.Cause.FixText()}
		for _, e := range o.Cause.Evidence {
			jc.Evidence = append(jc.Evidence, JSONEvidence{At: ms(e.At), What: e.What})
		}
		j.Cause = jc
	}
	if r := o.Reversal; r != nil {
		j.Reversal = &JSONReversal{STAN: r.STAN, Attempts: r.Attempts, Acked: r.Acked, Pending: r.Pending, Why: r.Why}
	}
	if l := o.Late; l != nil {
		j.Late = &JSONLate{After: ms(l.After), RC: l.RC}
	}
	return j
}

// JSON writes o as one JSON object and a newline.
func JSON(w io.Writer, o *Outcome) error {
	b, err := json.Marshal(ToJSON(o))
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
