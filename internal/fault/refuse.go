package fault

import (
	"net"
	"time"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "refuse",
			Level: LevelLink,
			Attributes: []Attribute{
				{Name: "for", Kind: KindDuration, Default: "0s", Doc: "how long, from after=, connections are refused (0: until until=, or for good)"},
			},
			Symptom: "New connections are accepted and reset at once (RST) for a while: the peer's connect, or its first read or write, fails with \"connection reset by peer\". " +
				"(A real \"connection refused\" needs the listener closed: see crash.)",
		},
		conn: func(a attrs) (connFault, error) { return refuseFault{a.dur("for")}, nil },
	})
}

type refuseFault struct{ d time.Duration }

func (refuseFault) describe() string { return "refused (RST at accept)" }

// WrapListener applies refuse rules to l: while one is active, every
// accepted connection it picks (p, count) is reset at once and Accept goes
// on waiting. On a nil rule set it returns l.
func (rs *RuleSet) WrapListener(l net.Listener) net.Listener {
	if rs == nil || l == nil {
		return l
	}
	return &faultListener{Listener: l, rs: rs}
}

type faultListener struct {
	net.Listener
	rs *RuleSet
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		if r := l.rs.refuses(); r != nil {
			l.rs.record(r, Upstream, nil, "connection from "+c.RemoteAddr().String()+" reset at accept")
			if tc, ok := c.(interface{ SetLinger(int) error }); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		return c, nil
	}
}

// refuses decides whether to refuse the connection just accepted.
func (rs *RuleSet) refuses() *rule {
	now := rs.now()
	for _, r := range rs.list.Load().refuse {
		if !r.active(now) {
			continue
		}
		if d := r.conn.(refuseFault).d; d > 0 && now.Sub(r.base) >= r.After+d {
			continue
		}
		if ok, _ := r.decide(); ok {
			return r
		}
	}
	return nil
}
