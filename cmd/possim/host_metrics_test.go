package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The host's --metrics endpoint, scraped while the host (the built binary)
// answers two purchases, one of them declined by a fault.
func TestHostMetricsScraped(t *testing.T) {
	cmd := exec.Command(possimBinary(t), "host", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
		"--fault", "rc:name=decline-once,mti=0210,rc=05,count=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	listen := regexp.MustCompile(`listening on (\S+)`)
	scrape := regexp.MustCompile(`metrics on (http://\S+)`)
	var addr, url string
	sc := bufio.NewScanner(out)
	for (addr == "" || url == "") && sc.Scan() {
		if m := listen.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
		if m := scrape.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	if addr == "" || url == "" {
		t.Fatalf("the host did not print its addresses (listen %q, metrics %q)", addr, url)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()

	if code, o, _ := runCmd("terminal", "--target", addr, "--journal", "none", "purchase"); code != 1 || !strings.Contains(o, "rc=05") {
		t.Fatalf("the first purchase should be declined by the fault: exit %d\n%s", code, o)
	}
	if code, o, _ := runCmd("terminal", "--target", addr, "--journal", "none", "purchase"); code != 0 {
		t.Fatalf("the second purchase should be approved: exit %d\n%s", code, o)
	}
	wants := []string{
		`possim_host_requests_total{mti="0200"} 2`,
		`possim_host_responses_total{mti="0210",rc="00"} 1`,
		`possim_host_responses_total{mti="0210",rc="05"} 1`,
		`possim_faults_fired_total{fault="decline-once"} 1`,
		`possim_host_links_closed_total`,
		`possim_host_links `,
		`possim_host_service_seconds_count`,
	}
	// The terminal's link closes after its answer; the host counts it when
	// it reads the end: scrape until all is there, bounded.
	var body string
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body, missing = string(b), nil
		for _, w := range wants {
			if !strings.Contains(body, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			break
		}
	}
	if len(missing) > 0 {
		t.Fatalf("metrics lack %q:\n%s", missing, body)
	}
	if !regexp.MustCompile(`possim_host_service_seconds_count [1-9]`).MatchString(body) {
		t.Fatalf("no service time observed:\n%s", body)
	}
}
