package testkit

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Dial opens a TCP connection to addr, closed when the test ends.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Pair returns both ends of one loopback TCP connection (real sockets, so
// deadlines, half-close and resets behave as in production), both closed
// when the test ends.
func Pair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", Loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-ch
	if sc == nil {
		cc.Close()
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { cc.Close(); sc.Close() })
	return cc, sc
}

// ReadLen and WriteLen are the 2-byte big-endian length header in the
// signatures moov-io/iso8583-connection takes (connection.New, server.New).
func ReadLen(r io.Reader) (int, error) {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b[:])), nil
}

// WriteLen: see ReadLen.
func WriteLen(w io.Writer, n int) (int, error) {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], uint16(n))
	return w.Write(b[:])
}

// Frame prefixes body with its 2-byte binary length header.
func Frame(body []byte) []byte {
	return append([]byte{byte(len(body) >> 8), byte(len(body))}, body...)
}

// ReadFrame reads one 2-byte-header frame from c within Wait and returns
// its body; the caller unpacks it with its dialect.
func ReadFrame(t testing.TB, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(Wait))
	n, err := ReadLen(c)
	if err != nil {
		t.Fatalf("reading a frame header: %v", err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading a %d-byte frame: %v", n, err)
	}
	return b
}

// SyncBuffer is a bytes.Buffer that link and host goroutines may log into
// while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
