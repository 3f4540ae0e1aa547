package fault

func init() {
	registerTriggered("reset",
		"The connection is reset (RST): the peer's link fails with \"link reset by peer\" and everything in flight fails with it.",
		func(t trigger) triggered { return resetFault{onTrigger{t}} })
}

type resetFault struct{ onTrigger }

func (resetFault) describe() string { return "reset (RST)" }
func (f resetFault) act(c *faultConn, e *effect, _ []byte) (int, error) {
	err := &ConnError{Label: e.r.Label(), What: "connection reset (RST) " + f.t.String()}
	c.shutdown(true, err)
	return 0, err
}
