package fault

import "fmt"

func init() {
	as := append(triggerAttrs(), Attribute{Name: "keep", Kind: KindInt, Default: "0",
		Doc: "bytes of the frame written before the cut (0: half the frame)",
		check: func(s string) error {
			if (attrs{"k": s}).int("k") < 0 {
				return fmt.Errorf("must not be negative")
			}
			return nil
		}})
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:       "truncate",
			Level:      LevelLink,
			Attributes: as,
			Symptom: "A frame is cut short and the connection closed: the peer's link fails with " +
				"\"framing lost: connection ended inside a frame (truncated)\". after=N truncates the frame after N messages; bytes=N cuts the stream at byte N.",
		},
		conn: func(a attrs) (connFault, error) {
			t, err := parseTrigger(a)
			return truncateFault{t, a.int("keep")}, err
		},
	})
}

type truncateFault struct {
	t    trigger
	keep int
}

func (truncateFault) describe() string { return "truncate" }
func (f truncateFault) when() trigger  { return f.t }
func (truncateFault) atFrame() bool    { return true }
func (truncateFault) undo(*faultConn)  {}

// act writes the first bytes of the frame at the start of rest, then closes
// the connection (FIN).
func (f truncateFault) act(c *faultConn, e *effect, rest []byte) (int, error) {
	k := 0
	if f.t.bytes < 0 && len(rest) > 0 {
		flen := len(rest)
		if hs := c.tr.hs; len(rest) >= hs {
			if n, err := c.tr.lh.Get(rest[:hs]); err == nil {
				flen = hs + c.tr.fr.PayloadLen(n)
			}
		}
		k = f.keep
		if k == 0 {
			k = flen / 2
		}
		k = max(min(k, flen-1, len(rest)), 0)
	}
	n := 0
	if k > 0 && c.blackholes.Load() == 0 {
		n, _ = c.Conn.Write(rest[:k])
	}
	err := &ConnError{Label: e.r.Label(), What: fmt.Sprintf("frame cut after %d bytes, connection closed", n)}
	c.shutdown(false, err)
	return n, err
}
