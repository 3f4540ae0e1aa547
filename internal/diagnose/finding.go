package diagnose

import "time"

// Finding is one cause seen once: the catalogue entry's id plus what was
// seen this time. Outputs carry Findings and take the words from the
// catalogue, so they never word a failure themselves.
type Finding struct {
	Cause ID `json:"cause"`
	// Detail is this occurrence in plain words, with its numbers: "the
	// approval is for 99.99, the sale was 10.00", "the sign-on took 820 ms".
	Detail string `json:"detail,omitempty"`
	// Fix, when set, is a fix specific to this occurrence ("set the
	// terminal's length header to binary2"); otherwise the catalogue's.
	Fix string `json:"fix,omitempty"`
	// Evidence is what was seen on the wire, in order.
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Evidence is one observation: when (relative to the start of the
// transaction or probe) and what.
type Evidence struct {
	At   time.Duration `json:"at"`
	What string        `json:"what"`
}

// Entry returns the catalogue entry of f.
func (f Finding) Entry() Cause { return MustLookup(f.Cause) }

// FixText is the fix to print: the specific one when the finding has it,
// otherwise the catalogue's.
func (f Finding) FixText() string {
	if f.Fix != "" {
		return f.Fix
	}
	return f.Entry().Fix
}

// Explanation is the one-line explanation to print: the detail when there is
// one, otherwise the catalogue's engineer sentence.
func (f Finding) Explanation() string {
	if f.Detail != "" {
		return f.Detail
	}
	return f.Entry().Engineer
}
