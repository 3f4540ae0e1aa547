package fault

import (
	"time"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "unsolicited",
			Level: LevelHost,
			Attributes: []Attribute{
				{Name: "code", Kind: KindEnum, Default: "301", Values: []string{"301", "002", "101"},
					Doc: "network management code (field 70): 301 echo, 002 sign-off, 101 key change"},
				{Name: "every", Kind: KindDuration, Default: "0s", Doc: "repeat this often (0: once); the first one goes at after="},
			},
			Symptom:       "The host sends an unsolicited 0800 (echo 301, sign-off 002, key change 101) on every link: the terminal must answer it with an 0810 and act on it.",
			Streams:       []Stream{Downstream},
			DefaultStream: Downstream,
		},
	})
}

// UnsolicitedSpec is a host-initiated 0800 the host must send.
type UnsolicitedSpec struct {
	Rule  int
	Label string
	Code  string        // field 70: 301 echo, 002 sign-off, 101 key change
	At    time.Time     // the first one (the rule's after=, from when the rule set or rule started)
	Every time.Duration // then this often; 0 = once
	Until time.Time     // none after this; zero = no end
	Count int           // at most this many; 0 = unlimited
}

// Unsolicited lists the host-initiated 0800s to send. The host owns
// sending: for each spec it sends an 0800 with field 70 = Code on its links
// at At, then every Every, calling Trigger(spec.Rule, msg) before each
// send (Trigger applies p, count and until, and records the firing; false
// means skip this one). Rules added later appear in the next call.
func (rs *RuleSet) Unsolicited() []UnsolicitedSpec {
	if rs == nil {
		return nil
	}
	var out []UnsolicitedSpec
	for _, r := range rs.list.Load().host {
		if r.Type != "unsolicited" {
			continue
		}
		s := UnsolicitedSpec{Rule: r.ID, Label: r.Label(), Code: r.a.str("code"),
			At: r.base.Add(r.After), Every: r.a.dur("every"), Count: r.Count}
		if r.Until > 0 {
			s.Until = r.base.Add(r.Until)
		}
		out = append(out, s)
	}
	return out
}
