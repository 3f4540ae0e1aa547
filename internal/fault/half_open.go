package fault

func init() {
	registerTriggered("half-open",
		"This side stops reading but keeps the socket: the peer's writes succeed until the socket buffers fill, then block "+
			"(its write timeout), and its requests are never answered.",
		func(t trigger) triggered { return halfOpenFault{onTrigger{t}} })
}

type halfOpenFault struct{ onTrigger }

func (halfOpenFault) describe() string { return "half-open (reads stop)" }
func (halfOpenFault) undo(c *faultConn) {
	c.halts.Add(-1)
	c.signal()
}
func (halfOpenFault) act(c *faultConn, _ *effect, _ []byte) (int, error) {
	c.halts.Add(1)
	return 0, nil
}
