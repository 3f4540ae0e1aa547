package fault

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/internal/iso"
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
	key := k
	if strings.HasPrefix(k, "field.") {
		key = "field.N"
	}
	if !slices.Contains(t.ruleKeys(), key) {
		if isRuleKey(key) {
			return fmt.Errorf("%s=%s: %s does not take %s (%s)", k, v, t.Name, key, t.validKeys())
		}
		return fmt.Errorf("%s=%s: unknown key for %s: %s", k, v, t.Name, t.validKeys())
	}
	if err := ruleKeys[key](r, k, v); err != nil {
		return fmt.Errorf("%s=%s: %v", k, v, err)
	}
	return nil
}

// ruleKeys sets each rule key (the ones every fault type may take) from its
// text; an error says what the value should be.
var ruleKeys = map[string]func(r *Rule, k, v string) error{
	"name": func(r *Rule, _, v string) error { r.Name = v; return nil },
	"stream": func(r *Rule, _, v string) (err error) {
		r.Stream, err = ParseStream(v)
		return err
	},
	"mti": func(r *Rule, _, v string) error {
		r.Match.MTI = nil
		for m := range strings.SplitSeq(v, "|") {
			m = strings.TrimSpace(m)
			if err := iso.CheckMTI(m); err != nil {
				return fmt.Errorf("%q: %v", m, err)
			}
			r.Match.MTI = append(r.Match.MTI, m)
		}
		return nil
	},
	"pc": func(r *Rule, _, v string) error {
		r.Match.PC = v
		return iso.CheckPCPrefix(v)
	},
	"tid": func(r *Rule, _, v string) error {
		r.Match.TID = v
		return iso.CheckTID(v)
	},
	"field.N": func(r *Rule, k, v string) error {
		id, err := iso.ParseField(strings.TrimPrefix(k, "field."))
		if err != nil {
			return fmt.Errorf("%v (use mti= for the MTI)", err)
		}
		if r.Match.Fields == nil {
			r.Match.Fields = map[int]string{}
		}
		r.Match.Fields[id] = v
		return nil
	},
	"nth":   countKey(func(r *Rule) *int { return &r.Match.Nth }, 1),
	"every": countKey(func(r *Rule) *int { return &r.Match.Every }, 1),
	"count": countKey(func(r *Rule) *int { return &r.Count }, 0),
	"p": func(r *Rule, _, v string) error {
		p, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if err == nil && strings.HasSuffix(v, "%") {
			p /= 100
		}
		if err != nil || p < 0 || p > 1 || p != p {
			return fmt.Errorf("probability must be between 0 and 1")
		}
		r.Probability = &p
		return nil
	},
	"after": durationKey(func(r *Rule) *time.Duration { return &r.After }),
	"until": durationKey(func(r *Rule) *time.Duration { return &r.Until }),
}

// countKey sets a whole number of at least min; count's 0 means unlimited.
func countKey(field func(*Rule) *int, min int) func(r *Rule, k, v string) error {
	return func(r *Rule, k, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			if min == 0 {
				return fmt.Errorf("%s must be a whole number, 0 for unlimited", k)
			}
			return fmt.Errorf("%s must be a whole number from %d", k, min)
		}
		*field(r) = n
		return nil
	}
}

func durationKey(field func(*Rule) *time.Duration) func(r *Rule, k, v string) error {
	return func(r *Rule, _, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration (use a unit: 35s, 500ms, 2m)")
		}
		if d < 0 {
			return fmt.Errorf("must not be negative")
		}
		*field(r) = d
		return nil
	}
}

func isRuleKey(k string) bool {
	_, ok := ruleKeys[k]
	return ok
}
