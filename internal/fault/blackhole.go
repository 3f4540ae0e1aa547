package fault

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:       "blackhole",
			Level:      LevelLink,
			Attributes: triggerAttrs(),
			Symptom:    "The connection stays open but nothing this side writes arrives: the peer's requests time out and nothing tells it the link is dead.",
		},
		conn: func(a attrs) (connFault, error) {
			t, err := parseTrigger(a)
			return blackholeFault{t}, err
		},
	})
}

type blackholeFault struct{ t trigger }

func (blackholeFault) describe() string  { return "blackhole" }
func (f blackholeFault) when() trigger   { return f.t }
func (blackholeFault) atFrame() bool     { return false }
func (blackholeFault) undo(c *faultConn) { c.blackholes.Add(-1) }
func (blackholeFault) act(c *faultConn, _ *effect, _ []byte) (int, error) {
	c.blackholes.Add(1)
	return 0, nil
}
