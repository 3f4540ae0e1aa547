package host

import "slices"

// Then returns the rules of rs followed by those of next, with next's
// default: a scenario or demo puts its own rules in front of the built-in
// test cards.
func (rs *RuleSet) Then(next *RuleSet) *RuleSet {
	out := &RuleSet{name: rs.name + "+" + next.name, rules: slices.Concat(rs.rules, next.rules), def: next.def}
	out.compile()
	return out
}
