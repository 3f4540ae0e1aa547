package diagnose_test

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
)

// craft writes packets as tcpdump would have captured them on a lossy
// path: loopback cannot lose packets, so retransmissions are built here
// packet by packet (gopacket's layers) and read back as a capture.
type craft struct {
	w  *pcapgo.Writer
	at time.Time
}

func (c *craft) pkt(t *testing.T, from, to uint16, seq, ack uint32, syn, ackf bool, payload []byte) {
	t.Helper()
	c.at = c.at.Add(10 * time.Millisecond)
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IPv4(10, 0, 0, byte(from%200)), DstIP: net.IPv4(10, 0, 0, byte(to%200))}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(from), DstPort: layers.TCPPort(to), Seq: seq, Ack: ack, SYN: syn, ACK: ackf, PSH: len(payload) > 0, Window: 65535}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	if err := c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.at, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func echoFrame(t *testing.T, mti string) []byte {
	m := ascii.NewMessage()
	m.MTI(mti)
	_ = iso.Set(m, 11, "000001")
	_ = iso.Set(m, 41, "TERMLOSS")
	_ = iso.Set(m, 70, "301")
	if mti == "0810" {
		_ = iso.Set(m, 39, "00")
	}
	body, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ascii.Framing.AppendFrame(nil, nil, body)
	return f
}

func TestCaptureRetransmissionsNamed(t *testing.T) {
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	_ = w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	c := &craft{w: w, at: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	const cli, srv = 40001, 8583
	req, resp := echoFrame(t, "0800"), echoFrame(t, "0810")
	c.pkt(t, cli, srv, 100, 0, true, false, nil)
	c.pkt(t, srv, cli, 900, 101, true, true, nil)
	c.pkt(t, cli, srv, 101, 901, false, true, nil)
	c.pkt(t, cli, srv, 101, 901, false, true, req) // lost on the way
	c.pkt(t, cli, srv, 101, 901, false, true, req) // retransmitted
	c.pkt(t, srv, cli, 901, 101+uint32(len(req)), false, true, resp)
	r, err := diagnose.AnalyzeCapture(&out, "crafted", diagnose.CaptureConfig{Port: srv})
	if err != nil {
		t.Fatal(err)
	}
	report := text(r)
	t.Log("\n" + report)
	mustCause(t, r, diagnose.NetworkPacketLoss)
	if !strings.Contains(report, "0810 STAN 000001 TID TERMLOSS RC 00") {
		t.Fatal("the retransmitted request was not paired with its answer")
	}
}
