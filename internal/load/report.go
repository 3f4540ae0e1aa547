package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/possim/possim/internal/diagnose"
)

// LatencyStats summarises one latency histogram. In Go the values are
// durations; in JSON they are milliseconds ("p99": 12.345), the one unit
// of every duration in the JSON (the report's "units" key says so),
// because a nanosecond integer is unreadable and a Go duration string is
// awkward for machines.
type LatencyStats struct {
	Count int64 // samples
	Min   time.Duration
	Mean  time.Duration
	P50   time.Duration
	P90   time.Duration
	P95   time.Duration
	P99   time.Duration
	P999  time.Duration
	Max   time.Duration
}

// Stats summarises a histogram of microsecond values (as recorded by this
// package).
func Stats(h *hdrhistogram.Histogram) LatencyStats {
	if h == nil || h.TotalCount() == 0 {
		return LatencyStats{}
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return LatencyStats{
		Count: h.TotalCount(),
		Min:   us(h.Min()),
		Mean:  time.Duration(math.Round(h.Mean() * float64(time.Microsecond))),
		P50:   us(h.ValueAtQuantile(50)),
		P90:   us(h.ValueAtQuantile(90)),
		P95:   us(h.ValueAtQuantile(95)),
		P99:   us(h.ValueAtQuantile(99)),
		P999:  us(h.ValueAtQuantile(99.9)),
		Max:   us(h.Max()),
	}
}

type latencyJSON struct {
	Count  int64   `json:"count"`
	MinMs  float64 `json:"min"`
	MeanMs float64 `json:"mean"`
	P50Ms  float64 `json:"p50"`
	P90Ms  float64 `json:"p90"`
	P95Ms  float64 `json:"p95"`
	P99Ms  float64 `json:"p99"`
	P999Ms float64 `json:"p999"`
	MaxMs  float64 `json:"max"`
}

// Units names the units of the report's JSON: every duration is in
// milliseconds, every rate per second.
var Units = map[string]string{"durations": "ms", "rates": "per second"}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fromMs(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }

// MarshalJSON writes the stats in milliseconds.
func (l LatencyStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(latencyJSON{l.Count, ms(l.Min), ms(l.Mean), ms(l.P50), ms(l.P90), ms(l.P95), ms(l.P99), ms(l.P999), ms(l.Max)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *LatencyStats) UnmarshalJSON(b []byte) error {
	var j latencyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = LatencyStats{j.Count, fromMs(j.MinMs), fromMs(j.MeanMs), fromMs(j.P50Ms), fromMs(j.P90Ms), fromMs(j.P95Ms), fromMs(j.P99Ms), fromMs(j.P999Ms), fromMs(j.MaxMs)}
	return nil
}

// RCCount is the number of answered transactions with one response code.
type RCCount struct {
	RC      string `json:"rc"`
	Meaning string `json:"meaning,omitempty"`
	Count   int64  `json:"count"`
}

// TxTypeCount is the outcomes of one transaction type.
type TxTypeCount struct {
	Type     string        `json:"type"`
	Requests int64         `json:"requests"`
	Outcomes OutcomeCounts `json:"outcomes"`
}

// Reversals counts the reversals sent for timed-out transactions and the
// ones the host acknowledged.
type Reversals struct {
	Sent  int64 `json:"sent"`
	Acked int64 `json:"acked"`
	// Stored counts the reversals put in store-and-forward (the link
	// failed before the answer, or the repeats ran out); FromStore the
	// stored ones delivered later (after a reconnect), Pending those
	// still stored at the end. Sent and Acked include FromStore.
	Stored    int64 `json:"stored"`
	FromStore int64 `json:"from_store"`
	Pending   int64 `json:"pending"`
}

// CauseCount is the number of failed transactions with one cause.
type CauseCount struct {
	Cause string `json:"cause"`
	Count int64  `json:"count"`
	// Title and Fix are the cause's words from the catalogue
	// (internal/diagnose), so that the error set says what to do.
	Title string `json:"title,omitempty"`
	Fix   string `json:"fix,omitempty"`
	// Example is one occurrence in words: what this cause looked like in
	// this run.
	Example string `json:"example,omitempty"`
}

// Report is the final account of a run: what "possim simulate" prints (text
// or JSON) and what thresholds are evaluated against. [NewReport] fills in
// what the recorders know; the caller fills in the rest (seed, max in
// flight, reversals, late and unmatched responses, faults, notes).
type Report struct {
	Seed      int64     `json:"seed,string"` // a string in JSON: 64 bits do not survive a float
	StartedAt time.Time `json:"started_at"`
	// Duration is the length of the schedule, Elapsed the wall time from
	// the start to the last outcome (drain included). In JSON:
	// milliseconds, as every duration.
	Duration time.Duration `json:"-"`
	Elapsed  time.Duration `json:"-"`
	// Interval is the length of one point of Series.
	Interval time.Duration `json:"-"`

	Requests     int64   `json:"requests"`      // transactions, each with exactly one outcome
	OfferedRate  float64 `json:"offered_rate"`  // requests / duration, per second
	Throughput   float64 `json:"throughput"`    // answered / elapsed, per second
	SuccessRatio float64 `json:"success_ratio"` // answered / requests

	// Latency is measured from the intended send time (what a terminal
	// would have seen), ServiceTime from the write (what the host alone
	// took). Both include timed-out and link-failed transactions, at the
	// time they were given up.
	Latency     LatencyStats `json:"latency"`
	ServiceTime LatencyStats `json:"service_time"`
	// SendLag is the load generator's own error: from the intended time
	// to the hand-over of the request to the link (a third clock; it is
	// part of Latency and must stay far below it).
	SendLag LatencyStats `json:"send_lag"`

	Outcomes      OutcomeCounts `json:"outcomes"`
	ResponseCodes []RCCount     `json:"response_codes"`  // answered only, by code
	TxTypes       []TxTypeCount `json:"tx_types"`        // by type name
	Causes        []CauseCount  `json:"errors_by_cause"` // failed (not answered) by cause id, most first

	LateSends          int64     `json:"late_sends"` // sent after their intended time: in-flight limit reached
	MaxInFlight        int64     `json:"max_in_flight"`
	Reversals          Reversals `json:"reversals"`
	LateResponses      int64     `json:"late_responses"`      // matched a request that had timed out
	UnmatchedResponses int64     `json:"unmatched_responses"` // matched nothing in flight
	// LateAfterDrain counts answers the host wrote that the load
	// generator never read: they arrived after the run gave up (or were
	// lost on a link that failed). -1: unknown (no count from the host).
	LateAfterDrain int64            `json:"late_after_drain"`
	Faults         map[string]int64 `json:"faults,omitempty"` // fault name → times it fired
	Notes          []string         `json:"notes,omitempty"`
	// Series is the run second by second (one point per Interval).
	Series []SeriesPoint `json:"series"`

	// The run's histograms, for results files and merging (nil when the
	// report was read from JSON without them).
	hist *Metrics
}

// Histograms returns the run's latency, service time and send lag
// histograms (microseconds), nil when unknown.
func (r *Report) Histograms() (latency, service, sendLag *hdrhistogram.Histogram) {
	if r.hist == nil {
		return nil, nil, nil
	}
	return r.hist.Latency, r.hist.Service, r.hist.SendLag
}

// NewReport builds a report from merged metrics. duration is the length of
// the schedule (the offered rate is requests/duration); elapsed is the wall
// time of the run (the throughput is answered/elapsed). Zero values default
// to the last intended time and the last outcome time seen in m.
//
// Requests is set to the number of results recorded. A pipeline that knows
// how many transactions it scheduled should set Requests to that number
// before calling Check, so that a transaction lost between the pacer and
// the recorder is caught.
func NewReport(m *Metrics, duration, elapsed time.Duration) *Report {
	if duration <= 0 {
		duration = m.LastIntended
	}
	if elapsed <= 0 {
		elapsed = m.LastDone
	}
	r := &Report{
		StartedAt:      m.Start,
		Duration:       duration,
		Elapsed:        elapsed,
		Requests:       m.Requests,
		Latency:        Stats(m.Latency),
		ServiceTime:    Stats(m.Service),
		SendLag:        Stats(m.SendLag),
		Outcomes:       m.Outcomes,
		Causes:         causeList(m.Causes, m.Examples),
		Series:         []SeriesPoint{},
		LateAfterDrain: -1,
		hist:           m,
		LateSends:      m.Late,
		// Empty lists, not null, in JSON.
		ResponseCodes: []RCCount{},
		TxTypes:       []TxTypeCount{},
	}
	if duration > 0 {
		r.OfferedRate = float64(m.Requests) / duration.Seconds()
	}
	if elapsed > 0 {
		r.Throughput = float64(m.Outcomes.Answered()) / elapsed.Seconds()
	}
	r.SuccessRatio = r.ratio(m.Outcomes.Answered())
	for rc, n := range m.RC {
		code := rc.String()
		r.ResponseCodes = append(r.ResponseCodes, RCCount{RC: code, Meaning: RCMeaning(code), Count: n})
	}
	sort.Slice(r.ResponseCodes, func(i, j int) bool { return r.ResponseCodes[i].RC < r.ResponseCodes[j].RC })
	for name, c := range m.TxTypes {
		r.TxTypes = append(r.TxTypes, TxTypeCount{Type: name, Requests: c.Total(), Outcomes: *c})
	}
	sort.Slice(r.TxTypes, func(i, j int) bool { return r.TxTypes[i].Type < r.TxTypes[j].Type })
	return r
}

// causeList sorts a cause table, most frequent first.
func causeList(m map[string]int64, examples map[string]string) []CauseCount {
	l := make([]CauseCount, 0, len(m))
	for c, n := range m {
		cc := CauseCount{Cause: c, Count: n, Example: examples[c]}
		if e, ok := diagnose.Describe(c); ok {
			cc.Title, cc.Fix = e.Title, e.Fix
		}
		l = append(l, cc)
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].Count != l[j].Count {
			return l[i].Count > l[j].Count
		}
		return l[i].Cause < l[j].Cause
	})
	return l
}

// ratio is n/Requests, 0 when there are no requests.
func (r *Report) ratio(n int64) float64 {
	if r.Requests <= 0 {
		return 0
	}
	return float64(n) / float64(r.Requests)
}

// Check verifies that the counts add up: every request has exactly one
// outcome, every answered transaction one response code, every request one
// transaction type. A failure means the pipeline lost or double-counted a
// transaction, which would make every other number suspect.
func (r *Report) Check() error {
	var errs []error
	if got := r.Outcomes.Total(); got != r.Requests {
		errs = append(errs, fmt.Errorf("outcome counts sum to %d but there were %d requests (%+d)", got, r.Requests, got-r.Requests))
	}
	for i, n := range r.Outcomes {
		if n < 0 {
			errs = append(errs, fmt.Errorf("outcome %s has a negative count %d", Outcome(i), n))
		}
	}
	var rcs int64
	for _, c := range r.ResponseCodes {
		rcs += c.Count
	}
	if ans := r.Outcomes.Answered(); rcs != ans {
		errs = append(errs, fmt.Errorf("response code counts sum to %d but %d transactions were answered (approved + declined)", rcs, ans))
	}
	if len(r.TxTypes) > 0 {
		var types int64
		for _, t := range r.TxTypes {
			types += t.Requests
			if got := t.Outcomes.Total(); got != t.Requests {
				errs = append(errs, fmt.Errorf("tx type %q: outcome counts sum to %d but it has %d requests", t.Type, got, t.Requests))
			}
		}
		if types != r.Requests {
			errs = append(errs, fmt.Errorf("tx type counts sum to %d but there were %d requests", types, r.Requests))
		}
	}
	if sent := r.Requests - r.Outcomes[NotSent]; r.Latency.Count > sent {
		errs = append(errs, fmt.Errorf("%d latency samples for %d requests sent", r.Latency.Count, sent))
	}
	return errors.Join(errs...)
}

type reportJSON Report // no methods: plain encoding of the fields

type reportEnvelope struct {
	Units map[string]string `json:"units"`
	reportJSON
	DurationMs float64 `json:"duration"`
	ElapsedMs  float64 `json:"elapsed"`
	IntervalMs float64 `json:"interval"`
}

// MarshalJSON adds the units and the durations (milliseconds) to the
// plain fields.
func (r Report) MarshalJSON() ([]byte, error) {
	if r.Series == nil {
		r.Series = []SeriesPoint{}
	}
	return json.Marshal(reportEnvelope{Units, reportJSON(r), ms(r.Duration), ms(r.Elapsed), ms(r.Interval)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Report) UnmarshalJSON(b []byte) error {
	var v reportEnvelope
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if u := v.Units["durations"]; u != "" && u != "ms" {
		return fmt.Errorf("report: durations in %q, want ms", u)
	}
	*r = Report(v.reportJSON)
	r.Duration, r.Elapsed, r.Interval = fromMs(v.DurationMs), fromMs(v.ElapsedMs), fromMs(v.IntervalMs)
	return nil
}

// WithoutHDR returns a copy of r whose series carries no encoded
// histograms (what --output json prints).
func (r *Report) WithoutHDR() *Report {
	c := *r
	c.Series = make([]SeriesPoint, len(r.Series))
	for i, p := range r.Series {
		p.HDR = nil
		c.Series[i] = p
	}
	return &c
}

// WriteText renders the report for humans, in the spirit of "vegeta
// report": one line per aspect, the column names in brackets, values
// aligned.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	lat := func(l LatencyStats) string {
		if l.Count == 0 {
			return "-"
		}
		return strings.Join([]string{fmtDur(l.Min), fmtDur(l.Mean), fmtDur(l.P50), fmtDur(l.P90),
			fmtDur(l.P95), fmtDur(l.P99), fmtDur(l.P999), fmtDur(l.Max)}, ", ")
	}
	pct := func(n int64) string { return fmt.Sprintf("%.2f%%", 100*r.ratio(n)) }

	fmt.Fprintf(tw, "Seed\t[value]\t%d\n", r.Seed)
	fmt.Fprintf(tw, "Requests\t[total, offered, throughput]\t%d, %.2f/s, %.2f/s\n", r.Requests, r.OfferedRate, r.Throughput)
	fmt.Fprintf(tw, "Duration\t[schedule, elapsed]\t%s, %s\n", r.Duration.Round(time.Millisecond), r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "Latency\t[min, mean, 50, 90, 95, 99, 99.9, max]\t%s\n", lat(r.Latency))
	fmt.Fprintf(tw, "Service time\t[min, mean, 50, 90, 95, 99, 99.9, max]\t%s\n", lat(r.ServiceTime))
	fmt.Fprintf(tw, "Send lag\t[min, mean, 50, 90, 95, 99, 99.9, max]\t%s\n", lat(r.SendLag))
	fmt.Fprintf(tw, "Success\t[ratio]\t%.2f%%\n", 100*r.SuccessRatio)
	fmt.Fprintf(tw, "Sending\t[late, max in flight]\t%d, %d\n", r.LateSends, r.MaxInFlight)
	fmt.Fprintf(tw, "Reversals\t[sent, acked, stored, from store, pending]\t%d, %d, %d, %d, %d\n",
		r.Reversals.Sent, r.Reversals.Acked, r.Reversals.Stored, r.Reversals.FromStore, r.Reversals.Pending)
	afterDrain := "-"
	if r.LateAfterDrain >= 0 {
		afterDrain = fmt.Sprint(r.LateAfterDrain)
	}
	fmt.Fprintf(tw, "Responses\t[late, unmatched, never read]\t%d, %d, %s\n", r.LateResponses, r.UnmatchedResponses, afterDrain)
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(tw, "\nOutcomes\n")
	for i, n := range r.Outcomes {
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", Outcome(i), n, pct(n))
	}
	if len(r.ResponseCodes) > 0 {
		fmt.Fprintf(tw, "\nResponse codes\n")
		for _, c := range r.ResponseCodes {
			code := c.RC
			if code == "" {
				code = "(none)"
			}
			fmt.Fprintf(tw, "  %s\t%d%s\n", code, c.Count, cell(c.Meaning))
		}
	}
	if len(r.TxTypes) > 0 {
		fmt.Fprintf(tw, "\nTransaction types\n")
		for _, t := range r.TxTypes {
			name := t.Type
			if name == "" {
				name = "(unset)"
			}
			var parts []string
			for i, n := range t.Outcomes {
				if n != 0 {
					parts = append(parts, fmt.Sprintf("%s %d", Outcome(i), n))
				}
			}
			fmt.Fprintf(tw, "  %s\t%d%s\n", name, t.Requests, cell(strings.Join(parts, ", ")))
		}
	}
	if len(r.Causes) > 0 {
		fmt.Fprintf(tw, "\nErrors by cause\n")
		for _, c := range r.Causes {
			fmt.Fprintf(tw, "  %s\t%d\t%s%s\n", c.Cause, c.Count, pct(c.Count), cell(c.Title))
			if c.Example != "" {
				fmt.Fprintf(tw, "  \t\t\te.g.: %s\n", c.Example)
			}
			if c.Fix != "" {
				fmt.Fprintf(tw, "  \t\t\tfix: %s\n", c.Fix)
			}
		}
	}
	if len(r.Faults) > 0 {
		fmt.Fprintf(tw, "\nFaults fired\n")
		names := make([]string, 0, len(r.Faults))
		for n := range r.Faults {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(tw, "  %s\t%d\n", n, r.Faults[n])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\nNotes\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	return nil
}

// cell is a last tabwriter cell: nothing when empty, so that lines do not
// end in padding.
func cell(s string) string {
	if s == "" {
		return ""
	}
	return "\t" + s
}

// String is the text rendering.
func (r *Report) String() string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}
