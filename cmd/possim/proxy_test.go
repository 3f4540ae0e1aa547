package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// possim proxy --listen X --upstream X is refused at start, exit 2, before
// any connection could loop back into the proxy.
func TestProxySelfUpstreamExit2(t *testing.T) {
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	port := strconv.Itoa(free.Addr().(*net.TCPAddr).Port)
	free.Close()
	for _, up := range []string{addr, "localhost:" + port} {
		code, _, errOut := runCmd("proxy", "--listen", addr, "--upstream", up)
		if code != 2 || !strings.Contains(errOut, "own listening address") {
			t.Fatalf("--upstream %s: exit %d %q", up, code, errOut)
		}
	}
	if code, _, errOut := runCmd("proxy", "--upstream", "nocolon"); code != 2 {
		t.Fatalf("--upstream nocolon: exit %d %q", code, errOut)
	}
}

// The binary's proxy, our host behind it, a terminal in front: --trace and
// --pcap record both legs, and possim diagnose reads both files.
func TestProxyTraceAndPcapThroughBinary(t *testing.T) {
	h := faultHost(t)
	dir := t.TempDir()
	pc, tr := filepath.Join(dir, "p.pcap"), filepath.Join(dir, "p.jsonl")
	c := exec.Command(possimBinary(t), "proxy", "--listen", "127.0.0.1:0", "--upstream", h.Addr().String(), "--pcap", pc, "--trace", tr)
	stdout, _ := c.StdoutPipe()
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatal("proxy printed nothing")
	}
	m := regexp.MustCompile(`^possim proxy (\S+) → `).FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("first line %q", sc.Text())
	}
	lines := make(chan string, 100)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	code, out, errOut := runCmd("terminal", "--journal", "none", "--target", m[1], "purchase")
	if code != 0 {
		t.Fatalf("terminal through the proxy: exit %d\n%s\n%s", code, out, errOut)
	}
	// The transcript shows the answer before we stop the proxy, so the
	// trace holds it.
	deadline := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("proxy ended early")
			}
			seen = strings.Contains(l, "0210")
		case <-deadline:
			t.Fatal("no 0210 in the proxy's transcript")
		}
	}
	_ = c.Process.Signal(syscall.SIGINT)
	if err := c.Wait(); err != nil {
		t.Fatalf("proxy exit: %v", err)
	}
	raw, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"side":"proxy"`, `"event":"received"`, `"event":"sent"`, `"mti":"0200"`, `"mti":"0210"`} {
		if !strings.Contains(string(raw), want) {
			t.Fatalf("trace lacks %s:\n%s", want, raw)
		}
	}
	answered := regexp.MustCompile(`0210 STAN \d{6} TID POSSIM01 RC 00`)
	for _, args := range [][]string{{"diagnose", "--trace", tr}, {"diagnose", "--pcap", pc}} {
		code, out, errOut := runCmd(args...)
		if code != 0 || !answered.MatchString(out) {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
}
