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
	"github.com/possim/possim/internal/iso"
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

// Action is what a step does.
type Action string

const (
	ActSend        Action = "send"
	ActSignOn      Action = "sign_on"
	ActEcho        Action = "echo"
	ActConnect     Action = "connect"
	ActWait        Action = "wait"
	ActWaitFor     Action = "wait_for"
	ActAwait       Action = "await"
	ActAddFault    Action = "add_fault"
	ActRemoveFault Action = "remove_fault"
	ActDropLink    Action = "drop_link"
	ActRestartHost Action = "restart_host"
	ActSetRules    Action = "set_rules"
	ActRotateKeys  Action = "rotate_keys"
	ActNote        Action = "note"
)

var actions = []Action{ActSend, ActSignOn, ActEcho, ActConnect, ActWait, ActWaitFor, ActAwait,
	ActAddFault, ActRemoveFault, ActDropLink, ActRestartHost, ActSetRules, ActRotateKeys, ActNote}

// Step is one point of the timeline.
type Step struct {
	Index    int // 1-based
	ID       string
	Pos      string
	Action   Action
	At       time.Duration // when >0: not before this scenario time
	Terminal string        // send, sign_on, echo, connect, drop_link (a terminal), wait_for
	Tx       terminal.Tx   // send, sign_on, echo
	RRNOf    string        // send: the original's RRN is the answer to this step id's transaction
	Async    bool          // send: do not wait for the outcome
	Notify   bool          // rotate_keys: tell the terminal (a host 0800 key change)
	Duration time.Duration // wait; restart_host: downtime; wait_for: within
	FaultOn  string        // add_fault: "host" or a terminal id
	Fault    fault.Rule    // add_fault
	Name     string        // remove_fault: the fault's name; await: the step id; drop_link: host or terminal id
	Rules    *host.RuleSet // set_rules (nil: back to the scenario's own)
	Text     string        // note
	Cond     string        // wait_for: link_up, link_down, signed_on, reversals_flushed, host_up, event
	Event    *Matcher      // wait_for event
	Expect   *StepExpect
}

// Describe is a one-line description of the step.
func (s *Step) Describe() string {
	switch s.Action {
	case ActSend:
		d := fmt.Sprintf("send %s", s.Tx.Kind)
		if s.Tx.Amount > 0 {
			d += " " + formatAmount(s.Tx.Amount)
		}
		if s.Tx.Card.PAN != "" {
			d += " card " + iso.MaskPAN(s.Tx.Card.PAN)
		}
		d += " on " + s.Terminal
		if s.Async {
			d += " (not waiting)"
		}
		return d
	case ActSignOn:
		return "sign on " + s.Terminal
	case ActEcho:
		return "echo test from " + s.Terminal
	case ActConnect:
		return "connect " + s.Terminal
	case ActWait:
		return "wait " + s.Duration.String()
	case ActWaitFor:
		var what string
		switch s.Cond {
		case "event":
			what = "event " + s.Event.Describe()
		case "host_up", "host_down":
			what = strings.ReplaceAll(s.Cond, "_", " ") // the host has no terminal to name
		default:
			what = strings.ReplaceAll(s.Cond, "_", " ") + " on " + s.Terminal
		}
		return fmt.Sprintf("wait for %s (at most %s)", what, s.Duration)
	case ActAwait:
		return "await the outcome of step " + s.Name
	case ActAddFault:
		return fmt.Sprintf("add fault %s on %s", s.Fault.String(), s.FaultOn)
	case ActRemoveFault:
		return "remove fault " + s.Name
	case ActDropLink:
		if s.Name == "host" {
			return "the host drops every link"
		}
		return "drop the link of " + s.Name
	case ActRestartHost:
		if s.Duration > 0 {
			return fmt.Sprintf("host crashes, down for %s", s.Duration)
		}
		return "host restarts (links drop, listener back at once)"
	case ActSetRules:
		if s.Rules == nil {
			return "host rules back to the scenario's own"
		}
		return "host rules changed"
	case ActRotateKeys:
		if s.Notify {
			return "the host changes the working keys of " + s.Terminal + " (0800 key change)"
		}
		return "the host changes the working keys of " + s.Terminal + " without telling it"
	case ActNote:
		return "note"
	}
	return string(s.Action)
}

// label names a step in reports: "step 3 (buy)".
func (s *Step) label() string {
	if s.ID != "" {
		return fmt.Sprintf("step %d (%s)", s.Index, s.ID)
	}
	return fmt.Sprintf("step %d", s.Index)
}

// StepExpect is what a send, sign_on, echo, await or connect step expects.
type StepExpect struct {
	Pos        string
	Outcome    []terminal.Class
	RC         []string
	Cause      []diagnose.ID // the outcome's cause is one of these
	Why        string        // substring of the outcome's why (or the connect error)
	LatencyMin time.Duration
	LatencyMax time.Duration
	Reversal   *ReversalExpect
	Connected  *bool // connect
	Confirmed  *bool // rotate_keys: the terminal confirmed the key change
}

// ReversalExpect is what a step expects of its outcome's reversal.
type ReversalExpect struct {
	Acked    *bool
	Pending  *bool
	Attempts *Count
}

// ExpectKind is the kind of an end expectation.
type ExpectKind string

const (
	ExReversal          ExpectKind = "reversal"
	ExSignOn            ExpectKind = "sign_on"
	ExEcho              ExpectKind = "echo"
	ExLinkDown          ExpectKind = "link_down"
	ExEvent             ExpectKind = "event"
	ExHostLog           ExpectKind = "host_log"
	ExFaultFired        ExpectKind = "fault_fired"
	ExHostLedger        ExpectKind = "host_ledger"
	ExTerminalOutcomes  ExpectKind = "terminal_outcomes"
	ExAccountsAgree     ExpectKind = "accounts_agree"
	ExNoDuplicateCharge ExpectKind = "no_duplicate_charge"
	ExPendingReversals  ExpectKind = "pending_reversals"
)

var expectKinds = []ExpectKind{ExReversal, ExSignOn, ExEcho, ExLinkDown, ExEvent, ExHostLog, ExFaultFired,
	ExHostLedger, ExTerminalOutcomes, ExAccountsAgree, ExNoDuplicateCharge, ExPendingReversals}

// Expectation is checked after the last step (recovery and end of day).
type Expectation struct {
	Kind     ExpectKind
	Pos      string
	Of       string        // reversal: the step; sign_on, echo, link_down, pending_reversals: the terminal
	After    string        // sign_on, echo: only after this step started
	Within   time.Duration // reversal: first reversal sent within this of the original; sign_on: of the after step; echo: the idle time before each echo
	Repeats  *Count        // reversal: 0401/0421 repeats
	Acked    *bool         // reversal
	Answered *bool         // echo
	Count    *Count        // how many (sign_on, echo, link_down, event, host_log, fault_fired, pending_reversals)
	Text     string        // link_down: why contains; host_log: contains; fault_fired: the rule
	Event    *Matcher      // event
	Counts   map[string]*Count
	Want     bool // accounts_agree, no_duplicate_charge
	Terminal string
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
