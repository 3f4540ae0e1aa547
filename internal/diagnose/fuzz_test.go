package diagnose_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/capture"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/internal/testkit/hostkit"
)

// seedCapture is a real capture written by possim: a sign-on and a
// purchase.
func seedCapture(f *testing.F) []byte {
	t := &testing.T{}
	h := hostkit.Start(f, host.Config{Dialect: ascii})
	path := filepath.Join(f.TempDir(), "seed.pcap")
	w, err := capture.Create(path)
	if err != nil {
		f.Fatal(err)
	}
	nc := testkit.Dial(f, h.Addr().String())
	c := &client{t: t, tid: "TERMFUZZ"}
	c.l = newLink(w.Wrap(nc, true))
	c.signOn()
	c.purchase(time.Second)
	c.l.Close()
	w.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzCapture feeds the capture reader bytes from the outside: it must
// return a report or an error, never panic or hang.
func FuzzCapture(f *testing.F) {
	seed := seedCapture(f)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0})
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := diagnose.AnalyzeCapture(bytes.NewReader(b), "fuzz", diagnose.CaptureConfig{})
		if err == nil {
			var sb strings.Builder
			_ = r.WriteText(&sb)
			_ = r.WriteJSON(&sb)
		}
	})
}

// FuzzTrace feeds the trace reader arbitrary lines.
func FuzzTrace(f *testing.F) {
	f.Add([]byte(`{"possim_trace":1,"units":{"durations":"ms"}}` + "\n" + `{"time":"2026-01-01T00:00:00Z","side":"terminal","conn":"a","event":"sent","mti":"0200","stan":"000001","tid":"T1"}`))
	f.Add([]byte(`{"event":"down","detail":"link reset by peer"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := diagnose.AnalyzeTrace(bytes.NewReader(b), "fuzz")
		if err == nil {
			var sb strings.Builder
			_ = r.WriteText(&sb)
		}
	})
}
