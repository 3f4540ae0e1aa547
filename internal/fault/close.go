package fault

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:       "close",
			Level:      LevelLink,
			Attributes: triggerAttrs(),
			Symptom:    "The connection is closed cleanly (FIN): the peer's link fails with \"link closed by peer\" and everything in flight fails with it.",
		},
		conn: func(a attrs) (connFault, error) {
			t, err := parseTrigger(a)
			return closeFault{t}, err
		},
	})
}

type closeFault struct{ t trigger }

func (closeFault) describe() string { return "close (FIN)" }
func (f closeFault) when() trigger  { return f.t }
func (closeFault) atFrame() bool    { return false }
func (closeFault) undo(*faultConn)  {}
func (f closeFault) act(c *faultConn, e *effect, _ []byte) (int, error) {
	err := &ConnError{Label: e.r.Label(), What: "connection closed (FIN) " + f.t.String()}
	c.shutdown(false, err)
	return 0, err
}
