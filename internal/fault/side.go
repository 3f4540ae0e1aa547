package fault

import "fmt"

// A fault that one side carries out as an action (a crash, an unsolicited
// 0800, dying after a send, refusing connections) does nothing when the rule
// set is attached to another side. Accepting such a rule silently would let
// a user believe a fault was injected when none was: a rule set that knows
// its side refuses it, saying which side carries it out.

// carriers returns the sides that can carry out a fault type; nil: any side
// (message and byte faults act on whatever the side writes or reads).
func carriers(typ string, level Level) []Side {
	switch {
	case level == LevelHost:
		return []Side{Host}
	case level == LevelTerminal:
		return []Side{Terminal}
	case typ == "refuse":
		// refuse acts on a listener: the host's, or the proxy's towards the
		// terminals.
		return []Side{Host, ProxyDownstream}
	}
	return nil
}

// sideNames says in words where a fault goes: the command to attach it to.
func sideNames(sides []Side) string {
	var s string
	for i, x := range sides {
		if i > 0 {
			s += " or "
		}
		switch x {
		case Host:
			s += "the host (possim host --fault …)"
		case Terminal:
			s += "the terminal (possim terminal --fault …)"
		case ProxyDownstream, ProxyUpstream:
			s += "the proxy (possim proxy --fault …)"
		}
	}
	return s
}

// CheckSide returns an error when rule r cannot be carried out by side. A
// zero side (unknown) accepts every rule.
func CheckSide(r Rule, side Side) error {
	t, ok := registry[r.Type]
	if !ok || side == 0 {
		return nil
	}
	c := carriers(r.Type, t.Level)
	if c == nil {
		return nil
	}
	for _, s := range c {
		if s == side || s == ProxyDownstream && side == ProxyUpstream {
			return nil
		}
	}
	return fmt.Errorf("fault %q is carried out by %s, not by the %s: attach it there", r.Type, sideNames(c), sideLabel(side))
}

func sideLabel(s Side) string {
	if s == ProxyDownstream || s == ProxyUpstream {
		return "proxy"
	}
	return s.String()
}
