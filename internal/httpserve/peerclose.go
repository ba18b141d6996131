package httpserve

import (
	"net"
	"syscall"
)

// A parked Ping's connection is taken from net/http (Hijack) and nothing
// reads it while the Ping waits, so a device that hangs up is noticed only
// when the answer is written, at the end of a heartbeat of up to an hour:
// until then the socket, its buffers and the hub's record stay. Reading
// would need a goroutine per connection (the ~100 KB the detached design
// saves) or a read that consumes bytes the device pipelined after its
// Ping. PeerCloseWatcher instead asks the kernel: one epoll set and one
// goroutine for all parked connections report a peer's FIN (EPOLLRDHUP),
// a reset or an error (EPOLLHUP, EPOLLERR), without reading a byte, so
// pipelined requests stay in the socket for the request that follows.
//
// Only the peer's close is seen: a phone that vanishes without a FIN is
// found by TCP keep-alive (on by default for accepted connections), which
// ends in EPOLLERR.

// unwrapSocket finds the socket under conn: through TLS (NetConn) and any
// wrapper that offers NetConn.
func unwrapSocket(conn net.Conn) (syscall.Conn, bool) {
	for range 8 {
		if sc, ok := conn.(syscall.Conn); ok {
			return sc, true
		}
		nc, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return nil, false
		}
		conn = nc.NetConn()
	}
	return nil, false
}
