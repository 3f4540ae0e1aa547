package proxy_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/internal/proxy"
	"github.com/possim/possim/internal/testkit/hostkit"
)

// The proxy's transcript names causes from the catalogue: a terminal that
// frames with 4 ASCII digits through a binary2 proxy, and a host's RC 63 to
// a request that carried no MAC.
func TestTranscriptNamesCauses(t *testing.T) {
	tmk, _ := mac.ParseHexKey("0123456789ABCDEFFEDCBA9876543210")
	h := hostkit.Start(t, host.Config{Dialect: ascii, Security: &host.Security{TMK: tmk}})
	var mu sync.Mutex
	var lines []proxy.Line
	got := make(chan struct{}, 16)
	p, err := proxy.Start(proxy.Config{Listen: "127.0.0.1:0", Upstream: h.Addr().String(), Dialect: ascii, OnLine: func(l proxy.Line) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
		if l.Finding != nil {
			got <- struct{}{}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	wait := func(id diagnose.ID) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			mu.Lock()
			for _, l := range lines {
				if l.Finding != nil && l.Finding.Cause == id {
					mu.Unlock()
					if l.Finding.FixText() == "" {
						t.Fatalf("%s without fix", id)
					}
					return
				}
			}
			mu.Unlock()
			select {
			case <-got:
			case <-deadline:
				t.Fatalf("no line names %s: %+v", id, lines)
			}
		}
	}
	// A request without a MAC: the host answers 63.
	nc, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	l := link.New(nc, link.Config{Dialect: ascii}).Start()
	defer l.Close()
	m := ascii.NewMessage()
	m.MTI("0200")
	for id, v := range map[int]string{2: "4761739001010010", 3: "000000", 4: "000000001000", 11: "000001", 41: "TERM0001", 49: "978"} {
		_ = iso.Set(m, id, v)
	}
	if r := l.Call(m, 3*time.Second); r.Err != nil || iso.Get(r.Resp, 39) != "63" {
		t.Fatalf("%v %s", r.Err, iso.Summary(r.Resp))
	}
	wait(diagnose.MACNotSent)
	// Four ASCII digits where the proxy expects a 2-byte binary length.
	raw, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	body, _ := m.Pack()
	frame, _ := iso.Framing{Length: iso.ASCII4}.AppendFrame(nil, nil, body)
	if _, err := raw.Write(frame); err != nil {
		t.Fatal(err)
	}
	wait(diagnose.FramingLengthHeader)
}
