package host

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// Authorization rules: an ordered list of (match → respond) pairs, first
// match wins, like a firewall or a router's ACL, because that is how people
// read a list of test cards. Rules decide only authorization and financial
// requests (01xx and 02xx); the host answers reversals (04xx) and network
// management (08xx) itself, since their answers follow from the ledger and
// the link state, not from the card.

//go:embed default_rules.yaml
var defaultRulesYAML []byte

// Decision is what the host answers a request with.
type Decision struct {
	Rule         string        // name of the rule that matched; "rule N" if unnamed, "default" if none matched
	RC           string        // field 39
	Delay        time.Duration // the host answers after this long
	ApprovalCode string        // field 38 for approvals; "" lets the host generate one
	// Set are response fields the rule sets (set: {54: ..., 44: ...}),
	// in field order; they win over what the host would put there.
	Set []FieldValue
}

// FieldValue is one response field a rule sets.
type FieldValue = iso.FieldValue

// AmountRange is an inclusive range of field 4 amounts in minor units.
type AmountRange struct{ Min, Max uint64 }

// maxAmount is the largest field 4 value (n 12).
const maxAmount = 999_999_999_999

// Rule is one validated rule as written (Describe and tools read it;
// Decide walks a compiled form). Within a selector any listed value
// matches; all given selectors must match; an absent selector matches
// anything.
type Rule struct {
	Name           string
	Pos            string       // "file:line" of the rule, for messages
	MTI            []string     // exact MTIs
	ProcessingCode []string     // prefixes of field 3
	Amount         *AmountRange // field 4
	PAN            []string     // full PANs (field 2, else the PAN in track 2)
	PANPrefix      []string     // PAN prefixes
	TID            []string     // field 41, trailing spaces ignored
	Respond        Decision     // Respond.Rule is the rule's display name
}

// RuleSet is an immutable, compiled list of rules; safe for concurrent use.
type RuleSet struct {
	name  string
	rules []Rule
	def   Decision
	steps []step // what Decide walks, compiled from rules
	need  sel    // which fields any rule reads, so Decide reads only those
}

// sel is a set of selectors (and so of the fields they read).
type sel uint8

const (
	selMTI sel = 1 << iota
	selPC
	selAmount
	selPAN // exact PAN
	selPANPrefix
	selTID
)

// step is one unit of Decide's walk: either one rule, reduced to the
// selectors it uses, or a run of consecutive rules that select on exact
// PANs only (the usual test-card list), merged into one map lookup. The
// map keeps, for each PAN, the first rule of the run that lists it, so
// first-match-wins is kept.
type step struct {
	panIdx map[string]int32 // non-nil: a PAN-only run; PAN → rule index

	rule       int32 // the rule, when panIdx is nil
	sel        sel
	amin, amax uint64
	mti, pc    []string
	pan        []string // prefixes when sel has selPANPrefix
	tid        []string
	tidSet     map[string]struct{} // long TID lists
}

// setThreshold is the list length from which a map beats a linear scan.
const setThreshold = 8

// Rules returns a copy of the rules in order; their lists are shared with
// the rule set, which is immutable: do not modify them.
func (rs *RuleSet) Rules() []Rule { return slices.Clone(rs.rules) }

// Default is the answer when no rule matches.
func (rs *RuleSet) Default() Decision { return rs.def }

// input holds the request fields the rule set needs, each read once.
type input struct {
	mti, pc, pan, tid string
	amount            uint64
	amountOK          bool
}

// Decide picks the answer to an authorization or financial request (01xx,
// 02xx). It is on the host's hot path: it reads each needed field once,
// compares pre-compiled values and does not allocate. Reversals and network
// management must not be passed here: the host answers them itself.
func (rs *RuleSet) Decide(m *iso8583.Message) Decision {
	var in input
	in.read(m, rs.need)
	for i := range rs.steps {
		st := &rs.steps[i]
		if st.panIdx != nil {
			if r, ok := st.panIdx[in.pan]; ok {
				return rs.rules[r].Respond
			}
			continue
		}
		if st.matches(&in) {
			return rs.rules[st.rule].Respond
		}
	}
	return rs.def
}

func (in *input) read(m *iso8583.Message, n sel) {
	// GetString returns the field's stored string (no copy, no allocation)
	// and "" for an absent field, which is all a selector needs.
	if n&selMTI != 0 {
		in.mti, _ = m.GetMTI()
	}
	if n&selPC != 0 {
		in.pc, _ = m.GetString(3)
	}
	if n&selAmount != 0 {
		s, _ := m.GetString(4)
		in.amount, in.amountOK = parseDigits(s)
	}
	if n&(selPAN|selPANPrefix) != 0 {
		in.pan, _ = m.GetString(2)
		if in.pan == "" {
			// A swiped card sends track 2 (35) instead of field 2: the PAN
			// is the digits before the separator ('=' or 'D').
			t2, _ := m.GetString(35)
			i := 0
			for i < len(t2) && t2[i] >= '0' && t2[i] <= '9' {
				i++
			}
			in.pan = t2[:i]
		}
	}
	if n&selTID != 0 {
		in.tid, _ = m.GetString(41)
		in.tid = strings.TrimRight(in.tid, " ")
	}
}

// parseDigits parses up to 19 decimal digits without allocating.
func parseDigits(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

func (st *step) matches(in *input) bool {
	if st.sel&selMTI != 0 && !anyEqual(st.mti, nil, in.mti) {
		return false
	}
	if st.sel&selPC != 0 && !anyPrefix(st.pc, in.pc) {
		return false
	}
	if st.sel&selAmount != 0 && (!in.amountOK || in.amount < st.amin || in.amount > st.amax) {
		return false
	}
	if st.sel&selPAN != 0 && !anyEqual(st.pan, nil, in.pan) {
		return false
	}
	if st.sel&selPANPrefix != 0 && !anyPrefix(st.pan, in.pan) {
		return false
	}
	if st.sel&selTID != 0 && !anyEqual(st.tid, st.tidSet, in.tid) {
		return false
	}
	return true
}

func anyEqual(list []string, set map[string]struct{}, v string) bool {
	if set != nil {
		_, ok := set[v]
		return ok
	}
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func anyPrefix(list []string, v string) bool {
	for _, s := range list {
		if strings.HasPrefix(v, s) {
			return true
		}
	}
	return false
}

// selectors is the set of selectors r uses.
func (r *Rule) selectors() sel {
	var s sel
	if len(r.MTI) > 0 {
		s |= selMTI
	}
	if len(r.ProcessingCode) > 0 {
		s |= selPC
	}
	if r.Amount != nil {
		s |= selAmount
	}
	if len(r.PAN) > 0 {
		s |= selPAN
	}
	if len(r.PANPrefix) > 0 {
		s |= selPANPrefix
	}
	if len(r.TID) > 0 {
		s |= selTID
	}
	return s
}

// compile builds the steps Decide walks.
func (rs *RuleSet) compile() {
	rs.steps = rs.steps[:0]
	rs.need = 0
	for i := 0; i < len(rs.rules); i++ {
		r := &rs.rules[i]
		s := r.selectors()
		rs.need |= s
		if s == selPAN {
			// Gather the run of PAN-only rules starting here.
			j := i
			n := 0
			for j < len(rs.rules) && rs.rules[j].selectors() == selPAN {
				n += len(rs.rules[j].PAN)
				j++
			}
			if j-i > 1 || n > setThreshold {
				idx := make(map[string]int32, n)
				for k := i; k < j; k++ {
					for _, pan := range rs.rules[k].PAN {
						if _, dup := idx[pan]; !dup {
							idx[pan] = int32(k)
						}
					}
				}
				rs.steps = append(rs.steps, step{panIdx: idx})
				i = j - 1
				continue
			}
		}
		st := step{rule: int32(i), sel: s, mti: r.MTI, pc: r.ProcessingCode, tid: r.TID}
		if r.Amount != nil {
			st.amin, st.amax = r.Amount.Min, r.Amount.Max
		}
		st.pan = r.PAN
		if s&selPANPrefix != 0 {
			st.pan = r.PANPrefix
		}
		if len(r.TID) > setThreshold {
			st.tidSet = toSet(r.TID)
		}
		rs.steps = append(rs.steps, st)
	}
}

// empty reports whether the rule matches every request.
func (r *Rule) empty() bool { return r.selectors() == 0 }

// DefaultRules is the built-in demo/training card set (default_rules.yaml:
// test PANs for each common decline, a limit, a magic amount, a slow and a
// too-slow issuer). It is parsed once and shared; a RuleSet is immutable.
func DefaultRules() *RuleSet { return defaultRules() }

var defaultRules = sync.OnceValue(func() *RuleSet {
	rs, err := ParseRules("default_rules.yaml", defaultRulesYAML)
	if err != nil {
		panic("host: built-in rules: " + err.Error()) // caught by the tests
	}
	return rs
})

// LoadRules reads and compiles a rules file; errors name path:line.
func LoadRules(path string) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return ParseRules(path, data)
}

// ParseRules compiles rules from YAML. name is used in error positions
// ("host.yaml:12: ..."). Decoding is strict: unknown keys, duplicate keys
// and values of the wrong shape are errors.
//
// The document is walked as a yaml.Node tree rather than decoded into
// structs: (*yaml.Node).Decode ignores Decoder.KnownFields, and walking
// gives every error the line of the key it is about.
func ParseRules(name string, data []byte) (*RuleSet, error) {
	p := &parser{name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, p.yamlErr(err)
	}
	// A second document would be silently ignored: say so instead.
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, p.yamlErr(err)
		}
		return nil, p.errf(&extra, "a rules file holds one YAML document; remove this \"---\" and what follows, or merge it into the first")
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty rules file: want \"rules:\" and/or \"default:\"", name)
	}
	return decodeRules(p, doc.Content[0], "the rules file")
}

// DecodeRules compiles rules from a node of a larger YAML file (a host
// config, a scenario): n is the mapping with "rules:" and/or "default:",
// and errors carry the lines of that file.
func DecodeRules(name string, n *yaml.Node) (*RuleSet, error) {
	return decodeRules(&parser{name: name}, n, "rules")
}

func decodeRules(p *parser, n *yaml.Node, what string) (*RuleSet, error) {
	name := p.name
	top, err := p.mapping(n, what, "rules", "default")
	if err != nil {
		return nil, err
	}
	rs := &RuleSet{name: name, def: Decision{Rule: "default", RC: "00"}}
	var defNode *yaml.Node
	if kv, ok := top["default"]; ok {
		defNode = kv.Key
		d, err := p.respond(kv.Val, "default: ")
		if err != nil {
			return nil, err
		}
		d.Rule = "default"
		rs.def = d
	}
	if kv, ok := top["rules"]; ok {
		seq := resolve(kv.Val)
		if seq.Kind != yaml.SequenceNode {
			return nil, p.errf(kv.Key, "rules: want a list of rules, got %s", kindName(seq))
		}
		for i, item := range seq.Content {
			r, err := p.rule(item, i+1)
			if err != nil {
				return nil, err
			}
			rs.rules = append(rs.rules, r)
		}
	}
	// A catch-all hides everything after it, so only the last rule may be
	// one, and then a default could never be used either.
	for i := range rs.rules {
		r := &rs.rules[i]
		if !r.empty() {
			continue
		}
		if i < len(rs.rules)-1 {
			return nil, fmt.Errorf("%s: %s: empty match matches every request, so the %d rule(s) after it could never match: only the last rule may have an empty match (or use default:)",
				r.Pos, ruleLabel(i+1, r.Name), len(rs.rules)-1-i)
		}
		if defNode != nil {
			return nil, p.errf(defNode, "default: never used, because %s (%s) has an empty match and matches every request", ruleLabel(i+1, r.Name), r.Pos)
		}
	}
	rs.compile()
	return rs, nil
}

func ruleLabel(n int, name string) string {
	if name == "" {
		return fmt.Sprintf("rule %d", n)
	}
	return fmt.Sprintf("rule %d (%q)", n, name)
}

type parser struct{ name string }

// The node helpers shared by every strict YAML reader.
var (
	resolve  = yamlnode.Resolve
	kindName = yamlnode.KindName
	isNull   = yamlnode.IsNull
)

type keyVal = yamlnode.Pair

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	return yamlnode.Errorf(p.name, n, format, args...)
}

// yamlErr turns "yaml: line 3: did not find expected key" into
// "host.yaml:3: did not find expected key".
func (p *parser) yamlErr(err error) error { return yamlnode.FileError(p.name, err) }

// mapping, scalar and list are yamlnode's strict readers for this file.
func (p *parser) mapping(n *yaml.Node, what string, known ...string) (map[string]keyVal, error) {
	m, err := yamlnode.Mapping(p.name, n, what, known...)
	if err != nil {
		return nil, err
	}
	return m.Keys, nil
}

func (p *parser) scalar(kv keyVal, ctx string) (string, error) {
	return yamlnode.Scalar(p.name, kv, ctx)
}

func (p *parser) list(kv keyVal, ctx string) ([]string, error) { return yamlnode.List(p.name, kv, ctx) }

func (p *parser) rule(n *yaml.Node, num int) (Rule, error) {
	n = resolve(n)
	ctx := ruleLabel(num, "") + ": "
	// Find the name first so that every later error can quote it.
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], resolve(n.Content[i+1]); k.Value == "name" && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
				ctx = ruleLabel(num, v.Value) + ": "
			}
		}
	}
	f, err := p.mapping(n, strings.TrimSuffix(ctx, ": "), "name", "match", "respond")
	if err != nil {
		return Rule{}, err
	}
	r := Rule{Pos: fmt.Sprintf("%s:%d", p.name, n.Line)}
	if kv, ok := f["name"]; ok {
		if r.Name, err = p.scalar(kv, ctx); err != nil {
			return Rule{}, err
		}
	}
	if kv, ok := f["match"]; ok && !isNull(kv.Val) {
		if err := p.match(kv, ctx, &r); err != nil {
			return Rule{}, err
		}
	}
	kv, ok := f["respond"]
	if !ok {
		return Rule{}, p.errf(n, "%smissing respond: (at least rc:)", ctx)
	}
	if r.Respond, err = p.respond(kv.Val, ctx+"respond: "); err != nil {
		return Rule{}, err
	}
	r.Respond.Rule = r.Name
	if r.Name == "" {
		r.Respond.Rule = ruleLabel(num, "")
	}
	return r, nil
}

func (p *parser) match(m keyVal, ctx string, r *Rule) error {
	f, err := p.mapping(m.Val, ctx+"match", "mti", "processing_code", "amount", "pan", "pan_prefix", "tid")
	if err != nil {
		return err
	}
	ctx += "match: "
	lists := []struct {
		key   string
		dst   *[]string
		check func(v string) error
	}{
		{"mti", &r.MTI, ruleMTI},
		{"processing_code", &r.ProcessingCode, iso.CheckPCPrefix},
		{"pan", &r.PAN, fullPAN},
		{"pan_prefix", &r.PANPrefix, panPrefix},
		{"tid", &r.TID, iso.CheckTID},
	}
	for _, l := range lists {
		if err := p.selectorList(f, l.key, ctx, l.dst, l.check); err != nil {
			return err
		}
	}
	if len(r.PAN) > 0 && len(r.PANPrefix) > 0 {
		return p.errf(f["pan_prefix"].Key, "%sgive pan or pan_prefix, not both (both select on the same field)", ctx)
	}
	for i, t := range r.TID {
		r.TID[i] = strings.TrimRight(t, " ")
	}
	if kv, ok := f["amount"]; ok {
		s, err := p.scalar(kv, ctx)
		if err != nil {
			return err
		}
		ar, err := parseAmountRange(s)
		if err != nil {
			return p.errf(kv.Key, "%samount range %q: %v", ctx, s, err)
		}
		r.Amount = &ar
	}
	return nil
}

// selectorList reads match key (a value or a list of values, any of which
// selects), checks each value and stores the list in dst.
func (p *parser) selectorList(f map[string]keyVal, key, ctx string, dst *[]string, check func(string) error) error {
	kv, ok := f[key]
	if !ok {
		return nil
	}
	vals, err := p.list(kv, ctx)
	if err != nil {
		return err
	}
	for _, v := range vals {
		if err := check(v); err != nil {
			return p.errf(kv.Key, "%s%s %q: %v", ctx, key, v, err)
		}
	}
	*dst = vals
	return nil
}

// ruleMTI accepts the MTIs a rule may decide: authorization and financial
// requests and advices; the host answers the rest itself.
func ruleMTI(v string) error {
	if err := iso.CheckMTI(v); err != nil {
		return err
	}
	if (v[1] != '1' && v[1] != '2') || (v[2] != '0' && v[2] != '2') {
		return fmt.Errorf("rules decide only authorization and financial requests and advices (01x0, 01x2, 02x0, 02x2 forms); the host answers responses, reversals and network management itself")
	}
	return nil
}

func fullPAN(v string) error {
	if len(v) < 8 || len(v) > 19 || !allDigits(v) {
		return fmt.Errorf("want a full PAN, 8 to 19 digits (use pan_prefix for a prefix)")
	}
	return nil
}

func panPrefix(v string) error {
	if len(v) < 1 || len(v) > 19 || !allDigits(v) {
		return fmt.Errorf("want 1 to 19 digits")
	}
	return nil
}

func toSet(list []string) map[string]struct{} {
	m := make(map[string]struct{}, len(list))
	for _, s := range list {
		m[s] = struct{}{}
	}
	return m
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// parseAmountRange reads "min..max", "..max", "min.." or an exact "n", in
// minor units.
func parseAmountRange(s string) (AmountRange, error) {
	num := func(what, v string) (uint64, error) {
		n, ok := parseDigits(v)
		if !ok || len(v) > 12 {
			hint := ""
			if strings.Contains(v, ".") || strings.Contains(v, ",") {
				hint = " (amounts are in minor units: write 1000.00 as 100000)"
			} else if ok {
				hint = " (field 4 has 12 digits)"
			}
			return 0, fmt.Errorf("%s %q is not a whole number of minor units of at most 12 digits%s", what, v, hint)
		}
		return n, nil
	}
	lo, hi, isRange := strings.Cut(s, "..")
	if !isRange {
		n, err := num("amount", s)
		return AmountRange{n, n}, err
	}
	if lo == "" && hi == "" {
		return AmountRange{}, fmt.Errorf("a range needs at least one bound (remove amount to match any)")
	}
	ar := AmountRange{0, maxAmount}
	var err error
	if lo != "" {
		if ar.Min, err = num("min", lo); err != nil {
			return ar, err
		}
	}
	if hi != "" {
		if ar.Max, err = num("max", hi); err != nil {
			return ar, err
		}
	}
	if ar.Min > ar.Max {
		return ar, fmt.Errorf("min %d is greater than max %d", ar.Min, ar.Max)
	}
	return ar, nil
}

func (p *parser) respond(n *yaml.Node, ctx string) (Decision, error) {
	f, err := p.mapping(n, strings.TrimSuffix(ctx, ": "), "rc", "delay", "approval_code", "set")
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	kv, ok := f["rc"]
	if !ok {
		return d, p.errf(resolve(n), "%smissing rc (the response code, e.g. rc: \"00\")", ctx)
	}
	if d.RC, err = p.scalar(kv, ctx); err != nil {
		return d, err
	}
	if len(d.RC) != 2 || !isAlnum(d.RC) {
		return d, p.errf(kv.Key, "%src %q: want 2 letters or digits (field 39), quoted so YAML keeps a leading zero: rc: \"05\"", ctx, d.RC)
	}
	if kv, ok := f["delay"]; ok {
		s, err := p.scalar(kv, ctx)
		if err != nil {
			return d, err
		}
		if d.Delay, err = time.ParseDuration(s); err != nil {
			return d, p.errf(kv.Key, "%sdelay %q: want a Go duration such as 250ms, 2s or 1m30s", ctx, s)
		}
		if d.Delay < 0 {
			return d, p.errf(kv.Key, "%sdelay %q: must not be negative", ctx, s)
		}
	}
	if kv, ok := f["approval_code"]; ok {
		if d.ApprovalCode, err = p.scalar(kv, ctx); err != nil {
			return d, err
		}
		if len(d.ApprovalCode) != 6 || !isAlnum(d.ApprovalCode) {
			return d, p.errf(kv.Key, "%sapproval_code %q: want 6 letters or digits (field 38)", ctx, d.ApprovalCode)
		}
		if !IsApproval(d.RC) {
			return d, p.errf(kv.Key, "%sapproval_code given but rc %s (%s) is not an approval: only approvals carry one", ctx, d.RC, RCMeaning(d.RC))
		}
	}
	if kv, ok := f["set"]; ok {
		if d.Set, err = p.setFields(kv, ctx); err != nil {
			return d, err
		}
	}
	return d, nil
}

// setFields reads set: {54: "...", 44: "..."}: response fields by number.
// The fields that pair the answer with its request, the RC and the MAC are
// the host's to set, not a rule's.
func (p *parser) setFields(kv keyVal, ctx string) ([]FieldValue, error) {
	m := resolve(kv.Val)
	if m.Kind != yaml.MappingNode {
		return nil, p.errf(kv.Key, "%sset: want a mapping of field number to value ({54: \"1002978C000000010000\"}), got %s", ctx, kindName(m))
	}
	var out []FieldValue
	seen := map[int]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolve(m.Content[i+1])
		id, err := strconv.Atoi(k.Value)
		if err != nil || id < 2 || id > 128 {
			return nil, p.errf(k, "%sset: %q is not a field number 2–128", ctx, k.Value)
		}
		switch id {
		case 11, 41, 39, 64, 128:
			return nil, p.errf(k, "%sset: field %d is the host's (11/41 pair the answer, 39 is rc:, 64/128 the MAC)", ctx, id)
		}
		if seen[id] {
			return nil, p.errf(k, "%sset: field %d given twice", ctx, id)
		}
		seen[id] = true
		if v.Kind != yaml.ScalarNode || yamlnode.IsNull(v) {
			return nil, p.errf(k, "%sset: field %d: want a value, got %s", ctx, id, kindName(v))
		}
		out = append(out, FieldValue{Field: id, Value: v.Value})
	}
	slices.SortFunc(out, func(a, b FieldValue) int { return a.Field - b.Field })
	return out, nil
}

// Describe is a human table of the rules, for --rules-help and the README.
// Test PANs are shown in full: they are configured numbers a trainer has to
// type, not cardholder data (transaction output stays masked).
func (rs *RuleSet) Describe() string {
	var b, table strings.Builder
	fmt.Fprintf(&b, "Authorization rules from %s (first match wins; amounts in minor units):\n\n", rs.name)
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tRULE\tWHEN\tRC\tMEANING\tDELAY")
	row := func(num, when string, d Decision) {
		delay := ""
		if d.Delay > 0 {
			delay = d.Delay.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", num, d.Rule, when, d.RC, RCMeaning(d.RC), delay)
	}
	for i := range rs.rules {
		r := &rs.rules[i]
		row(strconv.Itoa(i+1), r.when(), r.Respond)
	}
	row("-", "no rule matched", rs.def)
	tw.Flush()
	// tabwriter pads the empty DELAY cells: drop the trailing blanks.
	for line := range strings.Lines(table.String()) {
		b.WriteString(strings.TrimRight(line, " \n"))
		b.WriteByte('\n')
	}
	b.WriteString("\nRules decide authorization and financial requests (01xx, 02xx) only; the host\n" +
		"answers reversals (04xx) and network management (08xx) itself.\n")
	return b.String()
}

// when is a one-line description of the rule's selectors.
func (r *Rule) when() string {
	var parts []string
	add := func(what string, vals []string, suffix string) {
		if len(vals) == 0 {
			return
		}
		shown := vals
		if len(shown) > 4 {
			shown = shown[:4]
		}
		s := what + " " + strings.Join(shown, suffix+"|") + suffix
		if len(vals) > len(shown) {
			s += fmt.Sprintf("|… (%d in all)", len(vals))
		}
		parts = append(parts, s)
	}
	add("mti", r.MTI, "")
	add("processing code", r.ProcessingCode, "*")
	if a := r.Amount; a != nil {
		switch {
		case a.Min == a.Max:
			parts = append(parts, fmt.Sprintf("amount = %d", a.Min))
		case a.Max == maxAmount:
			parts = append(parts, fmt.Sprintf("amount >= %d", a.Min))
		case a.Min == 0:
			parts = append(parts, fmt.Sprintf("amount <= %d", a.Max))
		default:
			parts = append(parts, fmt.Sprintf("amount %d..%d", a.Min, a.Max))
		}
	}
	add("pan", r.PAN, "")
	add("pan", r.PANPrefix, "*")
	add("tid", r.TID, "")
	if len(parts) == 0 {
		return "any request"
	}
	return strings.Join(parts, ", ")
}
