package fault

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseSpec reads one rule in the flag grammar
//
//	TYPE[:key=value,key=value...]
//
// e.g. "delay:mti=0210,p=0.1,delay=35s". Keys are the rule fields — mti
// (several with |: mti=0200|0210), pc, tid, field.N=VALUE, nth, every, p,
// count, after, until, stream, name — and the type's attributes. Errors
// name the bad token and say what is valid.
func ParseSpec(spec string) (Rule, error) {
	spec = strings.TrimSpace(spec)
	typ, rest, hasRest := strings.Cut(spec, ":")
	typ = strings.TrimSpace(typ)
	if typ == "" {
		return Rule{}, fmt.Errorf("fault %q: no type (syntax: TYPE[:key=value,...], see possim faults)", spec)
	}
	t, err := lookupType(typ)
	if err != nil {
		return Rule{}, fmt.Errorf("fault %q: %v", spec, err)
	}
	r := Rule{Type: t.Name}
	seen := map[string]bool{}
	if hasRest {
		for tok := range strings.SplitSeq(rest, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" {
				continue
			}
			k, v, ok := strings.Cut(tok, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok {
				return Rule{}, fmt.Errorf("fault %q: %q: want key=value (%s)", spec, tok, t.validKeys())
			}
			if seen[k] {
				return Rule{}, fmt.Errorf("fault %q: %s given twice", spec, k)
			}
			seen[k] = true
			if err := setKey(t, &r, k, v); err != nil {
				return Rule{}, fmt.Errorf("fault %q: %v", spec, err)
			}
		}
	}
	if err := finish(t, &r); err != nil {
		return Rule{}, fmt.Errorf("fault %q: %v", spec, err)
	}
	return r, nil
}

// finish checks a rule whose keys are all set.
func finish(t *faultType, r *Rule) error {
	if err := checkRule(t, r); err != nil {
		return err
	}
	for _, a := range t.Attributes {
		if a.Required && r.Attrs[a.Name] == "" {
			return fmt.Errorf("%s needs %s= (%s)", t.Name, a.Name, a.Doc)
		}
	}
	return nil
}

// ParseSpecs parses several flag values.
func ParseSpecs(specs []string) ([]Rule, error) {
	out := make([]Rule, 0, len(specs))
	for _, s := range specs {
		r, err := ParseSpec(s)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// setKey sets one key of a rule from its text; the grammar, YAML and JSON
// all come through here. A type's own attribute wins over a rule key of the
// same name (after= on link faults, every= on host actions).
func setKey(t *faultType, r *Rule, k, v string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s=%s: %s", k, v, fmt.Sprintf(format, a...))
	}
	if t.attr(k) != nil {
		if err := t.checkAttr(k, v); err != nil {
			return err
		}
		if r.Attrs == nil {
			r.Attrs = map[string]string{}
		}
		r.Attrs[k] = v
		return nil
	}
	allowed := false
	key := k
	if strings.HasPrefix(k, "field.") {
		key = "field.N"
	}
	for _, rk := range t.ruleKeys() {
		allowed = allowed || rk == key
	}
	if !allowed {
		if isRuleKey(key) {
			return fmt.Errorf("%s=%s: %s does not take %s (%s)", k, v, t.Name, key, t.validKeys())
		}
		return fmt.Errorf("%s=%s: unknown key for %s: %s", k, v, t.Name, t.validKeys())
	}
	switch key {
	case "name":
		r.Name = v
	case "stream":
		s, err := ParseStream(v)
		if err != nil {
			return bad("%v", err)
		}
		r.Stream = s
	case "mti":
		r.Match.MTI = nil
		for m := range strings.SplitSeq(v, "|") {
			m = strings.TrimSpace(m)
			if err := checkMTI(m); err != nil {
				return bad("%q: %v", m, err)
			}
			r.Match.MTI = append(r.Match.MTI, m)
		}
	case "pc":
		if v == "" || len(v) > 6 || strings.Trim(v, "0123456789") != "" {
			return bad("a processing code prefix is 1 to 6 digits")
		}
		r.Match.PC = v
	case "tid":
		if v == "" || len(v) > 8 {
			return bad("a TID is 1 to 8 characters")
		}
		r.Match.TID = v
	case "field.N":
		id, err := strconv.Atoi(strings.TrimPrefix(k, "field."))
		if err != nil || id < 2 || id > 128 {
			return bad("field.N takes a field number 2..128 (use mti= for the MTI)")
		}
		if r.Match.Fields == nil {
			r.Match.Fields = map[int]string{}
		}
		r.Match.Fields[id] = v
	case "nth", "every", "count":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || (n == 0 && k != "count") {
			if k == "count" {
				return bad("count must be a whole number, 0 for unlimited")
			}
			return bad("%s must be a whole number from 1", k)
		}
		switch k {
		case "nth":
			r.Match.Nth = n
		case "every":
			r.Match.Every = n
		default:
			r.Count = n
		}
	case "p":
		p, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if err == nil && strings.HasSuffix(v, "%") {
			p /= 100
		}
		if err != nil || p < 0 || p > 1 || p != p {
			return bad("probability must be between 0 and 1")
		}
		r.Probability = &p
	case "after", "until":
		d, err := time.ParseDuration(v)
		if err != nil {
			return bad("not a duration (use a unit: 35s, 500ms, 2m)")
		}
		if d < 0 {
			return bad("must not be negative")
		}
		if k == "after" {
			r.After = d
		} else {
			r.Until = d
		}
	}
	return nil
}

func isRuleKey(k string) bool {
	switch k {
	case "name", "stream", "mti", "pc", "tid", "field.N", "nth", "every", "p", "count", "after", "until":
		return true
	}
	return false
}
