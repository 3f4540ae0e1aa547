package studio

import (
	"fmt"
	"strings"
	"time"

	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
)

// Lanes of the ladder. Scenario terminals beyond the first get a lane of
// their own, named by their id.
const (
	LaneTerminal = "terminal"
	LaneProxy    = "proxy"
	LaneHost     = "host"
)

// State is everything besides the ladder rows: sent to the page when it
// changes.
type State struct {
	Lanes    []string       `json:"lanes"`
	Mode     string         `json:"mode"` // "embedded" or the external host's address
	Screen   Screen         `json:"screen"`
	Counts   map[string]int `json:"counts"`   // outcome class → transactions
	Failures []TxView       `json:"failures"` // newest first, bounded
	Stream   StreamView     `json:"stream"`
	Scenario *ScenarioView  `json:"scenario,omitempty"`
	Link     string         `json:"link"` // "up" or why not
	HostUp   bool           `json:"host_up"`
	Embedded bool           `json:"embedded"`
	Sides    []string       `json:"sides"`   // sides with a fault control API: host, terminal
	Capture  bool           `json:"capture"` // pcap download available
	Units    string         `json:"units"`
}

func (s State) clone() State {
	c := s
	c.Lanes = append([]string(nil), s.Lanes...)
	c.Failures = append([]TxView(nil), s.Failures...)
	c.Counts = make(map[string]int, len(s.Counts))
	for k, v := range s.Counts {
		c.Counts[k] = v
	}
	if s.Scenario != nil {
		sc := *s.Scenario
		sc.Steps = append([]StepView(nil), s.Scenario.Steps...)
		sc.Expect = append([]ExpectView(nil), s.Scenario.Expect...)
		c.Scenario = &sc
	}
	return c
}

// Screen is what the merchant's terminal displays.
type Screen struct {
	Icon  string `json:"icon"`
	Tone  string `json:"tone"` // ok, bad, warn, info
	Line1 string `json:"line1"`
	Line2 string `json:"line2,omitempty"`
	Tx    int64  `json:"tx,omitempty"`
}

// TxView is one transaction as the page shows it.
type TxView struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	Amount    string     `json:"amount,omitempty"`
	Card      string     `json:"card,omitempty"`  // masked
	Class     string     `json:"class,omitempty"` // "" while in progress
	STAN      string     `json:"stan,omitempty"`
	RC        string     `json:"rc,omitempty"`
	RCMeaning string     `json:"rc_meaning,omitempty"`
	AuthCode  string     `json:"auth_code,omitempty"`
	LatencyMS float64    `json:"latency_ms,omitempty"`
	Why       string     `json:"why,omitempty"`
	Reversal  string     `json:"reversal,omitempty"`
	Screen    Screen     `json:"screen"`
	Cause     *CauseView `json:"cause,omitempty"`
	Source    string     `json:"source,omitempty"` // "manual", "stream", "scenario"
	Lane      string     `json:"lane,omitempty"`   // the terminal's lane
	Done      bool       `json:"done"`
}

// CauseView is a catalogue entry as the diagnosis shows it.
type CauseView struct {
	ID            string `json:"id"`
	Family        string `json:"family"`
	Title         string `json:"title"`
	Merchant      string `json:"merchant"`
	Engineer      string `json:"engineer"`
	Fix           string `json:"fix"`
	Checklist     string `json:"checklist,omitempty"`
	ChecklistNote string `json:"checklist_note,omitempty"`
	Detail        string `json:"detail,omitempty"`
}

func causeView(f diagnose.Finding) *CauseView {
	c := f.Entry()
	return &CauseView{ID: string(c.ID), Family: string(c.Family), Title: c.Title, Merchant: c.Merchant,
		Engineer: f.Explanation(), Fix: f.FixText(), Checklist: string(c.Checklist), ChecklistNote: c.ChecklistNote, Detail: f.Detail}
}

// StreamView is the load stream's state.
type StreamView struct {
	TPS     int     `json:"tps"` // transactions/s asked (2 messages each)
	Sent    int64   `json:"sent"`
	Done    int64   `json:"done"`
	Failed  int64   `json:"failed"`
	Skipped int64   `json:"skipped"` // not started: too many in flight
	Rate    float64 `json:"msgs_per_s"`
}

// ScenarioView is the scenario on stage.
type ScenarioView struct {
	Name        string       `json:"name"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Status      string       `json:"status"` // ready, playing, paused, done, stopped
	Speed       int          `json:"speed"`
	Step        int          `json:"step"` // the step playing or next (1-based)
	Steps       []StepView   `json:"steps"`
	Expect      []ExpectView `json:"expect"`
	Passed      *bool        `json:"passed,omitempty"`
	Verdict     string       `json:"verdict,omitempty"`
}

// StepView is one scenario step.
type StepView struct {
	Index int    `json:"index"`
	Text  string `json:"text"`
	State string `json:"state"` // todo, now, done
}

// ExpectView is one expectation: ticked when met.
type ExpectView struct {
	Step     int    `json:"step,omitempty"` // 0: at the end
	Text     string `json:"text"`
	State    string `json:"state"` // waiting, met, failed
	Evidence string `json:"evidence,omitempty"`
}

// screenFor is what a POS displays for a finished transaction.
func screenFor(tx *TxView) Screen {
	s := Screen{Tx: tx.ID}
	support := tx.Cause != nil && tx.Cause.Checklist == string(diagnose.CheckSupport)
	switch tx.Class {
	case "approved":
		s.Icon, s.Tone, s.Line1 = "✔", "ok", "APPROVED"
		if tx.AuthCode != "" {
			s.Line2 = "auth code " + tx.AuthCode
		}
		if tx.Kind == "echo" || tx.Kind == "signon" {
			s.Line2 = tx.Kind + " answered"
		}
	case "declined":
		s.Icon, s.Tone = "✖", "bad"
		s.Line1 = fmt.Sprintf("DECLINED %s — %s", tx.RC, strings.ToLower(iso.RCMeaning(tx.RC)))
		if tx.RC == "" {
			s.Line1 = "DECLINED"
		}
		if support || tx.Cause != nil && tx.Cause.Family == string(diagnose.FamilySecurity) {
			s.Line1 = "CALL HELP DESK"
			s.Line2 = fmt.Sprintf("declined %s — %s", tx.RC, strings.ToLower(iso.RCMeaning(tx.RC)))
		}
	case "timeout_reversed":
		s.Icon, s.Tone, s.Line1 = "⟲", "warn", "NO RESPONSE — REVERSING"
		s.Line2 = "reversal acknowledged: the customer is not charged"
	case "timeout_reversal_pending":
		s.Icon, s.Tone, s.Line1 = "☎", "bad", "NO RESPONSE — CALL HELP DESK"
		s.Line2 = "reversal stored: it goes out when the host answers again"
	case "timed_out":
		s.Icon, s.Tone, s.Line1 = "…", "warn", "NO RESPONSE"
		s.Line2 = "try again"
	case "link_failed":
		s.Icon, s.Tone, s.Line1 = "☎", "bad", "CONNECTION LOST — CALL HELP DESK"
		if tx.Reversal != "" {
			s.Line2 = "reversal stored for the next connection"
		}
	case "failed": // the answer failed the POS checks: not trusted
		s.Icon, s.Tone, s.Line1 = "☎", "bad", "CALL HELP DESK"
		s.Line2 = "the host's answer failed the terminal's checks"
		if tx.Reversal != "" {
			s.Line2 += "; the payment is reversed"
		}
	case "not_sent":
		s.Icon, s.Tone, s.Line1 = "☎", "bad", "NO CONNECTION — CALL HELP DESK"
	default:
		s.Icon, s.Tone, s.Line1 = "…", "info", "PROCESSING"
	}
	if s.Line2 == "" && tx.Cause != nil && tx.Class != "approved" {
		s.Line2 = tx.Cause.Merchant
	}
	return s
}

func msF(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// stateChanged bumps the state version; h.mu held.
func (h *hub) stateChanged() {
	h.stateV++
	h.wake()
}

// update changes the state under the hub's lock.
func (h *hub) update(f func(*State)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(&h.state)
	h.stateChanged()
}

const maxFailures = 30

// TxStarted shows a transaction in progress on the merchant's screen.
func (h *hub) TxStarted(tx TxView) {
	if tx.Source == "stream" {
		return
	}
	h.update(func(s *State) {
		s.Screen = Screen{Icon: "…", Tone: "info", Line1: "PROCESSING", Line2: strings.TrimSpace(tx.Kind + " " + tx.Amount), Tx: tx.ID}
	})
}

// Reversing: the terminal is sending a reversal for a transaction in
// progress.
func (h *hub) Reversing() {
	h.update(func(s *State) {
		if s.Screen.Line1 == "PROCESSING" {
			s.Screen = Screen{Icon: "⟲", Tone: "warn", Line1: "NO RESPONSE — REVERSING", Line2: "the terminal cancels the payment at the host", Tx: s.Screen.Tx}
		}
	})
}

// TxDone records a finished transaction: the screen, the counts, the
// failures and an outcome row.
func (h *hub) TxDone(tx TxView) {
	tx.Screen = screenFor(&tx)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.state
	if s.Counts == nil {
		s.Counts = map[string]int{}
	}
	s.Counts[tx.Class]++
	failed := tx.Class != "approved" && tx.Class != ""
	if tx.Source == "stream" {
		s.Stream.Done++
		if failed {
			s.Stream.Failed++
		}
	} else {
		s.Screen = tx.Screen
	}
	if failed {
		s.Failures = append([]TxView{tx}, s.Failures...)
		if len(s.Failures) > maxFailures {
			s.Failures = s.Failures[:maxFailures]
		}
	}
	h.stateChanged()
	tone := "ok"
	if failed {
		tone = tx.Screen.Tone
	}
	text := tx.Screen.Line1
	if tx.Cause != nil && failed {
		text += " · cause: " + tx.Cause.Title
	}
	c := tx
	lane := tx.Lane
	if lane == "" {
		lane = LaneTerminal
	}
	if tx.Source == "stream" && !failed {
		return // a stream's approvals are counted, not listed
	}
	h.add(&Row{Type: RowOutcome, AtMS: h.ms(time.Now()), Lane: lane, Icon: tx.Screen.Icon, Tone: tone, Text: text, Tx: &c, STAN: tx.STAN})
}
