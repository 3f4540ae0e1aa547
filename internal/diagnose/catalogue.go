// Package diagnose holds possim's cause catalogue — the one place every
// "what went wrong" rule lives (DESIGN.md §9) — and, later, the analysers
// that find causes in live probes, captures and traces.
//
// A cause is a small registered entry, the shape internal/fault uses for
// fault types: a stable id, its family, a sentence for the merchant and one
// for the engineer, the evidence that identifies it, the fix, and which item
// of the merchant checklist would have helped. Outputs never word a failure
// themselves: they carry a Finding (a cause id plus what was seen this time)
// and look the words up here, so every output says the same thing.
package diagnose

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// ID is a cause's stable identifier, "family.name" in snake_case
// ("link.reset", "response.missing_field"). IDs are API: reports, JSON and
// tests key on them, so an id is never renamed, only retired.
type ID string

// Family groups causes the way a support desk sorts "the POS stopped
// working" calls.
type Family string

const (
	FamilyHostDown Family = "host_down"        // nothing answers at the host's address
	FamilyNetwork  Family = "network"          // the path between terminal and host
	FamilyLink     Family = "link"             // the TCP connection itself
	FamilyTiming   Family = "timing"           // answers that come too late or never
	FamilyFraming  Family = "framing_settings" // length header, TPDU, dialect, addresses
	FamilyMessage  Family = "message_software" // what the messages say
	FamilySecurity Family = "security_keys"    // MACs, keys, certificates
	FamilyIssuer   Family = "issuer_card"      // the issuer's or the card's answer
)

// Families lists every family in the order reports show them.
var Families = []Family{FamilyHostDown, FamilyNetwork, FamilyLink, FamilyTiming,
	FamilyFraming, FamilyMessage, FamilySecurity, FamilyIssuer}

// Checklist is an item of the advice merchants get when "the POS machine
// stopped working" (shared/pos-troubleshooting-article.zh.txt).
type Checklist string

const (
	CheckNone     Checklist = ""               // no checklist item would have helped
	CheckPower    Checklist = "power"          // check the power and the battery
	CheckRestart  Checklist = "restart"        // restart the terminal
	CheckNetwork  Checklist = "network_signal" // check the network cable, Wi-Fi or mobile signal
	CheckSettings Checklist = "settings"       // check the terminal's settings (host address, port, keys)
	CheckCard     Checklist = "card"           // check the card (chip, stripe, another card)
	CheckSoftware Checklist = "software"       // update the terminal's software
	CheckSupport  Checklist = "support"        // call the acquirer's or vendor's help desk
)

// Cause is one entry of the catalogue.
type Cause struct {
	ID     ID
	Family Family
	// Title is a few words for tables and ladders: "link reset by peer".
	Title string
	// Merchant says what happened in words a shop assistant understands.
	Merchant string
	// Engineer says what happened on the wire, for the person who fixes it.
	Engineer string
	// Evidence is what identifies this cause and tells it apart from its
	// neighbours (what the rule that names it looks at).
	Evidence string
	// Fix is what to do about it, as an instruction.
	Fix string
	// Checklist is the merchant-checklist item that would have helped, and
	// ChecklistNote says how (or why none would).
	Checklist     Checklist
	ChecklistNote string
}

var (
	mu       sync.RWMutex
	registry = map[ID]Cause{}
)

// tables are the causes_*.go files' entries, one small []Cause table per
// family (two where a file groups them).
var tables = [][]Cause{framingCauses1, framingCauses2, hostCauses1, hostCauses2, issuerCauses, linkCauses1, linkCauses2, messageCauses, networkCauses, securityCauses1, securityCauses2, terminalCauses, timingCauses1, timingCauses2, tlsCauses}

// Every entry of every table is registered by id at start-up.
func init() {
	for _, t := range tables {
		for _, c := range t {
			Register(c)
		}
	}
}

// Register adds c to the catalogue (the tables above at start-up; a test
// may add its own). A duplicate or incomplete entry is a programming error and
// panics at start-up, where every test sees it.
func Register(c Cause) {
	if err := c.validate(); err != nil {
		panic("diagnose: " + err.Error())
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[c.ID]; dup {
		panic("diagnose: cause " + string(c.ID) + " registered twice")
	}
	registry[c.ID] = c
}

func (c Cause) validate() error {
	id := string(c.ID)
	dot := strings.IndexByte(id, '.')
	switch {
	case dot <= 0 || dot == len(id)-1:
		return fmt.Errorf("cause id %q is not family.name", id)
	case c.Family == "":
		return fmt.Errorf("cause %s has no family", id)
	case c.Title == "" || c.Merchant == "" || c.Engineer == "" || c.Evidence == "" || c.Fix == "":
		return fmt.Errorf("cause %s lacks a title, merchant or engineer sentence, evidence or fix", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return fmt.Errorf("cause id %q: use lower-case snake_case", id)
		}
	}
	return nil
}

// Lookup returns the cause with id.
func Lookup(id ID) (Cause, bool) {
	mu.RLock()
	defer mu.RUnlock()
	c, ok := registry[id]
	return c, ok
}

// MustLookup returns the cause with id, or a placeholder that says the id is
// unknown (never a panic in an output path; TestEveryUsedIDIsRegistered-style
// tests catch the mistake).
func MustLookup(id ID) Cause {
	if c, ok := Lookup(id); ok {
		return c
	}
	return Cause{ID: id, Family: "unknown", Title: string(id), Merchant: string(id),
		Engineer: "cause " + string(id) + " is not in the catalogue", Evidence: "-",
		Fix: "report this to possim's developers: an output named a cause the catalogue lacks"}
}

// All returns every cause, sorted by family (in Families order) then id.
func All() []Cause {
	mu.RLock()
	out := make([]Cause, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	mu.RUnlock()
	rank := map[Family]int{}
	for i, f := range Families {
		rank[f] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := rank[out[i].Family], rank[out[j].Family]; a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// outcomeCauses maps the outcome names a load report counts failures under
// when the target gave no cause (internal/load's CauseOf) to the cause
// that says the same, so an error set still prints a fix.
var outcomeCauses = map[string]ID{
	"timeout_reversed": ResponseTimeout, "timeout_reversal_pending": ReversalUnacknowledged,
	"timed_out": ResponseTimeout, "link_failed": LinkDown, "not_sent": TerminalQueueFull,
}

// Describe returns the catalogue entry for a cause id, or for an outcome
// name that stands for one; false for anything else.
func Describe(name string) (Cause, bool) {
	if c, ok := Lookup(ID(name)); ok {
		return c, true
	}
	if id, ok := outcomeCauses[name]; ok {
		return Lookup(id)
	}
	return Cause{}, false
}
