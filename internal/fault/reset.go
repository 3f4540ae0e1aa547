package fault

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:       "reset",
			Level:      LevelLink,
			Attributes: triggerAttrs(),
			Symptom:    "The connection is reset (RST): the peer's link fails with \"link reset by peer\" and everything in flight fails with it.",
		},
		conn: func(a attrs) (connFault, error) {
			t, err := parseTrigger(a)
			return resetFault{t}, err
		},
	})
}

type resetFault struct{ t trigger }

func (resetFault) describe() string { return "reset (RST)" }
func (f resetFault) when() trigger  { return f.t }
func (resetFault) atFrame() bool    { return false }
func (resetFault) undo(*faultConn)  {}
func (f resetFault) act(c *faultConn, e *effect, _ []byte) (int, error) {
	err := &ConnError{Label: e.r.Label(), What: "connection reset (RST) " + f.t.String()}
	c.shutdown(true, err)
	return 0, err
}
