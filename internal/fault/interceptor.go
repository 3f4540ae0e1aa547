package fault

import (
	"math/rand/v2"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// msgFault is one message-level fault type's behaviour.
type msgFault interface {
	// applies says whether the fault can act on m at all, before the rule
	// counts it (rc acts on responses only, remove-field on messages that
	// have the field...). nth/every count only messages it applies to.
	applies(m *iso8583.Message, mti string) bool
	// inbound: it can act on a received message (drop, field rewrites).
	inbound() bool
	// apply adds the fault to the plan being built; rnd is seeded from the
	// rule's RNG. It returns a short detail for transcripts, and false if
	// it could not act after all.
	apply(c *call, rnd *rand.Rand) (detail string, ok bool)
}

// call is one message going through the rules.
type call struct {
	rs      *RuleSet
	orig    *iso8583.Message
	mti     string
	msg     *iso8583.Message // the rewritten copy, once a rule rewrites
	plan    link.Plan
	inbound bool
}

// cur is the message as rewritten so far.
func (c *call) cur() *iso8583.Message {
	if c.msg != nil {
		return c.msg
	}
	return c.orig
}

// edit returns a copy of the message to rewrite (never the caller's).
func (c *call) edit() (*iso8583.Message, bool) {
	if c.msg != nil {
		return c.msg, true
	}
	m, err := c.orig.Clone()
	if err != nil {
		return nil, false
	}
	c.msg = m
	return m, true
}

// frame adds a frame rewrite after any earlier one.
func (c *call) frame(f func([]byte) []byte) {
	if prev := c.plan.Frame; prev != nil {
		c.plan.Frame = func(b []byte) []byte { return f(prev(b)) }
		return
	}
	c.plan.Frame = f
}

func (c *call) framing() iso.Framing { return c.rs.dialect.Framing }

type interceptor struct {
	rs   *RuleSet
	side Side
}

// Interceptor returns the message-level faults for links on one side. One
// interceptor may be shared by every link of that side. On a nil rule set
// it returns nil (no interceptor).
func (rs *RuleSet) Interceptor(side Side) link.Interceptor {
	if rs == nil {
		return nil
	}
	return interceptor{rs, side}
}

func (ic interceptor) Outbound(m *iso8583.Message) link.Plan {
	return ic.rs.plan(m, ic.side, ic.side.out(), false)
}

func (ic interceptor) Inbound(m *iso8583.Message) link.Plan {
	if ic.side.proxy() {
		return link.Plan{}
	}
	return ic.rs.plan(m, ic.side, ic.side.in(), true)
}

// plan runs every message rule over m travelling dir.
func (rs *RuleSet) plan(m *iso8583.Message, side Side, dir Stream, inbound bool) link.Plan {
	rules := rs.list.Load().msg
	if len(rules) == 0 || m == nil {
		return link.Plan{}
	}
	mti, _ := m.GetMTI()
	var now = rs.now()
	c := call{rs: rs, orig: m, mti: mti, inbound: inbound}
	for _, r := range rules {
		if !r.on(dir, side) || (inbound && !r.msg.inbound()) || !r.active(now) ||
			!r.msg.applies(c.cur(), mti) || !r.matches(c.cur(), mti) {
			continue
		}
		ok, v := r.decide()
		if !ok {
			continue
		}
		detail, acted := r.msg.apply(&c, rngFrom(v))
		if !acted {
			continue
		}
		label := r.Label()
		if detail != "" {
			label += " (" + detail + ")"
		}
		c.plan.Fired = append(c.plan.Fired, label)
		rs.record(r, dir, m, detail)
		if c.plan.Drop {
			break
		}
	}
	if c.msg != nil {
		c.plan.Msg = c.msg
	}
	return c.plan
}
