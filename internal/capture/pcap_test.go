package capture

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// exchange runs a request/answer over loopback with the client side
// recorded into path.
func exchange(t *testing.T, path string, clientSide bool) {
	t.Helper()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !clientSide {
			c = w.Wrap(c, false)
		}
		b := make([]byte, 5)
		if _, err := io.ReadFull(c, b); err == nil {
			_, _ = c.Write(bytes.ToUpper(b))
		}
		_, _ = c.Read(b) // until the client closes
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if clientSide {
		c = w.Wrap(c, true)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "HELLO" {
		t.Fatalf("%q %v", b, err)
	}
	c.Close()
	<-done
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// The synthesised stream is consistent: each direction's data follows its
// sequence numbers from the handshake, and the acknowledgements of the
// peer never exceed what was sent.
func TestPcapSequenceNumbers(t *testing.T) {
	for _, clientSide := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "x.pcap")
		exchange(t, path, clientSide)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		next := map[layers.TCPPort]uint32{}
		data := map[layers.TCPPort]string{}
		sawAckOfRequest := false
		var clientPort layers.TCPPort
		for {
			b, _, err := r.ReadPacketData()
			if err != nil {
				break
			}
			p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
			tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if tcp == nil {
				t.Fatal("packet without TCP")
			}
			if tcp.SYN {
				if !tcp.ACK {
					clientPort = tcp.SrcPort
				}
				next[tcp.SrcPort] = tcp.Seq + 1
				continue
			}
			if len(tcp.Payload) > 0 {
				if tcp.Seq != next[tcp.SrcPort] {
					t.Fatalf("seq %d, want %d", tcp.Seq, next[tcp.SrcPort])
				}
				next[tcp.SrcPort] += uint32(len(tcp.Payload))
				data[tcp.SrcPort] += string(tcp.Payload)
			}
			if tcp.FIN {
				next[tcp.SrcPort]++
			}
			if tcp.ACK && tcp.SrcPort != clientPort && tcp.Ack == next[clientPort] && strings.Contains(data[clientPort], "hello") {
				sawAckOfRequest = true
			}
		}
		f.Close()
		if data[clientPort] != "hello" {
			t.Fatalf("client data %q (side client=%v)", data, clientSide)
		}
		if !sawAckOfRequest {
			t.Fatalf("no ACK of the request from the server (client side=%v)", clientSide)
		}
		if tshark, err := exec.LookPath("tshark"); err == nil {
			out, err := exec.Command(tshark, "-r", path, "-q", "-z", "follow,tcp,ascii,0").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "hello") || !strings.Contains(string(out), "HELLO") {
				t.Fatalf("tshark follow: %v\n%s", err, out)
			}
			out, _ = exec.Command(tshark, "-r", path, "-Y", "tcp.analysis.flags && !tcp.analysis.window_update").Output()
			if strings.TrimSpace(string(out)) != "" {
				t.Fatalf("tshark flags TCP problems in a clean exchange:\n%s", out)
			}
		} else {
			t.Log("tshark not installed: Wireshark's reading of the file not checked")
		}
	}
}

func TestTraceMasksPANsInDetails(t *testing.T) {
	if got := maskDigits("cannot unpack field 2: 4761739001010010 is bad"); strings.Contains(got, "4761739001010010") || !strings.Contains(got, "476173******0010") {
		t.Fatal(got)
	}
}
