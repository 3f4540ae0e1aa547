package link

import "net"

// NewWriter is a link used only to write frames that were read elsewhere:
// a proxy reads each side with a FrameReader (it must forward frames it
// cannot read, byte for byte) and writes the other side through a
// NewWriter, so that its writes get what every link's do — coalescing,
// the write deadline (Config.WriteTimeout), the bounded queue, and the
// link's scheduler for delayed frames instead of a timer per frame.
// Do not Start it: the caller owns the connection's reading. Close it
// when done (it closes nc).
func NewWriter(nc net.Conn, cfg Config) *Link { return New(nc, cfg) }

// Forward queues a whole frame (length header included) as read, carrying
// out an outbound plan on it (drop, delay, copies, hold, frame rewrite;
// plan.Msg must already be encoded into frame by the caller). frame is
// copied. It waits up to the write timeout for queue space.
func (l *Link) Forward(frame []byte, plan Plan) error {
	f := append(getFrame(len(frame)), frame...)
	return l.transmit(f, &plan, true)
}
