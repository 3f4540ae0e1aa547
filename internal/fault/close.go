package fault

func init() {
	registerTriggered("close",
		"The connection is closed cleanly (FIN): the peer's link fails with \"link closed by peer\" and everything in flight fails with it.",
		func(t trigger) triggered { return closeFault{onTrigger{t}} })
}

type closeFault struct{ onTrigger }

func (closeFault) describe() string { return "close (FIN)" }
func (f closeFault) act(c *faultConn, e *effect, _ []byte) (int, error) {
	err := &ConnError{Label: e.r.Label(), What: "connection closed (FIN) " + f.t.String()}
	c.shutdown(false, err)
	return 0, err
}
