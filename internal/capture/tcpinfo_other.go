//go:build !linux

package capture

import "net"

// ackedBytes is unknown off Linux: the writer then acknowledges what the
// peer's own packets imply (see Conn).
func ackedBytes(net.Conn) (uint64, bool) { return 0, false }
