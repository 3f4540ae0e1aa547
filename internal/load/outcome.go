package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/possim/possim/internal/outcome"
)

// Outcome is how one transaction ended: the one outcome class of
// internal/outcome (DESIGN.md §9), under the name load has always used.
// Every transaction ends in exactly one outcome (DESIGN.md §5), so the
// counts per outcome add up to the number of transactions; [Report.Check]
// verifies it.
type Outcome = outcome.Class

// The outcomes, as in internal/outcome.
const (
	Approved                = outcome.Approved
	Declined                = outcome.Declined
	TimedOutReversed        = outcome.TimedOutReversed
	TimedOutReversalPending = outcome.TimedOutReversalPending
	TimedOutNoReversal      = outcome.TimedOutNoReversal
	LinkFailed              = outcome.LinkFailed
	NotSent                 = outcome.NotSent
	// Failed: answered, but the answer failed the terminal's checks.
	Failed = outcome.Failed

	// NumOutcomes is the number of outcomes; arrays indexed by Outcome use
	// it as their length.
	NumOutcomes = outcome.NumClasses
)

// ParseOutcome is the inverse of Outcome.String.
func ParseOutcome(s string) (Outcome, error) { return outcome.ParseClass(s) }

// RC is an ISO 8583 response code (field 39), two characters. A value type
// rather than a string so that a Result carries no pointer for it. The zero
// RC means "none".
type RC [2]byte

// MakeRC converts a two-character code; anything else gives the zero RC.
func MakeRC(s string) RC {
	if len(s) != 2 {
		return RC{}
	}
	return RC{s[0], s[1]}
}

// String returns the two characters, or "" for the zero RC.
func (rc RC) String() string {
	if rc == (RC{}) {
		return ""
	}
	return string(rc[:])
}

// IsZero reports whether rc is the zero RC (no code).
func (rc RC) IsZero() bool { return rc == RC{} }

// numeric returns the value of a two-digit code and true, or false for codes
// that are not two ASCII digits.
func (rc RC) numeric() (int, bool) {
	if rc[0] < '0' || rc[0] > '9' || rc[1] < '0' || rc[1] > '9' {
		return 0, false
	}
	return int(rc[0]-'0')*10 + int(rc[1]-'0'), true
}

// Result is what one transaction produced: the unit a worker hands to its
// [Recorder]. It is a small value type (no per-result allocation: times are
// offsets, the RC is two bytes, TxType is expected to be a constant string).
//
// All times are offsets from the run's start (the time given to
// [NewRecorder]), on the monotonic clock: offsets are cheaper than
// time.Time and cannot be confused by wall-clock steps.
type Result struct {
	// Intended is when the pacer scheduled the transaction. Latency is
	// measured from here, so a transaction that waited for a free in-flight
	// slot is not flattered (coordinated omission).
	Intended time.Duration
	// Sent is when the request was written to the link. Ignored for NotSent.
	Sent time.Duration
	// Done is when the outcome was decided: matched response read, timeout
	// fired, or link failure seen.
	Done time.Duration
	// Outcome is how the transaction ended.
	Outcome Outcome
	// RC is the response code of an answered (approved/declined)
	// transaction; ignored for other outcomes.
	RC RC
	// Late is set when the request could not be written at its intended
	// time because the in-flight limit was reached: it waited, and its wait
	// is part of its latency.
	Late bool
	// TxType names the transaction type ("purchase", "balance", ...).
	TxType string
	// Cause is the stable id of why a transaction that was not answered
	// failed (a cause catalogue id such as "network.slow"), "" when the
	// target gave none: the recorder then counts it under the outcome's
	// name. Expected to be a constant string.
	Cause string
	// Example is the failure in words ("response timeout: no answer within
	// 1s"): the error set keeps the first one per cause, so each distinct
	// cause is shown with one real occurrence.
	Example string
}

// OutcomeCounts counts transactions per outcome, indexed by [Outcome].
// It marshals to a JSON object with every outcome name as a key, in a fixed
// order, zeros included, so reports are easy to diff.
type OutcomeCounts [NumOutcomes]int64

// Total is the number of transactions counted.
func (c OutcomeCounts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Answered is approved + declined: transactions the host answered in time.
func (c OutcomeCounts) Answered() int64 { return c[Approved] + c[Declined] }

// TimedOut is the number of timed-out transactions, reversed or not.
func (c OutcomeCounts) TimedOut() int64 {
	return c[TimedOutReversed] + c[TimedOutReversalPending] + c[TimedOutNoReversal]
}

// Errors is every transaction that did not get an answer in time:
// timeouts, link failures and requests not sent.
func (c OutcomeCounts) Errors() int64 { return c.Total() - c.Answered() }

// Add adds o to c.
func (c *OutcomeCounts) Add(o *OutcomeCounts) {
	for i := range c {
		c[i] += o[i]
	}
}

// MarshalJSON writes {"approved":n,...} in Outcome order.
func (c OutcomeCounts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, v := range c {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", Outcome(i).String(), v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes; unknown keys are an error.
func (c *OutcomeCounts) UnmarshalJSON(data []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*c = OutcomeCounts{}
	for k, v := range m {
		o, err := ParseOutcome(k)
		if err != nil {
			return err
		}
		c[o] = v
	}
	return nil
}
