package capture

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ackedBytes asks the kernel how many bytes this side has sent that the peer
// has acknowledged (TCP_INFO's tcpi_bytes_acked; on the connecting side it counts the
// SYN as one, on the accepting side not — measured on Linux 6).
// The pcap writer turns it into the peer's ACK segments, so that a capture
// written by possim says truthfully whether a request reached the peer's
// machine.
func ackedBytes(c net.Conn) (uint64, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var n uint64
	var got bool
	_ = rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil {
			n, got = info.Bytes_acked, true
		}
	})
	return n, got
}
