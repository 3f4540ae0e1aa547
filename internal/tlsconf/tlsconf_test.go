package tlsconf

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/testkit"
)

func pki(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := InitDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// serve runs a TLS echo server with cfg on 127.0.0.1 and returns its address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testkit.AcceptAll(t, Listen(raw, cfg), func(c net.Conn) { _, _ = io.Copy(c, c) })
	return raw.Addr().String()
}

func TestMutualTLSWithTheTestPKI(t *testing.T) {
	dir := pki(t)
	srv, err := Server(Options{Dir: dir, ClientAuth: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	cli, err := Client(Options{Dir: dir}, addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(context.Background(), addr, cli, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("%q %v", line, err)
	}
	if d := Describe(srv); !strings.Contains(d, "client certificates required") || strings.Contains(d, "PRIVATE") {
		t.Fatal(d)
	}
}

// Each host TLS fault is named by the terminal's handshake.
func TestEveryTLSFaultIsNamed(t *testing.T) {
	dir := pki(t)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	for _, tc := range []struct {
		fault  string
		cause  diagnose.ID
		detail string
	}{
		{"expired", diagnose.TLSCertExpired, "the host's certificate expired on " + time.Date(time.Now().UTC().Year(), time.Now().UTC().Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0).Format("2006-01-02")},
		{"untrusted", diagnose.TLSUnknownCA, `issued by "possim untrusted CA"`},
		{"wrong-name", diagnose.TLSNameMismatch, "is for wrong-host.invalid, not 127.0.0.1"},
		{"old-version", diagnose.TLSOldVersion, "requires TLS 1.2 or newer"},
		{"client-cert", diagnose.TLSClientCertRequired, "requires a client certificate"},
		{"stall", diagnose.TLSHandshakeStalled, "did not answer the TLS ClientHello within 300ms"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			srv, err := Server(Options{Dir: dir, Fault: tc.fault}, stop)
			if err != nil {
				t.Fatal(err)
			}
			addr := serve(t, srv)
			// no client certificate: the terminal of a plain TLS link
			cli, err := Client(Options{CA: filepath.Join(dir, CAFile)}, addr)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Dial(context.Background(), addr, cli, 300*time.Millisecond)
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("want a HandshakeError, got %v", err)
			}
			if he.Finding.Cause != tc.cause || !strings.Contains(he.Error(), tc.detail) {
				t.Fatalf("%s: got %s %q", tc.fault, he.Finding.Cause, he.Error())
			}
			if _, ok := diagnose.Lookup(he.Finding.Cause); !ok {
				t.Fatal("cause not in the catalogue")
			}
		})
	}
}

func TestPlainHostIsNotTLS(t *testing.T) {
	raw, _ := net.Listen("tcp", "127.0.0.1:0")
	defer raw.Close()
	go func() {
		c, err := raw.Accept()
		if err == nil {
			_, _ = c.Write([]byte{0, 4, '0', '8', '1', '0'}) // an ISO 8583 frame, not TLS
			time.Sleep(100 * time.Millisecond)
			c.Close()
		}
	}()
	cli, _ := Client(Options{Enabled: true}, raw.Addr().String())
	_, err := Dial(context.Background(), raw.Addr().String(), cli, 2*time.Second)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Finding.Cause != diagnose.TLSNotTLS {
		t.Fatalf("%v", err)
	}
}

func TestOptionErrors(t *testing.T) {
	dir := pki(t)
	for _, o := range []Options{
		{Enabled: true},               // no certificate
		{Dir: dir, Fault: "bogus"},    // unknown fault
		{Dir: dir, MinVersion: "1.4"}, // bad version
		{Cert: filepath.Join(dir, HostFile), Key: filepath.Join(dir, HostFile)},                      // not a key
		{Cert: filepath.Join(dir, HostFile), Key: filepath.Join(dir, HostKeyFile), Fault: "expired"}, // no CA key
	} {
		if _, err := Server(o, nil); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := InitDir(dir); err == nil || !strings.Contains(err.Error(), "not overwriting") {
		t.Fatal(err)
	}
}

func openssl(t *testing.T) string {
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (apt-get install -y openssl): the independent-peer TLS test is skipped")
	}
	return p
}

// An independent TLS server (openssl s_server) with the test PKI: the
// terminal's handshake verifies it and presents its client certificate.
func TestAgainstOpenSSLServer(t *testing.T) {
	bin := openssl(t)
	dir := pki(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "s_server", "-accept", "127.0.0.1:"+itoa(port), "-cert", filepath.Join(dir, HostFile),
		"-key", filepath.Join(dir, HostKeyFile), "-CAfile", filepath.Join(dir, CAFile), "-Verify", "1", "-rev", "-quiet")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	addr := "127.0.0.1:" + itoa(port)
	cli, err := Client(Options{Dir: dir}, addr)
	if err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	for i := 0; ; i++ { // s_server needs a moment to listen: wait for the port, bounded
		c, err = Dial(ctx, addr, cli, 2*time.Second)
		if err == nil || i == 100 || errors.As(err, new(*HandshakeError)) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("possim\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "missop" { // -rev answers each line reversed
		t.Fatalf("%q %v", line, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
