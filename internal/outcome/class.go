// Package outcome is possim's one model of how a transaction ended
// (DESIGN.md §9): the class, the RC and its meaning, the cause (a
// diagnose.Finding whose id is in the catalogue), the explanation, the
// evidence with times, and the reversal's story — and the one formatter per
// output format (text and JSON). The terminal, the scenario reports and the
// load reports all use it; none words an outcome itself.
package outcome

import "fmt"

// Class is how a transaction ended. Every transaction ends in exactly one
// class (DESIGN.md §5), so counts per class add up to the transactions.
// The numeric values are stable: load results files and arrays indexed by
// Class depend on them, so a new class is only ever appended.
type Class uint8

const (
	// Approved: a matched response arrived in time with an approving RC and
	// passed the POS checks (echoed fields unchanged, approval code).
	Approved Class = iota
	// Declined: a matched, trustworthy response with any other RC. The host
	// did its job; the answer was no.
	Declined
	// TimedOutReversed: no trustworthy answer in time; a reversal was sent
	// and acknowledged.
	TimedOutReversed
	// TimedOutReversalPending: no trustworthy answer in time; the reversal
	// was not (yet) acknowledged: it waits in store-and-forward.
	TimedOutReversalPending
	// TimedOutNoReversal: no answer in time for a transaction that moves no
	// money (balance, echo, sign-on): nothing to reverse.
	TimedOutNoReversal
	// LinkFailed: written, but the link broke before an answer or timeout.
	LinkFailed
	// NotSent: never written (no link, queue full, bad request, cancelled).
	NotSent
	// Failed: the host answered, but the answer failed the POS checks (no
	// response code, an echoed field changed, an approval without approval
	// code). A financial one is reversed: see the outcome's reversal.
	Failed

	// NumClasses is the number of classes; arrays indexed by Class use it.
	NumClasses = int(Failed) + 1
)

var classNames = [NumClasses]string{
	"approved",
	"declined",
	"timeout_reversed",
	"timeout_reversal_pending",
	"timed_out",
	"link_failed",
	"not_sent",
	"failed",
}

// Classes lists every class in order.
func Classes() []Class {
	out := make([]Class, NumClasses)
	for i := range out {
		out[i] = Class(i)
	}
	return out
}

// String returns the snake_case name used in reports and JSON.
func (c Class) String() string {
	if int(c) < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("outcome(%d)", uint8(c))
}

// Valid reports whether c is one of the defined classes.
func (c Class) Valid() bool { return int(c) < NumClasses }

// Answered reports whether the host answered in time with a trustworthy
// answer (approved or declined).
func (c Class) Answered() bool { return c == Approved || c == Declined }

// TimedOut reports whether the transaction timed out (reversed or not).
func (c Class) TimedOut() bool {
	return c == TimedOutReversed || c == TimedOutReversalPending || c == TimedOutNoReversal
}

// ParseClass is the inverse of [Class.String].
func ParseClass(s string) (Class, error) {
	for i, n := range classNames {
		if n == s {
			return Class(i), nil
		}
	}
	return 0, fmt.Errorf("unknown outcome %q (want one of %v)", s, classNames)
}

// MarshalText implements encoding.TextMarshaler.
func (c Class) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("invalid outcome %d", uint8(c))
	}
	return []byte(classNames[c]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Class) UnmarshalText(b []byte) error {
	v, err := ParseClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
