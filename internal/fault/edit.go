package fault

import (
	"fmt"
	"strconv"
	"strings"
)

// Rules by reference, for the control API: a rule is named by its id, its
// name, or its label (type#id), so a trainer can say DELETE /faults/slowlink.

// Find returns the current rule ref names: an id ("3"), a name
// ("slowlink") or a label ("delay#3").
func (rs *RuleSet) Find(ref string) (Rule, bool) {
	if r := rs.find(ref); r != nil {
		return r.Rule, true
	}
	return Rule{}, false
}

func (rs *RuleSet) find(ref string) *rule {
	if rs == nil || ref == "" {
		return nil
	}
	all := rs.list.Load().all
	if id, err := strconv.Atoi(ref); err == nil {
		for _, r := range all {
			if r.ID == id {
				return r
			}
		}
		return nil
	}
	for _, r := range all {
		if r.Name == ref {
			return r
		}
	}
	for _, r := range all {
		if r.Label() == ref {
			return r
		}
	}
	return nil
}

// Enabled reports whether rule id acts (it may be switched off).
func (rs *RuleSet) Enabled(id int) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.list.Load().all {
		if r.ID == id {
			return !r.off
		}
	}
	return false
}

// SetEnabled switches rule id on or off without removing it; false if
// there is none. Off, a link fault's effects on open connections stop.
func (rs *RuleSet) SetEnabled(id int, on bool) bool {
	rs.mu.Lock()
	old := rs.list.Load()
	var hit *rule
	for _, r := range old.all {
		if r.ID == id {
			hit = r
		}
	}
	if hit == nil {
		rs.mu.Unlock()
		return false
	}
	changed := hit.off == on
	hit.off = !on
	if changed {
		rs.list.Store(split(append([]*rule(nil), old.all...)))
	}
	rs.mu.Unlock()
	if changed && hit.conn != nil && hit.Type != "refuse" {
		for _, c := range rs.liveConns() {
			if on {
				c.consider(hit)
			} else {
				c.detach(hit)
			}
		}
	}
	return true
}

// Replace puts r in the place of rule id, keeping the id, whether it is
// on, and its counts; its after/until count from now.
func (rs *RuleSet) Replace(id int, r Rule) (Rule, error) {
	rs.mu.Lock()
	old := rs.list.Load()
	at := -1
	for i, x := range old.all {
		if x.ID == id {
			at = i
		}
	}
	if at < 0 {
		rs.mu.Unlock()
		return Rule{}, fmt.Errorf("no fault with id %d", id)
	}
	prev := old.all[at]
	r.ID = id
	cr, err := compile(r, rs.seed, rs.now())
	if err != nil {
		rs.mu.Unlock()
		return Rule{}, err
	}
	cr.off = prev.off
	cr.seen.Store(prev.seen.Load())
	cr.fired.Store(prev.fired.Load())
	all := append([]*rule(nil), old.all...)
	all[at] = cr
	for i, h := range rs.history {
		if h == prev {
			rs.history[i] = cr
		}
	}
	rs.list.Store(split(all))
	rs.mu.Unlock()
	if prev.conn != nil {
		for _, c := range rs.liveConns() {
			c.detach(prev)
		}
	}
	if cr.conn != nil && cr.Type != "refuse" && !cr.off {
		for _, c := range rs.liveConns() {
			c.consider(cr)
		}
	}
	return cr.Rule, nil
}

// Patched returns r with the keys of the flag grammar in patch set to new
// values (the type cannot change).
func Patched(r Rule, patch map[string]string) (Rule, error) {
	spec := r.String()
	typ, rest, _ := strings.Cut(spec, ":")
	var keys []string
	vals := map[string]string{}
	if rest != "" {
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			keys = append(keys, k)
			vals[k] = v
		}
	}
	for k, v := range patch {
		if k == "type" {
			return Rule{}, fmt.Errorf("the type of a rule cannot change (delete it and add a new one)")
		}
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+vals[k])
	}
	if len(parts) == 0 {
		return ParseSpec(typ)
	}
	return ParseSpec(typ + ":" + strings.Join(parts, ","))
}
