package fault

import (
	"fmt"
	"time"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "slow-drip",
			Level: LevelLink,
			Attributes: []Attribute{
				{Name: "size", Kind: KindInt, Default: "1", Doc: "bytes per piece", check: positive(1 << 20)},
				{Name: "delay", Kind: KindDuration, Default: "10ms", Doc: "wait between pieces"},
			},
			Symptom: "Each write goes out in pieces of size= bytes with delay= between, splitting even the length header: the peer's reader must reassemble frames.",
		},
		conn: func(a attrs) (connFault, error) { return dripFault{a.int("size"), a.dur("delay")}, nil },
	})
}

type dripFault struct {
	size  int
	delay time.Duration
}

func (f dripFault) describe() string {
	return fmt.Sprintf("slow-drip %d bytes every %v", f.size, f.delay)
}

func (f dripFault) shape(s *shape, _ *rule) {
	if s.chunk == 0 || f.size < s.chunk {
		s.chunk = f.size
	}
	s.gap += f.delay
}
