// Package capture exports what one side of a link sent and received: a pcap
// file Wireshark opens and follows as TCP streams, and a JSON-lines trace
// of link events.
//
// The pcap is synthesised, not sniffed: a [Writer] wraps each net.Conn and
// writes an Ethernet/IPv4/TCP packet for every write and read the
// application makes, with sequence and acknowledgement numbers that follow
// the bytes. So it needs no privileges and no capture library, and shows
// exactly the bytes as sent (test data: PANs are not masked in a pcap).
// The packets are built with gopacket's layers (checksums included) and
// written with its pcapgo writer, the formats Wireshark and tshark read.
package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// maxSegment is the payload of one synthesised segment: what fits an IPv4
// packet with room to spare (loopback captures carry such segments too).
const maxSegment = 32 << 10

// Writer writes one pcap file for any number of connections.
type Writer struct {
	mu    sync.Mutex
	w     *pcapgo.Writer
	f     io.WriteCloser
	err   error
	flows int
}

// Create creates (truncates) the pcap file path.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	w, err := NewWriter(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// NewWriter writes a pcap to wc (closed by Close).
func NewWriter(wc io.WriteCloser) (*Writer, error) {
	w := pcapgo.NewWriter(wc)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	return &Writer{w: w, f: wc}, nil
}

// Close closes the file. Connections still wrapped stop recording.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return w.err
	}
	err := w.f.Close()
	w.f = nil
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// Err is the first write error (the capture then stops; the link does not).
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

type endpoint struct {
	mac  net.HardwareAddr
	ip   net.IP
	port uint16
}

func endpointOf(a net.Addr, fallback byte) endpoint {
	e := endpoint{ip: net.IPv4(127, 0, 0, fallback).To4(), port: uint16(fallback) + 40000}
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip4 := ta.IP.To4(); ip4 != nil {
			e.ip = ip4
		}
		e.port = uint16(ta.Port)
	}
	e.mac = net.HardwareAddr{0x02, 0, e.ip[0], e.ip[1], e.ip[2], e.ip[3]}
	if e.ip.Equal(net.IPv4(127, 0, 0, 1)) {
		e.mac = net.HardwareAddr{0x02, 0, 0, 0, 0, fallback}
	}
	return e
}

// Wrap records c's traffic. The stream starts with a synthesised
// three-way handshake (the connection already exists: what matters is that
// the capture shows the whole stream); the client is the side that
// connected: client says whether that is this side.
func (w *Writer) Wrap(c net.Conn, client bool) net.Conn {
	w.mu.Lock()
	w.flows++
	n := uint32(w.flows)
	w.mu.Unlock()
	pc := &Conn{Conn: c, w: w, local: endpointOf(c.LocalAddr(), 1), remote: endpointOf(c.RemoteAddr(), 2), client: client}
	// Initial sequence numbers: distinct per flow, fixed per file, so two
	// runs' captures compare.
	pc.lseq, pc.rseq = 1000000*n+1, 1000000*n+500001
	cli, srv := pc.local, pc.remote
	cseq, sseq := &pc.lseq, &pc.rseq
	if !client {
		cli, srv = srv, cli
		cseq, sseq = sseq, cseq
	}
	now := time.Now()
	w.packet(now, cli, srv, *cseq, 0, flagSYN, nil)
	*cseq++
	w.packet(now, srv, cli, *sseq, *cseq, flagSYN|flagACK, nil)
	*sseq++
	w.packet(now, cli, srv, *cseq, *sseq, flagACK, nil)
	pc.lbase, pc.rbase = pc.lseq, pc.rseq
	pc.acked = pc.lbase
	return pc
}

const (
	flagFIN = 1 << iota
	flagSYN
	flagRST
	flagPSH
	flagACK
)

func (w *Writer) packet(at time.Time, from, to endpoint, seq, ack uint32, flags int, payload []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil || w.err != nil {
		return
	}
	eth := &layers.Ethernet{SrcMAC: from.mac, DstMAC: to.mac, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: from.ip, DstIP: to.ip, Flags: layers.IPv4DontFragment}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(from.port), DstPort: layers.TCPPort(to.port), Seq: seq, Ack: ack, Window: 65535,
		FIN: flags&flagFIN != 0, SYN: flags&flagSYN != 0, RST: flags&flagRST != 0, PSH: flags&flagPSH != 0, ACK: flags&flagACK != 0}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		w.err = err
		return
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		w.err = err
		return
	}
	b := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(b), Length: len(b)}
	if err := w.w.WritePacket(ci, b); err != nil {
		w.err = err
	}
}

// Conn is a net.Conn whose traffic goes into a pcap.
type Conn struct {
	net.Conn
	w             *Writer
	local, remote endpoint

	mu           sync.Mutex
	lseq, rseq   uint32 // next sequence number of each direction
	lbase, rbase uint32 // first data sequence number of each direction
	acked        uint32 // highest ack of our data the capture shows from the peer
	closed       bool
	client       bool
}

// peerAck writes the peer's ACK of our bytes when the kernel says it has
// acknowledged more than the capture shows. Called with c.mu held.
func (c *Conn) peerAck(at time.Time) {
	n, ok := ackedBytes(c.Conn)
	if !ok {
		return
	}
	if c.client && n > 0 {
		n-- // the SYN
	}
	ack := c.lbase + uint32(n)
	if ack != c.acked && seqAfter(ack, c.acked) {
		c.acked = ack
		c.w.packet(at, c.remote, c.local, c.rseq, ack, flagACK, nil)
	}
}

func seqAfter(a, b uint32) bool { return int32(a-b) > 0 }

func (c *Conn) Write(b []byte) (int, error) {
	// The segment is recorded before the system call: the peer's answer can
	// only come after it, and a reader goroutine records that answer as soon
	// as it reads it, so recording afterwards could put the answer first.
	// (Holding the lock across the write instead could deadlock two sides
	// that both write while neither reads.) A write that fails is followed
	// by what the failure was (a reset), as on the wire.
	c.mu.Lock()
	now := time.Now()
	seq := c.lseq
	for off := 0; off < len(b); off += maxSegment {
		end := min(off+maxSegment, len(b))
		c.w.packet(now, c.local, c.remote, c.lseq, c.rseq, flagACK|flagPSH, b[off:end])
		c.lseq += uint32(end - off)
	}
	c.mu.Unlock()
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	if n < len(b) {
		c.lseq = seq + uint32(n) // what did not go out is not in the stream
	}
	c.peerAck(time.Now())
	if err != nil && isReset(err) && !c.closed {
		c.w.packet(time.Now(), c.remote, c.local, c.rseq, 0, flagRST, nil)
		c.closed = true
	}
	c.mu.Unlock()
	return n, err
}

func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if n > 0 {
		c.peerAck(now)
		// The peer's data acknowledges what the kernel says it had of ours.
		for off := 0; off < n; off += maxSegment {
			end := min(off+maxSegment, n)
			c.w.packet(now, c.remote, c.local, c.rseq, c.ackOfOurs(), flagACK|flagPSH, b[off:end])
			c.rseq += uint32(end - off)
		}
		// Our kernel acknowledged it: the application has read it.
		c.w.packet(now, c.local, c.remote, c.lseq, c.rseq, flagACK, nil)
	}
	if err != nil && !c.closed {
		c.peerAck(now)
		switch {
		case errors.Is(err, io.EOF):
			c.w.packet(now, c.remote, c.local, c.rseq, c.ackOfOurs(), flagFIN|flagACK, nil)
			c.rseq++
			c.w.packet(now, c.local, c.remote, c.lseq, c.rseq, flagACK, nil)
		case isReset(err):
			c.w.packet(now, c.remote, c.local, c.rseq, 0, flagRST, nil)
			c.closed = true
		}
	}
	return n, err
}

// ackOfOurs is the acknowledgement number the peer's packets carry: what
// the kernel says the peer acknowledged, or (without TCP_INFO) everything
// this side has sent.
func (c *Conn) ackOfOurs() uint32 {
	if c.acked != 0 {
		return c.acked
	}
	if _, ok := ackedBytes(c.Conn); ok {
		return c.lbase
	}
	return c.lseq
}

func isReset(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Err != nil && (errors.Is(oe.Err, errConnReset) || oe.Err.Error() == "connection reset by peer")
	}
	return false
}

func (c *Conn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		now := time.Now()
		c.peerAck(now)
		c.w.packet(now, c.local, c.remote, c.lseq, c.rseq, flagFIN|flagACK, nil)
		c.lseq++
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// NetConn returns the wrapped connection (for TCP_INFO and deadlines).
func (c *Conn) NetConn() net.Conn { return c.Conn }

var _ = binary.BigEndian
