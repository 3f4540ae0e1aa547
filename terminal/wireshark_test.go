package terminal_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/terminal"
)

// liveCapture starts tshark on lo for the host at addr, decoding ISO 8583
// live (-l flushes per packet), and returns one line per decoded message:
// field 41, then the given fields, then _ws.malformed. It warms up with echo
// tests from a throwaway terminal until tshark shows one, so the caller's
// traffic is all captured; it skips the test (saying why) when tshark is
// missing or cannot capture.
func liveCapture(t *testing.T, addr string, fields ...string) <-chan []string {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark): Wireshark check skipped")
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	args := []string{"-i", "lo", "-f", "tcp port " + port, "-l",
		"-d", "tcp.port==" + port + ",iso8583", "-o", "iso8583.len_endian:Big endian", "-Y", "iso8583",
		"-T", "fields", "-e", "iso8583.bit41"}
	for _, f := range append(fields, "_ws.malformed") {
		args = append(args, "-e", f)
	}
	capture := exec.Command(tshark, args...)
	stdout, _ := capture.StdoutPipe()
	if err := capture.Start(); err != nil {
		t.Skipf("cannot start tshark: %v", err)
	}
	t.Cleanup(func() { _ = capture.Process.Kill(); _ = capture.Wait() })
	lines := make(chan []string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			for len(f) < len(fields)+2 {
				f = append(f, "")
			}
			lines <- f
		}
		close(lines)
	}()
	warm := newTerm(t, addr, func(c *terminal.Config) { c.TID = "WARMUP01"; c.SignOnAtConnect = false })
	if err := warm.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	deadline := time.After(30 * time.Second)
	for {
		warm.Do(terminal.Tx{Kind: terminal.Echo})
		select {
		case f, ok := <-lines:
			if !ok {
				t.Skip("tshark could not capture on lo (no permission?)")
			}
			if strings.TrimSpace(f[0]) == "WARMUP01" {
				return lines
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Skip("tshark did not show any traffic within 30 s")
		}
	}
}

// Every message possim writes in iso87ascii with a 2-byte binary header must
// decode in Wireshark's ISO 8583 dissector with zero malformed fields. This
// captures real host↔terminal traffic on loopback with tshark and reads it
// back with the dissector. (.ci/run installs tshark; without it the test
// is skipped and says so.)
func TestWiresharkDecodesEveryMessage(t *testing.T) {
	h := startHost(t, slowRules)
	lines := liveCapture(t, h.Addr().String(), "iso8583.mti", "iso8583.bit11", "iso8583.bit39")

	term := newTerm(t, h.Addr().String(), func(c *terminal.Config) { c.Timeout = 300 * time.Millisecond })
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		tx   terminal.Tx
		want terminal.Class
	}{
		{terminal.Tx{Kind: terminal.Purchase, Amount: 1234}, terminal.Approved},
		{terminal.Tx{Kind: terminal.Purchase, Amount: 1234, Card: terminal.Card{PAN: "4000000000000002", Expiry: "2812"}}, terminal.Declined},
		{terminal.Tx{Kind: terminal.Echo}, terminal.Approved},
		{terminal.Tx{Kind: terminal.Purchase, Amount: 77777}, terminal.Reversed},
	}
	for _, s := range steps {
		if o := term.Do(s.tx); o.Class != s.want {
			t.Fatalf("%s: %s", s.tx.Kind, o)
		}
	}
	got := decoded(t, lines, "TERM0001", 12, func(f []string) string { return fmt.Sprintf("%s/%s/%s", f[1], f[2], f[3]) })
	want := []string{
		"0800/000001/", "0810/000001/00", // sign-on
		"0200/000002/", "0210/000002/00", // approved
		"0200/000003/", "0210/000003/51", // declined
		"0800/000004/", "0810/000004/00", // echo
		"0200/000005/", "0400/000006/", "0410/000006/00", "0210/000005/00", // timeout, reversal, late answer
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Wireshark decoded\n  %s\nwant\n  %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}

// decoded collects n messages of terminal tid from a liveCapture, each
// rendered by render, and fails on any field tshark calls malformed (the
// last column).
func decoded(t *testing.T, lines <-chan []string, tid string, n int, render func([]string) string) []string {
	t.Helper()
	var got []string
	timeout := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case f, ok := <-lines:
			if !ok {
				t.Fatalf("tshark stopped; decoded so far: %v", got)
			}
			if strings.TrimSpace(f[0]) != tid {
				continue
			}
			if f[len(f)-1] != "" {
				t.Errorf("malformed: %q", f)
			}
			got = append(got, render(f))
		case <-timeout:
			t.Fatalf("tshark decoded only %v", got)
		}
	}
	return got
}
