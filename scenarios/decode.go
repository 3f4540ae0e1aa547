package scenarios

import (
	"bytes"
	"fmt"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/outcome"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/terminal"
	"go.yaml.in/yaml/v3"
)

// Defaults of a scenario terminal: short, so that a scenario plays in
// seconds (scenario time is real time; keep timeouts well under a second).
const (
	defaultTimeout          = 500 * time.Millisecond
	defaultReversalBackoff  = 100 * time.Millisecond
	defaultReconnectBackoff = 100 * time.Millisecond
	defaultConnectTimeout   = time.Second
	defaultWithin           = 5 * time.Second
	defaultScenarioTimeout  = 30 * time.Second
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
var idRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// LoadFile reads and validates a scenario file.
func LoadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Load(path, data)
}

// Load parses and validates a scenario. file names it in errors
// ("file:12: ..."). Decoding is strict: an unknown key, a key given twice,
// a value of the wrong shape or a reference to a terminal, step or fault
// that does not exist is an error.
func Load(file string, data []byte) (*Scenario, error) {
	d := &dec{file: file}
	yd := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := yd.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty scenario (see possim scenarios new)", file)
		}
		return nil, d.yamlErr(err)
	}
	var extra yaml.Node
	if err := yd.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, d.yamlErr(err)
		}
		return nil, d.errf(&extra, "a scenario file holds one YAML document; remove this \"---\" and what follows")
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty scenario", file)
	}
	top, err := d.mapping(doc.Content[0], "scenario", "name", "title", "description", "seed", "timeout", "host", "terminals", "steps", "expect")
	if err != nil {
		return nil, err
	}
	sc := &Scenario{File: file, Source: data, Seed: 1}
	sc.Name = top.required("name")
	sc.Title = strings.TrimSpace(top.str("title", ""))
	sc.Description = strings.TrimSpace(top.required("description"))
	sc.Timeout = top.dur("timeout", defaultScenarioTimeout)
	if s, ok := top.scalar("seed"); ok {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v == 0 {
			top.fail("seed", "%q: want a whole number from 1", s)
		}
		sc.Seed = v
	}
	if top.err != nil {
		return nil, top.err
	}
	if !nameRE.MatchString(sc.Name) {
		return nil, d.errf(top.key("name"), "name %q: use lower-case letters, digits and dashes (it is typed on the command line)", sc.Name)
	}
	if sc.Description == "" {
		return nil, d.errf(top.key("description"), "description: write what the merchant sees, what really happened, how to confirm it and how to fix it")
	}
	if sc.Timeout == 0 {
		return nil, d.errf(top.key("timeout"), "timeout: must be positive")
	}
	if sc.Host, err = d.host(top.val("host"), top.key("host")); err != nil {
		return nil, err
	}
	if !top.has("terminals") {
		return nil, d.errf(top.n, "scenario: missing terminals: (at least one)")
	}
	if sc.Terminals, err = d.terminals(top.val("terminals"), top.key("terminals"), sc.Host.Keys); err != nil {
		return nil, err
	}
	if !top.has("steps") {
		return nil, d.errf(top.n, "scenario: missing steps:")
	}
	if sc.Steps, err = d.steps(sc, top.val("steps"), top.key("steps")); err != nil {
		return nil, err
	}
	if top.has("expect") {
		if sc.Expect, err = d.expectations(sc, top.val("expect"), top.key("expect")); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

func (d *dec) dialect(o *obj) DialectSpec {
	ds := DialectSpec{
		Name:         o.str("dialect", "iso87ascii"),
		LengthHeader: o.str("length_header", ""),
		TPDU:         o.str("tpdu", ""),
		Header:       o.str("header", ""),
		Bitmap:       o.enum("bitmap", "standard", "standard", "single128"),
		Match:        o.str("match", "tid,stan"),
	}
	if o.err != nil {
		return ds
	}
	if _, _, err := buildDialect(ds); err != nil {
		k := "dialect"
		switch {
		case strings.Contains(err.Error(), "length header"):
			k = "length_header"
		case strings.Contains(err.Error(), "TPDU"):
			k = "tpdu"
		case strings.Contains(err.Error(), "header"):
			k = "header"
		case strings.Contains(err.Error(), "match"):
			k = "match"
		}
		o.fail(k, "%v", err)
	}
	return ds
}

var dialectKeys = []string{"dialect", "length_header", "tpdu", "header", "bitmap", "match"}

func (d *dec) host(n, key *yaml.Node) (HostSpec, error) {
	hs := HostSpec{Dialect: DialectSpec{Name: "iso87ascii", Bitmap: "standard", Match: "tid,stan"}}
	if n == nil || isNull(n) {
		hs.rulesInitial = host.DefaultRules()
		if key != nil {
			hs.Pos = d.pos(key)
		}
		return hs, nil
	}
	o, err := d.mapping(n, "host", append([]string{"rules", "test_cards", "faults", "idle_timeout", "keys"}, dialectKeys...)...)
	if err != nil {
		return hs, err
	}
	hs.Pos = d.pos(key)
	hs.Dialect = d.dialect(o)
	hs.IdleTimeout = o.dur("idle_timeout", 0)
	cards := o.boolean("test_cards", true)
	if o.err != nil {
		return hs, o.err
	}
	if o.has("rules") {
		rs, err := d.rulesFromNode(o.val("rules"), d.file+" host rules")
		if err != nil {
			return hs, err
		}
		hs.Rules = rs
		hs.rulesInitial = rs
		if cards {
			hs.rulesInitial = rs.Then(host.DefaultRules())
		}
	} else if cards {
		hs.rulesInitial = host.DefaultRules()
	} else {
		hs.rulesInitial, _ = host.ParseRules("approve everything", []byte(`default: {rc: "00"}`))
	}
	if o.has("faults") {
		if hs.Faults, err = d.faults(o.val("faults")); err != nil {
			return hs, err
		}
	}
	if o.has("keys") {
		if hs.Keys, err = d.keys(o.val("keys"), "host keys", true); err != nil {
			return hs, err
		}
	}
	return hs, nil
}

// keys reads a keys: mapping (MACs and working keys).
func (d *dec) keys(n *yaml.Node, what string, isHost bool) (*KeySpec, error) {
	known := []string{"tmk", "alg", "pad", "mac_network"}
	if isHost {
		known = append(known, "fail_rc", "key_change_timeout")
	}
	o, err := d.mapping(n, what, known...)
	if err != nil {
		return nil, err
	}
	k := &KeySpec{TMKSource: "test"}
	switch s := o.required("tmk"); s {
	case "", "test":
		k.TMK = TestTMK
	default:
		b, err := mac.ParseHexKey(s)
		if err != nil {
			o.fail("tmk", "%v (or \"test\" for the public demo key)", err)
		} else if len(b) != 16 && len(b) != 24 {
			o.fail("tmk", "want a double- or triple-length TDES key: 32 or 48 hex digits")
		}
		k.TMK, k.TMKSource = b, "hex"
	}
	if s, ok := o.scalar("alg"); ok {
		if k.Alg, err = mac.ParseAlgorithm(s); err != nil {
			o.fail("alg", "%v", err)
		}
	}
	if s, ok := o.scalar("pad"); ok {
		if k.Pad, err = mac.ParsePadding(s); err != nil {
			o.fail("pad", "%v", err)
		}
	}
	k.MACNetwork = o.boolean("mac_network", false)
	k.FailRC = o.str("fail_rc", "")
	if k.FailRC != "" && len(k.FailRC) != 2 {
		o.fail("fail_rc", "%q: want 2 characters, quoted (\"63\")", k.FailRC)
	}
	k.KeyChangeTimeout = o.dur("key_change_timeout", 0)
	return k, o.err
}

// faults decodes a faults: list and checks each rule builds.
func (d *dec) faults(n *yaml.Node) ([]fault.Rule, error) {
	rules, err := fault.DecodeYAML(d.file, n)
	if err != nil {
		return nil, err
	}
	for i, r := range rules {
		if _, err := fault.New([]fault.Rule{r}, fault.Options{Seed: 1}); err != nil {
			line := n
			if n.Kind == yaml.SequenceNode && i < len(n.Content) {
				line = n.Content[i]
			}
			return nil, d.errf(line, "%v", err)
		}
	}
	return rules, nil
}

func (d *dec) terminals(n, key *yaml.Node, hostKeys *KeySpec) ([]TerminalSpec, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, d.errf(key, "terminals: want a list of at least one terminal, got %s", kindName(n))
	}
	var out []TerminalSpec
	seen := map[string]int{}
	tids := map[string]int{}
	for i, item := range n.Content {
		what := fmt.Sprintf("terminal %d", i+1)
		var o *obj
		var err error
		if isNull(item) {
			o = &obj{d: d, n: resolve(item), what: what, kv: map[string]keyVal{}}
		} else if o, err = d.mapping(item, what, append([]string{"id", "tid", "timeout", "sign_on", "connect", "keep_connected", "echo_idle",
			"reversal_attempts", "reversal_backoff", "connect_attempts", "reconnect_backoff", "connect_timeout", "faults", "keys"}, dialectKeys...)...); err != nil {
			return nil, err
		}
		ts := TerminalSpec{Pos: d.pos(resolve(item))}
		ts.ID = o.str("id", fmt.Sprintf("T%d", i+1))
		ts.TID = o.str("tid", fmt.Sprintf("TERM%04d", i+1))
		ts.Dialect = d.dialect(o)
		ts.Timeout = o.dur("timeout", defaultTimeout)
		ts.SignOn = o.boolean("sign_on", true)
		ts.Connect = o.enum("connect", "start", "start", "manual")
		ts.KeepConnected = o.boolean("keep_connected", false)
		ts.EchoIdle = o.dur("echo_idle", 0)
		ts.ReversalAttempts = o.integer("reversal_attempts", 3, 1, 20)
		ts.ReversalBackoff = o.dur("reversal_backoff", defaultReversalBackoff)
		ts.ConnectAttempts = o.integer("connect_attempts", 1, 1, 20)
		ts.ReconnectBackoff = o.dur("reconnect_backoff", defaultReconnectBackoff)
		ts.ConnectTimeout = o.dur("connect_timeout", defaultConnectTimeout)
		if o.err != nil {
			return nil, o.err
		}
		switch {
		case !idRE.MatchString(ts.ID) || strings.EqualFold(ts.ID, "host") || strings.EqualFold(ts.ID, "terminal"):
			return nil, d.errf(o.key("id"), "%s: id %q: start with a letter, then letters, digits, _ or - (and not \"host\" or \"terminal\")", what, ts.ID)
		case checkTID(ts.TID) != nil:
			return nil, d.errf(o.key("tid"), "%s: tid %q: %v", what, ts.TID, checkTID(ts.TID))
		case ts.Timeout == 0:
			return nil, d.errf(o.key("timeout"), "%s: timeout: must be positive", what)
		case ts.EchoIdle > 0 && !ts.KeepConnected:
			return nil, d.errf(o.key("echo_idle"), "%s: echo_idle: the echo test runs in the terminal's loop: set keep_connected: true", what)
		}
		if prev, dup := seen[ts.ID]; dup {
			return nil, d.errf(o.key("id"), "%s: id %q already used by terminal %d", what, ts.ID, prev)
		}
		if prev, dup := tids[ts.TID]; dup {
			return nil, d.errf(o.key("tid"), "%s: tid %q already used by terminal %d (the host keys transactions by TID)", what, ts.TID, prev)
		}
		seen[ts.ID], tids[ts.TID] = i+1, i+1
		if o.has("faults") {
			if ts.Faults, err = d.faults(o.val("faults")); err != nil {
				return nil, err
			}
		}
		if o.has("keys") {
			if v := o.val("keys"); v != nil && v.Kind == yaml.ScalarNode && v.Value == "host" {
				if hostKeys == nil {
					return nil, d.errf(o.key("keys"), "%s: keys: host, but the host has no keys: (give the host keys: {tmk: test})", what)
				}
				k := *hostKeys
				k.FailRC, k.KeyChangeTimeout = "", 0
				ts.Keys = &k
			} else if ts.Keys, err = d.keys(v, what+" keys", false); err != nil {
				return nil, err
			}
		}
		out = append(out, ts)
	}
	return out, nil
}

// checkTID checks a terminal's TID: 1 to 8 characters once the field's
// padding is trimmed, and no more than 8 on the wire.
func checkTID(tid string) error {
	if err := iso.CheckTID(tid); err != nil {
		return err
	}
	return iso.CheckTIDValue(tid)
}

func (sc *Scenario) terminal(id string) *TerminalSpec {
	for i := range sc.Terminals {
		if sc.Terminals[i].ID == id {
			return &sc.Terminals[i]
		}
	}
	return nil
}

func (sc *Scenario) step(id string) *Step {
	for i := range sc.Steps {
		if sc.Steps[i].ID == id {
			return &sc.Steps[i]
		}
	}
	return nil
}

func (sc *Scenario) terminalIDs() string {
	ids := make([]string, len(sc.Terminals))
	for i, t := range sc.Terminals {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}

// stepKeys are the keys each action takes besides itself and id/at.
var stepKeys = map[Action][]string{
	ActSend:        {"terminal", "amount", "card", "expiry", "entry_mode", "rrn", "rrn_of", "async", "expect"},
	ActSignOn:      {"expect"},
	ActEcho:        {"expect"},
	ActConnect:     {"expect"},
	ActWait:        nil,
	ActWaitFor:     {"terminal", "within", "event"},
	ActAwait:       {"expect"},
	ActAddFault:    {"on"},
	ActRemoveFault: nil,
	ActDropLink:    nil,
	ActRestartHost: nil,
	ActSetRules:    nil,
	ActRotateKeys:  {"notify", "expect"},
	ActNote:        nil,
}

func actionNames() string {
	n := make([]string, len(actions))
	for i, a := range actions {
		n[i] = string(a)
	}
	return strings.Join(n, ", ")
}

var financialKinds = map[terminal.Kind]bool{terminal.Purchase: true, terminal.Preauth: true, terminal.Refund: true, terminal.Void: true}

func (d *dec) steps(sc *Scenario, n, key *yaml.Node) ([]Step, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, d.errf(key, "steps: want a list of at least one step, got %s", kindName(n))
	}
	faultNames := map[string]bool{}
	for _, r := range sc.Host.Faults {
		if r.Name != "" {
			faultNames[r.Name] = true
		}
	}
	for _, t := range sc.Terminals {
		for _, r := range t.Faults {
			if r.Name != "" {
				faultNames[r.Name] = true
			}
		}
	}
	ids := map[string]int{}
	var out []Step
	var lastAt time.Duration
	for i, item := range n.Content {
		item = resolve(item)
		if item.Kind != yaml.MappingNode {
			return nil, d.errf(item, "step %d: want a mapping with one action (%s), got %s", i+1, actionNames(), kindName(item))
		}
		var act Action
		for j := 0; j+1 < len(item.Content); j += 2 {
			k := item.Content[j]
			for _, a := range actions {
				if k.Value == string(a) {
					if act != "" {
						return nil, d.errf(k, "step %d: one action per step: %s and %s (make two steps)", i+1, act, a)
					}
					act = a
				}
			}
		}
		if act == "" {
			var keys []string
			for j := 0; j+1 < len(item.Content); j += 2 {
				keys = append(keys, item.Content[j].Value)
			}
			hint := ""
			if len(keys) > 0 {
				all := make([]string, len(actions))
				for k, a := range actions {
					all[k] = string(a)
				}
				hint = suggestKey(keys[0], all)
			}
			return nil, d.errf(item, "step %d: no action (keys: %s)%s: a step has one of %s", i+1, strings.Join(keys, ", "), hint, actionNames())
		}
		what := fmt.Sprintf("step %d (%s)", i+1, act)
		o, err := d.mapping(item, what, append([]string{string(act), "id", "at"}, stepKeys[act]...)...)
		if err != nil {
			return nil, err
		}
		st := Step{Index: i + 1, Action: act, Pos: d.pos(item)}
		st.ID = o.str("id", "")
		st.At = o.dur("at", 0)
		if o.err != nil {
			return nil, o.err
		}
		if st.ID != "" {
			if !idRE.MatchString(st.ID) {
				return nil, d.errf(o.key("id"), "%s: id %q: start with a letter, then letters, digits, _ or -", what, st.ID)
			}
			if prev, dup := ids[st.ID]; dup {
				return nil, d.errf(o.key("id"), "%s: id %q already used by step %d", what, st.ID, prev)
			}
			ids[st.ID] = i + 1
		}
		if st.At > 0 {
			if st.At < lastAt {
				return nil, d.errf(o.key("at"), "%s: at %s is earlier than the at %s of a step before it: the timeline runs forward", what, st.At, lastAt)
			}
			lastAt = st.At
		}
		termRef := func(k, v string) string {
			if v == "" {
				return sc.Terminals[0].ID
			}
			if sc.terminal(v) == nil && o.err == nil {
				o.fail(k, "no terminal %q (terminals: %s)", v, sc.terminalIDs())
			}
			return v
		}
		val := o.val(string(act))
		switch act {
		case ActSend:
			kindS, _ := o.scalar(string(act))
			kind, err := terminal.ParseKind(kindS)
			if err != nil {
				o.fail(string(act), "%v", err)
			}
			st.Tx.Kind = kind
			st.Terminal = termRef("terminal", o.str("terminal", ""))
			if a, ok := o.scalar("amount"); ok {
				if v, err := terminal.ParseAmount(a); err != nil {
					o.fail("amount", "%v (amounts are in currency units: \"12.34\")", err)
				} else {
					st.Tx.Amount = v
				}
			} else if financialKinds[kind] {
				st.Tx.Amount = 1000
			}
			if pan, ok := o.scalar("card"); ok {
				if len(pan) < 12 || len(pan) > 19 || strings.Trim(pan, "0123456789") != "" {
					o.fail("card", "want a PAN of 12 to 19 digits")
				}
				st.Tx.Card.PAN = pan
				st.Tx.Card.Expiry = "2812"
			}
			if e, ok := o.scalar("expiry"); ok {
				if len(e) != 4 || strings.Trim(e, "0123456789") != "" {
					o.fail("expiry", "want YYMM")
				}
				if st.Tx.Card.PAN == "" {
					st.Tx.Card = terminal.DefaultCard
				}
				st.Tx.Card.Expiry = e
			}
			if e, ok := o.scalar("entry_mode"); ok {
				if len(e) != 3 || strings.Trim(e, "0123456789") != "" {
					o.fail("entry_mode", "want 3 digits (051 chip, 021 magstripe, 012 manual)")
				}
				if st.Tx.Card.PAN == "" {
					st.Tx.Card = terminal.DefaultCard
				}
				st.Tx.Card.EntryMode = e
			}
			if r, ok := o.scalar("rrn"); ok {
				st.Tx.OrigRRN = r
			}
			st.RRNOf = o.str("rrn_of", "")
			if sp, _ := terminal.Spec(kind); (st.Tx.OrigRRN != "" || st.RRNOf != "") && (sp == nil || sp.Original == terminal.NoOriginal) {
				o.fail("rrn", "%s names no original: rrn and rrn_of are for void and completion", kind)
			}
			st.Async = o.boolean("async", false)
			if st.Async && st.ID == "" && o.err == nil {
				return nil, d.errf(o.key("async"), "%s: an async send needs an id, so that a later await: can name it", what)
			}
		case ActSignOn, ActEcho, ActConnect:
			st.Terminal = termRef(string(act), o.str(string(act), ""))
			st.Tx.Kind = terminal.SignOn
			if act == ActEcho {
				st.Tx.Kind = terminal.Echo
			}
		case ActWait:
			st.Duration = o.dur(string(act), 0)
			if o.err == nil && st.Duration == 0 {
				o.fail(string(act), "want a positive duration (500ms)")
			}
		case ActWaitFor:
			st.Cond = o.enum(string(act), "", "link_up", "link_down", "signed_on", "reversals_flushed", "host_up", "host_down", "event")
			st.Duration = o.dur("within", defaultWithin)
			if st.Cond != "host_up" && st.Cond != "host_down" && st.Cond != "event" {
				st.Terminal = termRef("terminal", o.str("terminal", ""))
			} else if o.has("terminal") && o.err == nil {
				o.fail("terminal", "not used by wait_for %s", st.Cond)
			}
			if st.Cond == "event" {
				if !o.has("event") {
					return nil, d.errf(o.key(string(act)), "%s: wait_for event needs event: {kind: ..., side: ...}", what)
				}
				m, err := d.matcherMap(sc, o.val("event"), ids)
				if err != nil {
					return nil, err
				}
				st.Event = m
			} else if o.has("event") && o.err == nil {
				o.fail("event", "only for wait_for: event")
			}
		case ActAwait:
			st.Name = o.str(string(act), "")
			if o.err == nil {
				ref := sc.stepIn(out, st.Name)
				switch {
				case ref == nil:
					o.fail(string(act), "no earlier step with id %q", st.Name)
				case !ref.Async:
					o.fail(string(act), "step %q is not async: its outcome is awaited when it runs", st.Name)
				default:
					st.Terminal = ref.Terminal
					st.Tx = ref.Tx
				}
			}
		case ActAddFault:
			st.FaultOn = o.str("on", "host")
			if st.FaultOn != "host" {
				termRef("on", st.FaultOn)
			}
			if o.err != nil {
				return nil, o.err
			}
			if val == nil || isNull(val) {
				return nil, d.errf(o.key(string(act)), "%s: want a fault: a mapping (type: drop, mti: \"0210\") or a spec string", what)
			}
			rules, err := d.faults(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{val}, Line: val.Line})
			if err != nil {
				return nil, err
			}
			st.Fault = rules[0]
			if st.Fault.Name != "" {
				faultNames[st.Fault.Name] = true
			}
		case ActRemoveFault:
			st.Name = o.str(string(act), "")
			if o.err == nil && !faultNames[st.Name] {
				known := sortedKeys(faultNames)
				o.fail(string(act), "no fault named %q in the config or an earlier add_fault (named faults: %s)", st.Name, strings.Join(known, ", "))
			}
		case ActDropLink:
			st.Name = o.str(string(act), "host")
			if st.Name != "host" {
				termRef(string(act), st.Name)
			}
		case ActRestartHost:
			if !isNull(val) {
				st.Duration = o.dur(string(act), 0)
			}
		case ActSetRules:
			if val != nil && val.Kind == yaml.ScalarNode && val.Value == "initial" {
				st.Rules = nil
			} else if isNull(val) || val.Kind != yaml.MappingNode {
				o.fail(string(act), "want the rules (rules:, default:) or \"initial\" to go back to the scenario's own")
			} else {
				rs, err := d.rulesFromNode(val, fmt.Sprintf("%s step %d rules", d.file, i+1))
				if err != nil {
					return nil, err
				}
				st.Rules = rs
			}
		case ActRotateKeys:
			st.Terminal = termRef(string(act), o.str(string(act), ""))
			st.Notify = o.boolean("notify", true)
			if o.err == nil && sc.Host.Keys == nil {
				o.fail(string(act), "the host has no keys: (give the host keys: {tmk: test})")
			}
		case ActNote:
			st.Text = strings.TrimSpace(o.str(string(act), ""))
		}
		if o.err != nil {
			return nil, o.err
		}
		if o.has("expect") {
			e, err := d.stepExpect(o.val("expect"), o.key("expect"), act)
			if err != nil {
				return nil, err
			}
			st.Expect = e
		}
		out = append(out, st)
	}
	return out, nil
}

func (sc *Scenario) stepIn(steps []Step, id string) *Step {
	for i := range steps {
		if steps[i].ID == id {
			return &steps[i]
		}
	}
	return nil
}

var classes = func() []string {
	var out []string
	for _, c := range outcome.Classes() {
		out = append(out, c.String())
	}
	return out
}()

func (d *dec) stepExpect(n, key *yaml.Node, act Action) (*StepExpect, error) {
	what := "expect"
	if act == ActRotateKeys {
		o, err := d.mapping(n, what, "confirmed")
		if err != nil {
			return nil, err
		}
		return &StepExpect{Pos: d.pos(key), Confirmed: o.optBool("confirmed")}, o.err
	}
	if act == ActConnect {
		o, err := d.mapping(n, what, "connected", "why")
		if err != nil {
			return nil, err
		}
		e := &StepExpect{Pos: d.pos(key), Connected: o.optBool("connected"), Why: o.str("why", "")}
		return e, o.err
	}
	o, err := d.mapping(n, what, "outcome", "rc", "why", "cause", "latency_min", "latency_max", "reversal")
	if err != nil {
		return nil, err
	}
	e := &StepExpect{Pos: d.pos(key)}
	for _, c := range o.list("outcome") {
		if !contains(classes, c) {
			o.fail("outcome", "%q: want one of %s%s", c, strings.Join(classes, ", "), suggestKey(c, classes))
			break
		}
		cl, _ := outcome.ParseClass(c)
		e.Outcome = append(e.Outcome, cl)
	}
	for _, c := range o.list("cause") {
		if _, ok := diagnose.Lookup(diagnose.ID(c)); !ok {
			o.fail("cause", "%q is not a cause in the catalogue (possim diagnose --causes lists them)", c)
			break
		}
		e.Cause = append(e.Cause, diagnose.ID(c))
	}
	for _, rc := range o.list("rc") {
		if len(rc) != 2 {
			o.fail("rc", "%q: want 2 characters, quoted (rc: \"05\")", rc)
		}
		e.RC = append(e.RC, rc)
	}
	e.Why = o.str("why", "")
	e.LatencyMin = o.dur("latency_min", 0)
	e.LatencyMax = o.dur("latency_max", 0)
	if o.err == nil && e.LatencyMax > 0 && e.LatencyMin > e.LatencyMax {
		o.fail("latency_min", "greater than latency_max")
	}
	if o.has("reversal") && o.err == nil {
		r, err := d.mapping(o.val("reversal"), "expect: reversal", "acked", "pending", "attempts")
		if err != nil {
			return nil, err
		}
		e.Reversal = &ReversalExpect{Acked: r.optBool("acked"), Pending: r.optBool("pending"), Attempts: r.count("attempts")}
		if r.err != nil {
			return nil, r.err
		}
	}
	return e, o.err
}

var eventKinds = func() []string {
	out := make([]string, len(matchableEvents))
	for i, k := range matchableEvents {
		out[i] = string(k)
	}
	return out
}()

func (d *dec) checkSide(o *obj, sc *Scenario, k string) string {
	s := o.str(k, "")
	if s != "" && s != "host" && s != "terminal" && sc.terminal(s) == nil && o.err == nil {
		o.fail(k, "%q: want host, terminal (any) or a terminal id (%s)", s, sc.terminalIDs())
	}
	return s
}

// matcherMap reads an event matcher written as a mapping (wait_for).
func (d *dec) matcherMap(sc *Scenario, n *yaml.Node, ids map[string]int) (*Matcher, error) {
	o, err := d.mapping(n, "event", "kind", "side", "mti", "stan_of", "contains", "count")
	if err != nil {
		return nil, err
	}
	m := &Matcher{Kind: EventKind(o.enum("kind", "", eventKinds...))}
	if !o.has("kind") && o.err == nil {
		o.fail("kind", "missing: want one of %s", strings.Join(eventKinds, ", "))
	}
	d.matcherRest(o, sc, m, ids)
	return m, o.err
}

func (d *dec) matcherRest(o *obj, sc *Scenario, m *Matcher, ids map[string]int) {
	m.Side = d.checkSide(o, sc, "side")
	m.MTI = o.list("mti")
	for _, v := range m.MTI {
		if err := iso.CheckMTI(v); err != nil {
			o.fail("mti", "%q: %v", v, err)
		}
	}
	m.StanOf = o.str("stan_of", "")
	if m.StanOf != "" && o.err == nil {
		if _, ok := ids[m.StanOf]; !ok {
			o.fail("stan_of", "no step with id %q", m.StanOf)
		}
	}
	m.Contains = o.str("contains", "")
	m.Count = o.count("count")
}

func (d *dec) expectations(sc *Scenario, n, key *yaml.Node) ([]Expectation, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, d.errf(key, "expect: want a list of expectations, got %s", kindName(n))
	}
	ids := map[string]int{}
	for _, s := range sc.Steps {
		if s.ID != "" {
			ids[s.ID] = s.Index
		}
	}
	names := make([]string, len(expectKinds))
	for i, k := range expectKinds {
		names[i] = string(k)
	}
	params := map[ExpectKind][]string{
		ExReversal:          {"within", "repeats", "acked"},
		ExSignOn:            {"after", "within", "count"},
		ExEcho:              {"after", "count", "answered", "idle"},
		ExLinkDown:          {"why", "count"},
		ExEvent:             {"side", "mti", "stan_of", "contains", "count"},
		ExHostLog:           {"count"},
		ExFaultFired:        {"count"},
		ExHostLedger:        nil,
		ExTerminalOutcomes:  {"terminal"},
		ExAccountsAgree:     nil,
		ExNoDuplicateCharge: nil,
		ExPendingReversals:  {"count"},
	}
	var out []Expectation
	for i, item := range n.Content {
		item = resolve(item)
		if item.Kind != yaml.MappingNode || len(item.Content) == 0 {
			return nil, d.errf(item, "expectation %d: want a mapping with one of %s, got %s", i+1, strings.Join(names, ", "), kindName(item))
		}
		var kind ExpectKind
		for j := 0; j+1 < len(item.Content); j += 2 {
			k := item.Content[j].Value
			if contains(names, k) {
				if kind != "" {
					return nil, d.errf(item.Content[j], "expectation %d: one kind per item: %s and %s", i+1, kind, k)
				}
				kind = ExpectKind(k)
			}
		}
		if kind == "" {
			k := item.Content[0].Value
			return nil, d.errf(item.Content[0], "expectation %d: unknown kind %q%s: want one of %s", i+1, k, suggestKey(k, names), strings.Join(names, ", "))
		}
		what := fmt.Sprintf("expectation %d (%s)", i+1, kind)
		o, err := d.mapping(item, what, append([]string{string(kind)}, params[kind]...)...)
		if err != nil {
			return nil, err
		}
		e := Expectation{Kind: kind, Pos: d.pos(item)}
		k := string(kind)
		termOrDefault := func(v string) string {
			if v == "" {
				return sc.Terminals[0].ID
			}
			if sc.terminal(v) == nil && o.err == nil {
				o.fail(k, "no terminal %q (terminals: %s)", v, sc.terminalIDs())
			}
			return v
		}
		stepRef := func(key, v string) {
			if v != "" && o.err == nil {
				if _, ok := ids[v]; !ok {
					o.fail(key, "no step with id %q", v)
				}
			}
		}
		atLeastOne := Count{1, -1}
		switch kind {
		case ExReversal:
			e.Of = o.required(k)
			stepRef(k, e.Of)
			if s := sc.step(e.Of); s != nil && o.err == nil && (s.Action != ActSend || !financialKinds[s.Tx.Kind]) {
				o.fail(k, "step %q is not a financial send (purchase, preauth, refund, void): nothing to reverse", e.Of)
			}
			e.Within = o.dur("within", 0)
			e.Repeats = o.count("repeats")
			e.Acked = o.optBool("acked")
		case ExSignOn, ExEcho:
			e.Of = termOrDefault(o.str(k, ""))
			e.After = o.str("after", "")
			stepRef("after", e.After)
			e.Count = o.count("count")
			if kind == ExSignOn {
				e.Within = o.dur("within", 0)
				if e.Within > 0 && e.After == "" && o.err == nil {
					o.fail("within", "within counts from the step named by after:")
				}
			} else {
				e.Answered = o.optBool("answered")
				e.Within = o.dur("idle", 0)
			}
		case ExLinkDown:
			e.Of = o.str(k, "")
			if e.Of != "host" {
				e.Of = termOrDefault(e.Of)
			}
			e.Text = o.str("why", "")
			e.Count = o.count("count")
		case ExEvent:
			m := &Matcher{Kind: EventKind(o.enum(k, "", eventKinds...))}
			d.matcherRest(o, sc, m, ids)
			e.Event, e.Count = m, m.Count
		case ExHostLog, ExFaultFired:
			e.Text = o.required(k)
			e.Count = o.count("count")
		case ExHostLedger, ExTerminalOutcomes:
			known := ledgerKeys
			if kind == ExTerminalOutcomes {
				known = classes
				e.Terminal = o.str("terminal", "")
				if e.Terminal != "" {
					termOrDefault(e.Terminal)
				}
			}
			if o.err != nil {
				return nil, o.err
			}
			c, err := d.mapping(o.val(k), k, known...)
			if err != nil {
				return nil, err
			}
			e.Counts = map[string]*Count{}
			for _, name := range c.order {
				e.Counts[name] = c.count(name)
			}
			if c.err != nil {
				return nil, c.err
			}
			if len(e.Counts) == 0 {
				o.fail(k, "give at least one count (%s)", strings.Join(known, ", "))
			}
		case ExAccountsAgree, ExNoDuplicateCharge:
			e.Want = o.boolean(k, true)
		case ExPendingReversals:
			e.Of = termOrDefault(o.str(k, ""))
			e.Count = o.count("count")
			if e.Count == nil {
				e.Count = &Count{0, 0}
			}
		}
		if e.Count == nil && kind != ExReversal && kind != ExHostLedger && kind != ExTerminalOutcomes {
			c := atLeastOne
			e.Count = &c
		}
		if o.err != nil {
			return nil, o.err
		}
		out = append(out, e)
	}
	return out, nil
}

var ledgerKeys = []string{"approved", "declined", "reversed", "reversals_received", "duplicate_reversals",
	"reversals_without_original", "reversals_of_declined", "originals_after_reversal"}
