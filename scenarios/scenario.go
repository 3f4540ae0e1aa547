// Package scenarios is possim's scenario runner: a scenario is a YAML file
// that sets up a host and one or more terminals, plays steps on a timeline
// (transactions, faults added and removed, links dropped, the host
// restarted, waits) and checks expectations — per step (outcome, RC,
// latency), on recovery (reversals, re-sign-on, echo) and at the end (the
// host's and the terminals' accounts agree). Everything runs over real TCP
// on 127.0.0.1.
//
// The reports are a readable ladder diagram (text), JSON and JUnit XML. The
// library of built-in scenarios is embedded (library/*.yaml); each is also a
// test of this package.
package scenarios

import (
	"fmt"
	"github.com/possim/possim/internal/diagnose"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/terminal"
)

// Scenario is one validated scenario.
type Scenario struct {
	Name        string
	Title       string // one line, for lists
	Description string // for a trainer: what the merchant sees, what happened, how to confirm, how to fix
	Seed        uint64
	File        string        // where it was read from ("library/happy-path.yaml", a path)
	Timeout     time.Duration // bound on the whole run
	Host        HostSpec
	Terminals   []TerminalSpec
	Steps       []Step
	Expect      []Expectation
	Source      []byte // the YAML as read
}

// HostSpec configures the scenario's host.
type HostSpec struct {
	Dialect      DialectSpec
	Rules        *host.RuleSet // nil: the built-in test cards
	IdleTimeout  time.Duration
	Faults       []fault.Rule
	Keys         *KeySpec // MACs and working keys; nil: off
	Pos          string
	rulesInitial *host.RuleSet // Rules, with the test cards appended when asked
}

// KeySpec turns on MACs and working keys on a side. The key itself is
// never printed: reports show check values only.
type KeySpec struct {
	TMK              []byte
	TMKSource        string // "test" (the public demo key) or "hex"
	Alg              mac.Algorithm
	Pad              mac.Padding
	FailRC           string        // host: RC answering a MAC failure (default 63)
	MACNetwork       bool          // also MAC 08xx
	KeyChangeTimeout time.Duration // host: wait for the 0810 to a key change
}

// TestTMK is the public demo terminal master key of the README
// (0123456789ABCDEFFEDCBA9876543210), used by "tmk: test". Never a real key.
var TestTMK = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}

// DialectSpec says how a side puts messages on the wire.
type DialectSpec struct {
	Name         string // iso87ascii (default), iso87bin
	LengthHeader string // binary2, bcd2, ascii4; "" keeps the dialect's
	TPDU, Header string
	// Bitmap is "standard" (64-bit bitmaps, bit 1 announcing the next) or
	// "single128": one 128-bit bitmap with bit 1 never set, as moov-io's
	// stock Spec87ASCII writes it (a non-standard peer; possim never ships
	// it as a dialect).
	Bitmap string
	Match  string // matching key, "tid,stan" by default
}

// TerminalSpec configures one terminal.
type TerminalSpec struct {
	ID               string // how steps name it (T1)
	TID              string
	Dialect          DialectSpec
	Timeout          time.Duration
	SignOn           bool
	Connect          string // "start" or "manual"
	KeepConnected    bool   // run the terminal's loop: reconnect, sign on, flush stored reversals, echo after idle
	EchoIdle         time.Duration
	ReversalAttempts int
	ReversalBackoff  time.Duration
	ConnectAttempts  int
	ReconnectBackoff time.Duration
	ConnectTimeout   time.Duration
	Faults           []fault.Rule
	Keys             *KeySpec // MACs and working keys; nil: off
	Pos              string
}

// Action is what a step does: the key of its kind (send, wait, …).
type Action string

// Step is one point of the timeline.
type Step struct {
	Index    int // 1-based
	ID       string
	Pos      string
	Action   Action
	At       time.Duration // when >0: not before this scenario time
	Terminal string        // the terminal the step acts on, when it acts on one
	Tx       terminal.Tx   // send, sign_on, echo, await: the transaction
	Spec     StepSpec      // what the step's kind holds (*SendStep, *WaitStep, …)
	Expect   *StepExpect   // send, sign_on, echo, await: on the outcome
}

// Describe is a one-line description of the step.
func (s *Step) Describe() string {
	if s.Spec == nil {
		return string(s.Action)
	}
	return s.Spec.describe(s)
}

// label names a step in reports: "step 3 (buy)".
func (s *Step) label() string {
	if s.ID != "" {
		return fmt.Sprintf("step %d (%s)", s.Index, s.ID)
	}
	return fmt.Sprintf("step %d", s.Index)
}

// StepExpect is what a step with a transaction (send, sign_on, echo,
// await) expects of its outcome. Other kinds that take an expect: hold
// their own (ConnectStep.Expect, RotateKeysStep.Expect).
type StepExpect struct {
	Pos        string
	Outcome    []terminal.Class
	RC         []string
	Cause      []diagnose.ID // the outcome's cause is one of these
	Why        string        // substring of the outcome's why (or the connect error)
	LatencyMin time.Duration
	LatencyMax time.Duration
	Reversal   *ReversalExpect
}

// ReversalExpect is what a step expects of its outcome's reversal.
type ReversalExpect struct {
	Acked    *bool
	Pending  *bool
	Attempts *Count
}

// ExpectKind is the kind of an end expectation.
type ExpectKind string

// Expectation is checked after the last step (recovery and end of day).
type Expectation struct {
	Kind ExpectKind
	Pos  string
	Spec ExpectSpec // what the kind holds (*ReversalExpectation, *EventExpectation, …)
}

// Matcher selects recorded events.
type Matcher struct {
	Kind     EventKind // one of matchableEvents
	Side     string    // "host", "terminal" (any), or a terminal id; "" any
	MTI      []string
	StanOf   string // the STAN of this step's transaction
	Contains string // in the summary or detail
	Count    *Count
}

// Describe is a short description of the matcher.
func (m *Matcher) Describe() string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(string(m.Kind), "_", " "))
	if m.Side != "" {
		b.WriteString(" at " + m.Side)
	}
	if len(m.MTI) > 0 {
		b.WriteString(" mti " + strings.Join(m.MTI, "|"))
	}
	if m.StanOf != "" {
		b.WriteString(" for the STAN of " + m.StanOf)
	}
	if m.Contains != "" {
		b.WriteString(fmt.Sprintf(" containing %q", m.Contains))
	}
	return b.String()
}

// Count is an inclusive range of counts; Max < 0 means no upper bound.
type Count struct{ Min, Max int }

// ParseCount reads "3", "1..3", "1..", "..2", ">=1", "<=2", ">0".
func ParseCount(s string) (Count, error) {
	s = strings.TrimSpace(s)
	num := func(v string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("count %q: want a whole number, N..M, N.., ..M, >=N or <=N", s)
		}
		return n, nil
	}
	switch {
	case strings.HasPrefix(s, ">="):
		n, err := num(s[2:])
		return Count{n, -1}, err
	case strings.HasPrefix(s, "<="):
		n, err := num(s[2:])
		return Count{0, n}, err
	case strings.HasPrefix(s, ">"):
		n, err := num(s[1:])
		return Count{n + 1, -1}, err
	}
	if lo, hi, ok := strings.Cut(s, ".."); ok {
		c := Count{0, -1}
		var err error
		if lo != "" {
			if c.Min, err = num(lo); err != nil {
				return c, err
			}
		}
		if hi != "" {
			if c.Max, err = num(hi); err != nil {
				return c, err
			}
		}
		if lo == "" && hi == "" {
			return c, fmt.Errorf("count %q: give at least one bound", s)
		}
		if c.Max >= 0 && c.Min > c.Max {
			return c, fmt.Errorf("count %q: min is greater than max", s)
		}
		return c, nil
	}
	n, err := num(s)
	return Count{n, n}, err
}

// Has reports whether n is in the range.
func (c Count) Has(n int) bool { return n >= c.Min && (c.Max < 0 || n <= c.Max) }

func (c Count) String() string {
	switch {
	case c.Min == c.Max:
		return strconv.Itoa(c.Min)
	case c.Max < 0:
		return fmt.Sprintf("at least %d", c.Min)
	case c.Min == 0:
		return fmt.Sprintf("at most %d", c.Max)
	}
	return fmt.Sprintf("%d to %d", c.Min, c.Max)
}

func formatAmount(minor int64) string { return fmt.Sprintf("%d.%02d", minor/100, minor%100) }
