package fault

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:       "half-open",
			Level:      LevelLink,
			Attributes: triggerAttrs(),
			Symptom: "This side stops reading but keeps the socket: the peer's writes succeed until the socket buffers fill, then block " +
				"(its write timeout), and its requests are never answered.",
		},
		conn: func(a attrs) (connFault, error) {
			t, err := parseTrigger(a)
			return halfOpenFault{t}, err
		},
	})
}

type halfOpenFault struct{ t trigger }

func (halfOpenFault) describe() string { return "half-open (reads stop)" }
func (f halfOpenFault) when() trigger  { return f.t }
func (halfOpenFault) atFrame() bool    { return false }
func (halfOpenFault) undo(c *faultConn) {
	c.halts.Add(-1)
	c.signal()
}
func (halfOpenFault) act(c *faultConn, _ *effect, _ []byte) (int, error) {
	c.halts.Add(1)
	return 0, nil
}
