package diagnose

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Reading captures. Packets come from gopacket's pcapgo readers (pcap and
// pcapng, as tcpdump, tshark, dumpcap and possim's own writer produce) and
// are decoded with its layers (Ethernet, Linux cooked, raw IP, loopback).
//
// TCP streams are put back together here rather than with gopacket's
// reassembly package: the diagnosis needs per-segment facts that a byte
// reassembler hides — which bytes were retransmitted, when each byte first
// arrived, when the peer acknowledged it, zero windows, where a RST fell —
// and captures of POS links are small. So each direction keeps its
// segments and is ordered by sequence number below.

// maxCaptureBytes bounds the TCP payload read from one capture.
const maxCaptureBytes = 256 << 20

type flowKey struct {
	a, b string // "ip:port" of each end, a < b
}

type segment struct {
	at      time.Time
	seq     uint32
	payload []byte
	fin     bool
}

type ackMark struct {
	at  time.Time
	ack uint32
}

// half is one direction of a TCP connection.
type half struct {
	addr      string // sender
	isn       uint32
	haveISN   bool // from the SYN
	segs      []segment
	acks      []ackMark // acknowledgements this side sent (of the other direction)
	zeroWin   int
	zeroAt    time.Time
	rst       time.Time
	fin       time.Time
	port      uint16
	synNoAck  bool // sent the SYN (is the client)
	firstSeen time.Time

	// after assemble:
	data      []byte
	arrival   []arrival // first arrival time of byte offsets, ascending
	retrans   int
	retransAt time.Time
	gaps      int
	base      uint32
}

type arrival struct {
	off int
	at  time.Time
}

type tcpConn struct {
	key   flowKey
	first time.Time
	dir   map[string]*half // by sender addr
	order []string
}

// readCapture reads every TCP segment of a pcap or pcapng.
func readCapture(r io.Reader) ([]*tcpConn, int, error) {
	next, linkOf, err := captureReader(r)
	if err != nil {
		return nil, 0, err
	}
	conns := map[flowKey]*tcpConn{}
	var list []*tcpConn
	packets, total := 0, 0
	for {
		data, ci, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break // a capture cut short (tshark killed): use what is there
			}
			return nil, packets, fmt.Errorf("packet %d: %w", packets+1, err)
		}
		packets++
		p := gopacket.NewPacket(data, linkOf(ci), gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		from, to, tcp := tcpOf(p)
		if tcp == nil {
			continue
		}
		k := flowKey{from, to}
		if k.a > k.b {
			k.a, k.b = k.b, k.a
		}
		c := conns[k]
		if c == nil || (tcp.SYN && !tcp.ACK && c.dir[from] != nil && c.dir[from].haveISN && c.dir[from].isn != tcp.Seq) {
			// New connection (or the same ports reused by a new SYN).
			c = &tcpConn{key: k, first: ci.Timestamp, dir: map[string]*half{}}
			conns[k] = c
			list = append(list, c)
		}
		h := c.dir[from]
		if h == nil {
			h = &half{addr: from, port: uint16(tcp.SrcPort), firstSeen: ci.Timestamp}
			c.dir[from] = h
			c.order = append(c.order, from)
		}
		h.note(tcp, ci.Timestamp)
		if total += len(tcp.Payload); total > maxCaptureBytes {
			return nil, packets, fmt.Errorf("the capture carries more than %d MiB of TCP payload: filter it first (e.g. tshark -r IN -Y 'tcp.port==8583' -w OUT)", maxCaptureBytes>>20)
		}
	}
	for _, c := range list {
		for _, h := range c.dir {
			h.assemble()
		}
	}
	return list, packets, nil
}

// captureReader reads a pcap or pcapng header: the packet reader and the
// link type of each packet (pcapng: its interface's).
func captureReader(r io.Reader) (func() ([]byte, gopacket.CaptureInfo, error), func(gopacket.CaptureInfo) layers.LinkType, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, nil, fmt.Errorf("not a capture: %d bytes (a pcap or pcapng file starts with its magic number)", len(magic))
	}
	if bytes.Equal(magic, []byte{0x0A, 0x0D, 0x0D, 0x0A}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, nil, fmt.Errorf("pcapng: %w", err)
		}
		return ng.ReadPacketData, func(ci gopacket.CaptureInfo) layers.LinkType {
			if in, err := ng.Interface(ci.InterfaceIndex); err == nil {
				return in.LinkType
			}
			return ng.LinkType()
		}, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, nil, fmt.Errorf("not a pcap or pcapng file: %w", err)
	}
	lt := pr.LinkType()
	return pr.ReadPacketData, func(gopacket.CaptureInfo) layers.LinkType { return lt }, nil
}

// tcpOf is p's TCP segment with its source and destination addresses
// (nil when p is not TCP over IP).
func tcpOf(p gopacket.Packet) (from, to string, tcp *layers.TCP) {
	var src, dst net.IP
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, dst = ip.SrcIP, ip.DstIP
	case *layers.IPv6:
		src, dst = ip.SrcIP, ip.DstIP
	default:
		return "", "", nil
	}
	tcp, _ = p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp == nil {
		return "", "", nil
	}
	from = net.JoinHostPort(src.String(), fmt.Sprint(uint16(tcp.SrcPort)))
	to = net.JoinHostPort(dst.String(), fmt.Sprint(uint16(tcp.DstPort)))
	return from, to, tcp
}

// note records what one segment of this half says: its ISN, ACK, RST,
// FIN, a zero window, and its payload.
func (h *half) note(tcp *layers.TCP, at time.Time) {
	if tcp.SYN {
		h.isn, h.haveISN = tcp.Seq, true
		h.synNoAck = !tcp.ACK
	}
	if tcp.ACK {
		h.acks = append(h.acks, ackMark{at, tcp.Ack})
	}
	if tcp.RST {
		h.rst = at
	}
	if tcp.FIN && h.fin.IsZero() {
		h.fin = at
	}
	if tcp.Window == 0 && !tcp.RST && !tcp.SYN {
		h.zeroWin++
		if h.zeroAt.IsZero() {
			h.zeroAt = at
		}
	}
	if len(tcp.Payload) > 0 {
		seq := tcp.Seq
		if tcp.SYN {
			seq++
		}
		h.segs = append(h.segs, segment{at: at, seq: seq, payload: append([]byte(nil), tcp.Payload...), fin: tcp.FIN})
	}
}

// assemble orders a direction's segments by sequence number into its byte
// stream: bytes seen before are retransmissions, a hole that is never
// filled is a gap (the capture lost the packet, or the network did and
// nothing retransmitted it before the capture ended).
func (h *half) assemble() {
	if len(h.segs) == 0 {
		return
	}
	base := h.segs[0].seq
	if h.haveISN {
		base = h.isn + 1
	} else {
		for _, s := range h.segs {
			if int32(s.seq-base) < 0 {
				base = s.seq
			}
		}
	}
	type piece struct {
		off int
		s   segment
	}
	pieces := make([]piece, 0, len(h.segs))
	seen := map[[2]int]bool{}
	for _, s := range h.segs {
		off := int(int32(s.seq - base))
		if off < 0 {
			continue
		}
		k := [2]int{off, len(s.payload)}
		if seen[k] {
			h.retrans++
			if h.retransAt.IsZero() {
				h.retransAt = s.at
			}
			continue
		}
		seen[k] = true
		pieces = append(pieces, piece{off, s})
	}
	sort.SliceStable(pieces, func(i, j int) bool { return pieces[i].off < pieces[j].off })
	for _, p := range pieces {
		end := p.off + len(p.s.payload)
		switch {
		case end <= len(h.data):
			h.retrans++ // entirely covered by earlier bytes
			if h.retransAt.IsZero() {
				h.retransAt = p.s.at
			}
		case p.off > len(h.data):
			// A hole: bytes missing from the capture. The stream after it
			// cannot be framed, so assembly stops here.
			h.gaps++
			return
		default:
			if p.off < len(h.data) {
				h.retrans++
				if h.retransAt.IsZero() {
					h.retransAt = p.s.at
				}
			}
			h.arrival = append(h.arrival, arrival{len(h.data), p.s.at})
			h.data = append(h.data, p.s.payload[len(h.data)-p.off:]...)
		}
	}
	h.base = base
}

// at returns when the byte at offset off first arrived.
func (h *half) at(off int) time.Time {
	i := sort.Search(len(h.arrival), func(i int) bool { return h.arrival[i].off > off })
	if i == 0 {
		if len(h.arrival) > 0 {
			return h.arrival[0].at
		}
		return time.Time{}
	}
	return h.arrival[i-1].at
}

// ackedAt returns when the other side acknowledged this direction up to
// offset end (exclusive), from the other side's ACKs; ok false when it
// never did. known says whether the other side sent any ACK at all.
func (h *half) ackedAt(other *half, end int) (at time.Time, ok, known bool) {
	if other == nil || len(other.acks) == 0 {
		return time.Time{}, false, false
	}
	want := h.base + uint32(end)
	for _, a := range other.acks {
		if int32(a.ack-want) >= 0 {
			return a.at, true, true
		}
	}
	return time.Time{}, false, true
}

// openCapture opens path for reading.
func openCapture(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the capture: %w", err)
	}
	return f, nil
}
