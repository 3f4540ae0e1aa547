package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/testkit/hostkit"
)

func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nosuch"},
		{"terminal"},
		{"terminal", "purchase", "--amount", "12.345"},
		{"terminal", "fly"},
		{"terminal", "--bogus", "purchase"},
		{"terminal", "--dialect", "spec87", "purchase"},
		{"host", "--fault", "dely:p=1"},
		{"host", "--fault", "delay:p=1.5"},
		{"host", "--length-header", "none"},
		{"proxy"},
	} {
		code, _, stderr := runCmd(args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
		if len(args) > 0 && stderr == "" {
			t.Errorf("%q: no message", args)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	if code, out, _ := runCmd("--help"); code != 0 || !strings.Contains(out, "terminal") {
		t.Fatalf("help: %d %q", code, out)
	}
	if code, out, _ := runCmd("version"); code != 0 || !strings.HasPrefix(out, "possim ") {
		t.Fatalf("version: %d %q", code, out)
	}
	for _, c := range []string{"host", "terminal", "proxy", "demo", "faults", "version"} {
		if code, out, errOut := runCmd(c, "--help"); code != 0 || !strings.Contains(out, "Usage: possim "+c) || errOut != "" {
			t.Errorf("%s --help: %d %q", c, code, errOut)
		}
	}
}

func TestFaultsListsTheCatalogue(t *testing.T) {
	code, out, _ := runCmd("faults")
	for _, name := range []string{"drop", "delay", "blackhole", "crash", "bad-mac"} {
		if !strings.Contains(out, name) {
			t.Errorf("possim faults does not list %s", name)
		}
	}
	if code != 0 {
		t.Fatal(code)
	}
}

// The terminal command, end to end over TCP, against an in-process host.
func TestTerminalCommand(t *testing.T) {
	d, _ := iso.Lookup("iso87ascii")
	h := hostkit.Start(t, host.Config{Dialect: d})
	addr := h.Addr().String()
	code, out, _ := runCmd("terminal", "--target", addr, "purchase", "--amount", "12.34", "-v")
	if code != 0 || !strings.Contains(out, "APPROVED") || strings.Contains(out, "4761739001010010") || !strings.Contains(out, "476173******0010") {
		t.Fatalf("purchase: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd("terminal", "--target", addr, "--pan", "4000000000000069", "purchase")
	if code != 1 || !strings.Contains(out, "rc=54 (expired card)") { // not approved: exit 1
		t.Fatalf("decline: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd("terminal", "--target", addr, "--timeout", "200ms", "--reversal-backoff", "10ms",
		"--fault", "drop:mti=0200,stream=upstream", "purchase") // the terminal's own fault: the request never leaves
	if code != 1 || !strings.Contains(out, "TIMEOUT REVERSED") {
		t.Fatalf("dropped request: exit %d\n%s", code, out)
	}
}

func TestTerminalUnreachableHost(t *testing.T) {
	code, out, _ := runCmd("terminal", "--target", "127.0.0.1:1", "--connect-attempts", "1", "echo")
	if code != 1 || !strings.Contains(out, "connect refused") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestDemoTranscript(t *testing.T) {
	code, out, _ := runCmd("demo")
	for _, want := range []string{"0800", "rc=51 (insufficient funds)", "TIMEOUT REVERSED", "0400", "late response", "1 reversed"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo transcript lacks %q", want)
		}
	}
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// A terminal whose TMK differs from the host's: sign-on fails with the KCV
// mismatch named, on every connect attempt, and nothing is sent.
func TestTerminalWrongTMK(t *testing.T) {
	d, _ := iso.Lookup("iso87ascii")
	var sf securityFlags
	fs := newFlags("host", "host", io.Discard)
	sf.add(fs, true)
	if err := fs.Parse([]string{"--tmk", "0123456789ABCDEFFEDCBA9876543210"}); err != nil {
		t.Fatal(err)
	}
	sec, err := sf.hostSecurity()
	if err != nil {
		t.Fatal(err)
	}
	h := hostkit.Start(t, host.Config{Dialect: d, Security: sec})
	code, out, _ := runCmd("terminal", "--target", h.Addr().String(), "--tmk", "11111111111111112222222222222222", "--connect-attempts", "2", "purchase")
	if code != 1 || !strings.Contains(out, "KCV mismatch on the MAC key") || strings.Contains(out, "purchase APPROVED") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if strings.Contains(strings.ToUpper(out), "11111111111111112222222222222222") {
		t.Fatal("the TMK was printed")
	}
}

func TestHostConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/host.yaml"
	if err := os.WriteFile(good, []byte(`listen: 127.0.0.1:0
idle_timeout: 5m
rules:
  rules:
    - name: big spender
      match: {amount: "100000.."}
      respond: {rc: "61"}
  default: {rc: "00"}
faults:
  - {type: delay, mti: "0210", delay: 2s, p: 0.5}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd("host", "--config", good, "--show-rules")
	if code != 0 || !strings.Contains(out, "big spender") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	fs := newFlags("host", "host", io.Discard)
	var df dialectFlags
	df.add(fs)
	fs.String("listen", "x", "")
	fs.Duration("idle-timeout", 0, "")
	_ = fs.Parse([]string{"--listen", "127.0.0.1:9"})
	hc, err := loadHostConfig(good, fs)
	if err != nil || len(hc.faults) != 1 || hc.rules == nil {
		t.Fatalf("%v %+v", err, hc)
	}
	if v, _ := fs.GetString("listen"); v != "127.0.0.1:9" {
		t.Fatalf("the command line must win over the file: listen %s", v)
	}
	if v, _ := fs.GetDuration("idle-timeout"); v.String() != "5m0s" {
		t.Fatalf("idle-timeout from the file: %v", v)
	}

	for name, body := range map[string]string{
		"unknown key": "listen: 127.0.0.1:0\ncolour: red\n",
		"bad rule":    "rules:\n  rules:\n    - match: {mti: \"0400\"}\n      respond: {rc: \"00\"}\n",
		"bad fault":   "faults:\n  - {type: dely}\n",
		"twice":       "listen: a\nlisten: b\n",
	} {
		bad := dir + "/bad.yaml"
		_ = os.WriteFile(bad, []byte(body), 0o644)
		code, _, errOut := runCmd("host", "--config", bad)
		if code != 2 || !strings.Contains(errOut, "bad.yaml:") {
			t.Errorf("%s: exit %d, %q", name, code, errOut)
		}
	}
}
