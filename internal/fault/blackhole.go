package fault

func init() {
	registerTriggered("blackhole",
		"The connection stays open but nothing this side writes arrives: the peer's requests time out and nothing tells it the link is dead.",
		func(t trigger) triggered { return blackholeFault{onTrigger{t}} })
}

type blackholeFault struct{ onTrigger }

func (blackholeFault) describe() string  { return "blackhole" }
func (blackholeFault) undo(c *faultConn) { c.blackholes.Add(-1) }
func (blackholeFault) act(c *faultConn, _ *effect, _ []byte) (int, error) {
	c.blackholes.Add(1)
	return 0, nil
}
