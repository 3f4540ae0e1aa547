package outcome

import (
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/diagnose"
)

// Outcome is how one transaction ended, with everything a person needs to
// understand it. The terminal fills it; every output prints it through
// this package's formatters (Text, Line, JSON).
type Outcome struct {
	Kind      string // purchase, void, signon...
	Class     Class
	TID       string
	STAN      string
	RC        string // field 39 of the answer, "" when none
	RCMeaning string
	RRN       string
	AuthCode  string
	// Latency is write → answer (or → failure).
	Latency time.Duration
	// Cause is why the transaction did not simply succeed: a catalogue id,
	// the explanation in plain words (Detail) and the evidence seen on the
	// wire with times. Empty (Cause == "") for a plain approval.
	Cause diagnose.Finding
	// Reversal is the reversal's story, nil when none was needed.
	Reversal *Reversal
	// Duplicates counts extra answers to this request after the first
	// (response.duplicate); Late is set when an answer arrived after the
	// request had timed out.
	Duplicates int
	Late       *LateAnswer
	// Notes are things worth saying that are not the cause ("reversal
	// kept in the journal FILE").
	Notes []string

	Req, Resp *iso8583.Message // the messages, for tests and dumps (never printed in full)
}

// Reversal is what happened to the reversal of a transaction.
type Reversal struct {
	STAN     string
	Attempts int  // 0400 + 0401 repeats sent
	Acked    bool // a 0410 arrived
	Pending  bool // stored to send again (store-and-forward)
	Why      string
}

// LateAnswer is an answer that arrived after its request timed out.
type LateAnswer struct {
	After time.Duration // after the deadline
	RC    string
}

// Why is the one-line explanation: the finding's detail, or the
// catalogue's engineer sentence.
func (o Outcome) Why() string {
	if o.Cause.Cause == "" {
		return o.Cause.Detail
	}
	return o.Cause.Explanation()
}

// Evidence appends an observation at `at` after start.
func (o *Outcome) Evidence(start, at time.Time, what string) {
	d := at.Sub(start)
	if start.IsZero() || d < 0 {
		d = 0
	}
	o.Cause.Evidence = append(o.Cause.Evidence, diagnose.Evidence{At: d, What: what})
}
