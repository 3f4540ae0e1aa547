package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/capture"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/testkit/hostkit"
)

func diagHost(t *testing.T, lh string) *host.Host {
	t.Helper()
	d, _ := iso.Build("iso87ascii", iso.Options{LengthHeader: lh})
	return hostkit.Start(t, host.Config{Dialect: d})
}

func TestDiagnoseCommandTarget(t *testing.T) {
	h := diagHost(t, "binary2")
	code, out, errOut := runCmd("diagnose", "--target", h.Addr().String(), "--echoes", "3", "--financial")
	if code != 0 || !strings.Contains(out, "✓ framing") || !strings.Contains(out, "✓ financial") || !strings.Contains(out, "all checks passed") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// A host in another framing: exit 1, cause and fix named.
	h4 := diagHost(t, "ascii4")
	code, out, _ = runCmd("diagnose", "--target", h4.Addr().String(), "--timeout", "500ms")
	if code != 1 || !strings.Contains(out, "cause: framing.length_header") || !strings.Contains(out, "set the terminal's length header to ascii4") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	code, out, _ = runCmd("diagnose", "--target", h4.Addr().String(), "--timeout", "500ms", "--output", "json")
	var rep struct {
		Units    map[string]string `json:"units"`
		OK       bool              `json:"ok"`
		Findings []struct {
			Cause, Fix string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK || rep.Units["durations"] != "ms" || len(rep.Findings) == 0 || rep.Findings[0].Cause != "framing.length_header" {
		t.Fatalf("json: %v %d %s", err, code, out)
	}
}

func TestDiagnoseCommandRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	code, out, _ := runCmd("diagnose", "--target", addr)
	if code != 1 || !strings.Contains(out, "cause: host.refused") || !strings.Contains(out, "fix:") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestDiagnoseCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"diagnose"},
		{"diagnose", "--target", "x:1", "--pcap", "f"},
		{"diagnose", "--target", "nocolon"},
		{"diagnose", "--target", "x:1", "--output", "yaml"},
		{"diagnose", "--target", "x:1", "--echoes", "0"},
		{"diagnose", "--target", "x:1", "--mac-alg", "cmac"},
		{"diagnose", "--target", "x:1", "--bogus"},
		{"diagnose", "--pcap", filepath.Join(t.TempDir(), "missing.pcap")},
	} {
		if code, _, errOut := runCmd(args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	// The probe's TID is judged by internal/iso (CheckTID).
	for _, tid := range []string{"", "   ", "TOOLONGTID"} {
		if code, _, errOut := runCmd("diagnose", "--target", "x:1", "--tid", tid); code != 2 || !strings.Contains(errOut, "want 1 to 8 characters") {
			t.Errorf("--tid %q: exit %d, stderr %q", tid, code, errOut)
		}
	}
	code, out, _ := runCmd("diagnose", "--help")
	if code != 0 || !strings.Contains(out, "Usage: possim diagnose") || !strings.Contains(out, "Examples:") {
		t.Fatalf("--help: %d %q", code, out)
	}
}

// A pcap written by possim, read by possim diagnose --pcap.
func TestDiagnoseCommandPcap(t *testing.T) {
	h := diagHost(t, "binary2")
	path := filepath.Join(t.TempDir(), "c.pcap")
	w, err := capture.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", h.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	d, _ := iso.Lookup("iso87ascii")
	l := link.New(w.Wrap(nc, true), link.Config{Dialect: d}).Start()
	m := d.NewMessage()
	m.MTI("0800")
	_ = iso.Set(m, 11, "000001")
	_ = iso.Set(m, 41, "TERM0001")
	_ = iso.Set(m, 70, "301")
	if r := l.Call(m, 2*time.Second); r.Err != nil {
		t.Fatal(r.Err)
	}
	l.Close()
	w.Close()
	code, out, errOut := runCmd("diagnose", "--pcap", path)
	if code != 0 || !strings.Contains(out, "0810 STAN 000001 TID TERM0001 RC 00") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// possim terminal --pcap/--trace, then possim diagnose on both files.
func TestTerminalCaptureThenDiagnose(t *testing.T) {
	h := diagHost(t, "binary2")
	dir := t.TempDir()
	pc, tr := filepath.Join(dir, "t.pcap"), filepath.Join(dir, "t.jsonl")
	code, out, errOut := runCmd("terminal", "--journal", "none", "--target", h.Addr().String(), "--pcap", pc, "--trace", tr, "purchase")
	if code != 0 {
		t.Fatalf("terminal: exit %d\n%s\n%s", code, out, errOut)
	}
	answered := regexp.MustCompile(`0210 STAN \d{6} TID POSSIM01 RC 00`)
	code, out, _ = runCmd("diagnose", "--pcap", pc)
	if code != 0 || !answered.MatchString(out) {
		t.Fatalf("diagnose --pcap: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd("diagnose", "--trace", tr)
	if code != 0 || !answered.MatchString(out) {
		t.Fatalf("diagnose --trace: exit %d\n%s", code, out)
	}
	if code, _, _ := runCmd("terminal", "--target", h.Addr().String(), "--journal", "none", "--pcap", filepath.Join(dir, "no", "such", "dir.pcap"), "echo"); code != 2 {
		t.Fatalf("unwritable --pcap: exit %d", code)
	}
}
