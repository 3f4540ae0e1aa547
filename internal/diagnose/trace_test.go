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
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/internal/testkit/hostkit"
)

// A trace written by the link's observer (terminal side) is read back:
// the late answer and the reset are named, and no PAN is in the file.
func TestTraceRoundTrip(t *testing.T) {
	h := hostkit.Start(t, host.Config{Dialect: ascii, Faults: hostkit.Faults(t, ascii, "delay:mti=0210,delay=300ms")})
	path := filepath.Join(t.TempDir(), "run.jsonl")
	tr, err := capture.CreateTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	nc := testkit.Dial(t, h.Addr().String())
	c := &client{t: t, tid: "TERMTRC1"}
	c.l = link.New(nc, link.Config{Dialect: ascii, Observer: tr.Observer("terminal", nc.LocalAddr().String()+"→"+nc.RemoteAddr().String())}).Start()
	c.signOn()
	c.purchase(100 * time.Millisecond)
	waitLate(t, c)
	c.l.Close()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("4761739001010010")) || !bytes.Contains(raw, []byte("476173******0010")) {
		t.Fatalf("PAN not masked in the trace:\n%s", raw)
	}
	if !strings.HasPrefix(string(raw), `{"possim_trace":1,"units":{"durations":"ms"}`) {
		t.Fatalf("header: %.80s", raw)
	}
	r, err := diagnose.AnalyzeTraceFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text(r))
	mustCause(t, r, diagnose.ResponseAfterReversal)
	mustCause(t, r, diagnose.ResponseLate)
}

func TestTraceBadInput(t *testing.T) {
	for _, in := range []string{"not json\n", `{"possim_trace":7}` + "\n", `{"time":"2026-01-01T00:00:00Z"}` + "\n", ""} {
		if _, err := diagnose.AnalyzeTrace(strings.NewReader(in), "t.jsonl"); err == nil || !strings.Contains(err.Error(), "t.jsonl") {
			t.Errorf("%q: err %v", in, err)
		}
	}
}
