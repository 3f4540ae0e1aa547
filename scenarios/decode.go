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
	doc, err := d.document(data)
	if err != nil {
		return nil, err
	}
	top, err := d.mapping(doc, "scenario", "name", "title", "description", "seed", "timeout", "host", "terminals", "steps", "expect")
	if err != nil {
		return nil, err
	}
	sc := &Scenario{File: file, Source: data, Seed: 1}
	if err := d.header(top, sc); err != nil {
		return nil, err
	}
	if sc.Host, err = d.host(top.val("host"), top.key("host")); err != nil {
		return nil, err
	}
	if !top.has("terminals") {
		return nil, d.errf(top.m.Node, "scenario: missing terminals: (at least one)")
	}
	if sc.Terminals, err = d.terminals(top.val("terminals"), top.key("terminals"), sc.Host.Keys); err != nil {
		return nil, err
	}
	if !top.has("steps") {
		return nil, d.errf(top.m.Node, "scenario: missing steps:")
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

// document parses the file's one YAML document.
func (d *dec) document(data []byte) (*yaml.Node, error) {
	yd := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := yd.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty scenario (see possim scenarios new)", d.file)
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
		return nil, fmt.Errorf("%s: empty scenario", d.file)
	}
	return doc.Content[0], nil
}

// header reads the scenario's name, title, description, seed and timeout.
func (d *dec) header(top *obj, sc *Scenario) error {
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
	switch {
	case top.err != nil:
		return top.err
	case !nameRE.MatchString(sc.Name):
		return d.errf(top.key("name"), "name %q: use lower-case letters, digits and dashes (it is typed on the command line)", sc.Name)
	case sc.Description == "":
		return d.errf(top.key("description"), "description: write what the merchant sees, what really happened, how to confirm it and how to fix it")
	case sc.Timeout == 0:
		return d.errf(top.key("timeout"), "timeout: must be positive")
	}
	return nil
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
		ts, o, err := d.terminal(i, item, what)
		if err != nil {
			return nil, err
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
			if ts.Keys, err = d.terminalKeys(o, what, hostKeys); err != nil {
				return nil, err
			}
		}
		out = append(out, ts)
	}
	return out, nil
}

var terminalKeyNames = append([]string{"id", "tid", "timeout", "sign_on", "connect", "keep_connected", "echo_idle",
	"reversal_attempts", "reversal_backoff", "connect_attempts", "reconnect_backoff", "connect_timeout", "faults", "keys"}, dialectKeys...)

// terminal decodes terminal i's own settings (a null item: the defaults).
func (d *dec) terminal(i int, item *yaml.Node, what string) (TerminalSpec, *obj, error) {
	o := d.emptyObj(item, what)
	if !isNull(item) {
		var err error
		if o, err = d.mapping(item, what, terminalKeyNames...); err != nil {
			return TerminalSpec{}, nil, err
		}
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
		return ts, o, o.err
	}
	switch {
	case !idRE.MatchString(ts.ID) || strings.EqualFold(ts.ID, "host") || strings.EqualFold(ts.ID, "terminal"):
		return ts, o, d.errf(o.key("id"), "%s: id %q: start with a letter, then letters, digits, _ or - (and not \"host\" or \"terminal\")", what, ts.ID)
	case checkTID(ts.TID) != nil:
		return ts, o, d.errf(o.key("tid"), "%s: tid %q: %v", what, ts.TID, checkTID(ts.TID))
	case ts.Timeout == 0:
		return ts, o, d.errf(o.key("timeout"), "%s: timeout: must be positive", what)
	case ts.EchoIdle > 0 && !ts.KeepConnected:
		return ts, o, d.errf(o.key("echo_idle"), "%s: echo_idle: the echo test runs in the terminal's loop: set keep_connected: true", what)
	}
	return ts, o, nil
}

// terminalKeys reads a terminal's keys: its own, or "host" for the host's
// (without the host-only settings).
func (d *dec) terminalKeys(o *obj, what string, hostKeys *KeySpec) (*KeySpec, error) {
	v := o.val("keys")
	if v == nil || v.Kind != yaml.ScalarNode || v.Value != "host" {
		return d.keys(v, what+" keys", false)
	}
	if hostKeys == nil {
		return nil, d.errf(o.key("keys"), "%s: keys: host, but the host has no keys: (give the host keys: {tmk: test})", what)
	}
	k := *hostKeys
	k.FailRC, k.KeyChangeTimeout = "", 0
	return &k, nil
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

func actionNames() string { return strings.Join(kindNames(steps.names), ", ") }

func (d *dec) steps(sc *Scenario, n, key *yaml.Node) ([]Step, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, d.errf(key, "steps: want a list of at least one step, got %s", kindName(n))
	}
	c := &stepDec{d: d, sc: sc, ids: map[string]int{}, faultNames: configFaultNames(sc)}
	var lastAt time.Duration
	for i, item := range n.Content {
		st, err := d.step(c, i, resolve(item), &lastAt)
		if err != nil {
			return nil, err
		}
		c.earlier = append(c.earlier, st)
	}
	return c.earlier, nil
}

// configFaultNames are the names of the faults the host and terminals are
// configured with (remove_fault may name them).
func configFaultNames(sc *Scenario) map[string]bool {
	names := map[string]bool{}
	for _, r := range sc.Host.Faults {
		if r.Name != "" {
			names[r.Name] = true
		}
	}
	for _, t := range sc.Terminals {
		for _, r := range t.Faults {
			if r.Name != "" {
				names[r.Name] = true
			}
		}
	}
	return names
}

// stepAction finds the one action key of step i.
func (d *dec) stepAction(i int, item *yaml.Node) (*stepKind, error) {
	if item.Kind != yaml.MappingNode {
		return nil, d.errf(item, "step %d: want a mapping with one action (%s), got %s", i+1, actionNames(), kindName(item))
	}
	var kind *stepKind
	var keys []string
	for j := 0; j+1 < len(item.Content); j += 2 {
		k := item.Content[j]
		keys = append(keys, k.Value)
		sk, ok := steps.m[Action(k.Value)]
		if !ok {
			continue
		}
		if kind != nil {
			return nil, d.errf(k, "step %d: one action per step: %s and %s (make two steps)", i+1, kind.name, sk.name)
		}
		kind = sk
	}
	if kind != nil {
		return kind, nil
	}
	hint := ""
	if len(keys) > 0 {
		hint = suggestKey(keys[0], kindNames(steps.names))
	}
	return nil, d.errf(item, "step %d: no action (keys: %s)%s: a step has one of %s", i+1, strings.Join(keys, ", "), hint, actionNames())
}

// step decodes step i: its action, id and at, then what its kind reads.
func (d *dec) step(c *stepDec, i int, item *yaml.Node, lastAt *time.Duration) (Step, error) {
	kind, err := d.stepAction(i, item)
	if err != nil {
		return Step{}, err
	}
	act := kind.name
	what := fmt.Sprintf("step %d (%s)", i+1, act)
	o, err := d.mapping(item, what, append([]string{string(act), "id", "at"}, kind.keys...)...)
	if err != nil {
		return Step{}, err
	}
	st := Step{Index: i + 1, Action: act, Pos: d.pos(item), ID: o.str("id", ""), At: o.dur("at", 0)}
	if o.err != nil {
		return st, o.err
	}
	if err := d.stepTiming(o, what, &st, c.ids, lastAt); err != nil {
		return st, err
	}
	c.o, c.st, c.what = o, &st, what
	if st.Spec, err = kind.decode(c); err != nil {
		return st, err
	}
	if o.err != nil {
		return st, o.err
	}
	return st, nil
}

// stepTiming checks the step's id (unique) and at (never earlier than a
// step before it).
func (d *dec) stepTiming(o *obj, what string, st *Step, ids map[string]int, lastAt *time.Duration) error {
	if st.ID != "" {
		if !idRE.MatchString(st.ID) {
			return d.errf(o.key("id"), "%s: id %q: start with a letter, then letters, digits, _ or -", what, st.ID)
		}
		if prev, dup := ids[st.ID]; dup {
			return d.errf(o.key("id"), "%s: id %q already used by step %d", what, st.ID, prev)
		}
		ids[st.ID] = st.Index
	}
	if st.At > 0 {
		if st.At < *lastAt {
			return d.errf(o.key("at"), "%s: at %s is earlier than the at %s of a step before it: the timeline runs forward", what, st.At, *lastAt)
		}
		*lastAt = st.At
	}
	return nil
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

// stepOutcomeExpect reads the expect: of a step with a transaction
// (send, sign_on, echo, await).
func stepOutcomeExpect(d *dec, n, key *yaml.Node) (*StepExpect, error) {
	what := "expect"
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
	var out []Expectation
	for i, item := range n.Content {
		e, err := d.expectation(sc, ids, i, resolve(item))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// expectKind finds the one kind key of expectation i.
func (d *dec) expectKind(i int, item *yaml.Node) (*expectKind, error) {
	names := kindNames(expects.names)
	if item.Kind != yaml.MappingNode || len(item.Content) == 0 {
		return nil, d.errf(item, "expectation %d: want a mapping with one of %s, got %s", i+1, strings.Join(names, ", "), kindName(item))
	}
	var kind *expectKind
	for j := 0; j+1 < len(item.Content); j += 2 {
		k := item.Content[j].Value
		ek, ok := expects.m[ExpectKind(k)]
		if !ok {
			continue
		}
		if kind != nil {
			return nil, d.errf(item.Content[j], "expectation %d: one kind per item: %s and %s", i+1, kind.name, k)
		}
		kind = ek
	}
	if kind == nil {
		k := item.Content[0].Value
		return nil, d.errf(item.Content[0], "expectation %d: unknown kind %q%s: want one of %s", i+1, k, suggestKey(k, names), strings.Join(names, ", "))
	}
	return kind, nil
}

func (d *dec) expectation(sc *Scenario, ids map[string]int, i int, item *yaml.Node) (Expectation, error) {
	kind, err := d.expectKind(i, item)
	if err != nil {
		return Expectation{}, err
	}
	what := fmt.Sprintf("expectation %d (%s)", i+1, kind.name)
	o, err := d.mapping(item, what, append([]string{string(kind.name)}, kind.keys...)...)
	if err != nil {
		return Expectation{}, err
	}
	e := Expectation{Kind: kind.name, Pos: d.pos(item)}
	if e.Spec, err = kind.decode(&expectDec{d: d, sc: sc, o: o, k: string(kind.name), ids: ids}); err != nil {
		return e, err
	}
	return e, o.err
}
