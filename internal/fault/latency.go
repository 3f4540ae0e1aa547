package fault

import (
	"time"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "latency",
			Level: LevelLink,
			Attributes: []Attribute{
				{Name: "latency", Kind: KindDuration, Default: "100ms", Doc: "wait before each write on the connection"},
				{Name: "jitter", Kind: KindDuration, Default: "0s", Doc: "plus or minus up to this much per write, uniformly"},
			},
			Symptom: "Everything this side writes arrives later (each socket write waits; the link coalesces frames, so a busy link is slowed, not serialised).",
		},
		conn: func(a attrs) (connFault, error) { return latencyFault{a.dur("latency"), a.dur("jitter")}, nil },
	})
}

type latencyFault struct{ d, jitter time.Duration }

func (f latencyFault) describe() string {
	if f.jitter > 0 {
		return "latency " + f.d.String() + "±" + f.jitter.String()
	}
	return "latency " + f.d.String()
}

func (f latencyFault) shape(s *shape, r *rule) {
	d := f.d
	if f.jitter > 0 {
		d = jittered(f.d, f.jitter, rngFrom(r.draw()))
	}
	s.pre += d
}
