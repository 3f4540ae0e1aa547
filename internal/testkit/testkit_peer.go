package testkit

import (
	"net"
	"sync"
	"testing"
)

// Peer is a raw TCP peer for a test: it listens on Loopback and runs
// handle, each in a goroutine of its own, for every connection it accepts
// (a host that never answers, one that resets at once …). When the test
// ends the listener and every connection still open are closed and the
// handlers waited for: a handler returns once its connection is closed.
// A connection is closed when its handler returns. It returns the address.
func Peer(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", Loopback)
	if err != nil {
		t.Fatal(err)
	}
	AcceptAll(t, ln, handle)
	return ln.Addr().String()
}

// AcceptAll is Peer on a listener of the caller's (a TLS listener, a
// listener wrapped by faults); ln is closed when the test ends.
func AcceptAll(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	var (
		mu     sync.Mutex
		conns  = map[net.Conn]bool{}
		closed bool
		wg     sync.WaitGroup
	)
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				_ = c.Close()
				return
			}
			conns[c] = true
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					_ = c.Close()
				}()
				handle(c)
			}()
		}
	}()
}

// Refused returns a loopback address nothing listens on: a port the kernel
// picked and that was closed again, so a connect there is refused.
func Refused(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", Loopback)
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
