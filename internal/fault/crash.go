package fault

import (
	"time"

	"github.com/moov-io/iso8583"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "crash",
			Level: LevelHost,
			Attributes: []Attribute{
				{Name: "down", Kind: KindDuration, Default: "5s", Doc: "how long the host stays down"},
				{Name: "every", Kind: KindDuration, Default: "0s", Doc: "crash again this long after the last crash started (0: once)"},
			},
			Symptom: "The host crashes: every link drops at once and new connections are refused (the listener is closed) for down=, then it comes back.",
		},
	})
}

// CrashSpec is a host crash the host must carry out.
type CrashSpec struct {
	Rule  int
	Label string
	At    time.Time     // the first crash (the rule's after=)
	Down  time.Duration // how long the host stays down
	Every time.Duration // crash again this long after the last one started; 0 = once
	Until time.Time     // none after this; zero = no end
	Count int           // at most this many; 0 = unlimited
}

// Crashes lists the host crashes to carry out. The host owns them: at At
// (then every Every) it calls Trigger(spec.Rule, nil) and, on true, closes
// every link and its listener — a real "connection refused" needs the
// listener closed — and listens again after Down.
func (rs *RuleSet) Crashes() []CrashSpec {
	if rs == nil {
		return nil
	}
	var out []CrashSpec
	for _, r := range rs.list.Load().host {
		if r.Type != "crash" {
			continue
		}
		s := CrashSpec{Rule: r.ID, Label: r.Label(), At: r.base.Add(r.After), Down: r.a.dur("down"),
			Every: r.a.dur("every"), Count: r.Count}
		if r.Until > 0 {
			s.Until = r.base.Add(r.Until)
		}
		out = append(out, s)
	}
	return out
}

// Trigger decides one occurrence of a host action (unsolicited, crash):
// false if the rule is gone, outside its window, out of count, or the
// probability says no this time. On true the firing is recorded (with m,
// the message sent, if any).
func (rs *RuleSet) Trigger(id int, m *iso8583.Message) bool {
	if rs == nil {
		return false
	}
	r := rs.rule(id)
	if r == nil || r.t.Level != LevelHost {
		return false
	}
	now := rs.now()
	// A timer may fire a hair early; the window's start is At itself.
	if el := now.Sub(r.base); r.Until > 0 && el >= r.Until {
		return false
	}
	ok, _ := r.decide()
	if !ok {
		return false
	}
	detail := ""
	switch r.Type {
	case "crash":
		detail = "host down for " + r.a.dur("down").String()
	case "unsolicited":
		detail = "0800 code " + r.a.str("code")
	}
	rs.record(r, Downstream, m, detail)
	return true
}
