package fault

import "fmt"

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "bandwidth",
			Level: LevelLink,
			Attributes: []Attribute{
				{Name: "rate", Kind: KindInt, Default: "1000", Doc: "bytes per second this side may write", check: positive(1 << 30)},
			},
			Symptom: "This side's writes trickle out at rate= bytes/s: messages queue up, arrive late, and a slow enough link trips the write timeout.",
		},
		conn: func(a attrs) (connFault, error) { return bandwidthFault{a.int("rate")}, nil },
	})
}

type bandwidthFault struct{ rate int }

func (f bandwidthFault) describe() string { return fmt.Sprintf("bandwidth %d B/s", f.rate) }

func (f bandwidthFault) shape(s *shape, _ *rule) {
	if s.rate == 0 || f.rate < s.rate {
		s.rate = f.rate
	}
}
