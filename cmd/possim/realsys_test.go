package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583/specs"
	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/internal/testkit/hostkit"
	"github.com/possim/possim/internal/tlsconf"
)

func startTLSHost(t *testing.T, d *iso.Dialect, o tlsconf.Options) *host.Host {
	t.Helper()
	stop := make(chan struct{})
	cfg, err := tlsconf.Server(o, stop)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(stop) }) // after the host has closed
	return hostkit.Start(t, host.Config{Dialect: d, TLS: cfg})
}

func testPKI(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	code, out, errOut := runCmd("tls", "init", dir)
	if code != 0 || !strings.Contains(out, "wrote "+filepath.Join(dir, "ca.pem")) {
		t.Fatalf("tls init: %d %s %s", code, out, errOut)
	}
	if code, _, _ := runCmd("tls", "init", dir); code != 2 {
		t.Fatal("tls init over an existing PKI must refuse")
	}
	return dir
}

// Terminal and host over TLS through the possim binary's code, mutual TLS
// included, and each host TLS fault named by the terminal.
func TestTerminalOverTLS(t *testing.T) {
	dir := testPKI(t)
	d, _ := iso.Lookup("iso87ascii")
	h := startTLSHost(t, d, tlsconf.Options{Dir: dir, ClientAuth: true})
	code, out, errOut := runCmd("terminal", "--target", h.Addr().String(), "--tls-dir", dir, "purchase")
	if code != 0 || !strings.Contains(out, "APPROVED") || !strings.Contains(out, "TLS ≥ TLS 1.2") {
		t.Fatalf("mutual TLS purchase: exit %d\n%s%s", code, out, errOut)
	}
	ca := filepath.Join(dir, "ca.pem")
	for fault, words := range map[string]string{
		"expired":     "the host's certificate expired on ",
		"untrusted":   `issued by "possim untrusted CA", which this terminal does not trust`,
		"wrong-name":  "the host's certificate is for wrong-host.invalid, not 127.0.0.1",
		"old-version": "this terminal requires TLS 1.2 or newer",
		"client-cert": "the host requires a client certificate (mutual TLS) and this terminal has none",
		"stall":       "did not answer the TLS ClientHello within 300ms",
	} {
		h := startTLSHost(t, d, tlsconf.Options{Dir: dir, Fault: fault})
		code, out, _ := runCmd("terminal", "--target", h.Addr().String(), "--tls-ca", ca, "--connect-timeout", "300ms", "--connect-attempts", "1", "purchase")
		if code != 1 || !strings.Contains(out, words) {
			t.Errorf("%s: exit %d, want the words %q in\n%s", fault, code, words, out)
		}
	}
	// TLS terminal against a plain host, and TLS flags that do not add up.
	plain := hostkit.Start(t, host.Config{Dialect: d})
	if code, _, errOut := runCmd("terminal", "--target", plain.Addr().String(), "--tls-cert", ca, "purchase"); code != 2 || !strings.Contains(errOut, "--tls-key") {
		t.Fatalf("cert without key: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd("host", "--tls-fault", "nosuch", "--tls-dir", dir, "--listen", "127.0.0.1:0"); code != 2 || !strings.Contains(errOut, "valid are") {
		t.Fatalf("bad fault: %d %s", code, errOut)
	}
}

// An independent TLS client, openssl s_client, does an ISO 8583 exchange
// with the TLS host: a framed 0800 sign-on in, the 0810 back.
func TestOpenSSLClientExchangesWithTLSHost(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (apt-get install -y openssl): the s_client exchange is skipped")
	}
	dir := testPKI(t)
	d, _ := iso.Lookup("iso87ascii")
	h := startTLSHost(t, d, tlsconf.Options{Dir: dir})
	m := d.NewMessage()
	m.MTI("0800")
	for id, v := range map[int]string{7: "1202101500", 11: "000042", 41: "OPENSSL1", 70: "001"} {
		_ = iso.Set(m, id, v)
	}
	body, _ := m.Pack()
	frame, _ := d.Framing.AppendFrame(nil, nil, body)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "s_client", "-connect", h.Addr().String(), "-CAfile", filepath.Join(dir, "ca.pem"),
		"-verify_return_error", "-quiet", "-ign_eof")
	cmd.Stdin = bytes.NewReader(frame)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	var hdr [2]byte
	if _, err := io.ReadFull(stdout, hdr[:]); err != nil {
		t.Fatalf("no answer through s_client: %v\n%s", err, stderr.String())
	}
	resp := make([]byte, int(hdr[0])<<8|int(hdr[1]))
	if _, err := io.ReadFull(stdout, resp); err != nil {
		t.Fatal(err)
	}
	got, err := d.Unpack(resp)
	if err != nil {
		t.Fatal(err)
	}
	if mti, _ := got.GetMTI(); mti != "0810" || iso.Get(got, 39) != "00" || iso.Get(got, 11) != "000042" {
		t.Fatalf("%s", iso.Summary(got))
	}
}

// A user's spec and a dialect file through the binary's flags; a spec
// exported by possim dialects export reads back through moov byte for byte.
func TestDialectsCommand(t *testing.T) {
	code, out, _ := runCmd("dialects", "list")
	if code != 0 || !strings.Contains(out, "iso93ascii") || !strings.Contains(out, "iso87bin") {
		t.Fatalf("%d %s", code, out)
	}
	code, out, _ = runCmd("dialects", "show", "iso93ascii")
	if code != 0 || !strings.Contains(out, "financial request 1200") || !strings.Contains(out, "Action Code") {
		t.Fatalf("%d %s", code, out)
	}
	for _, name := range iso.Names() {
		code, out, _ = runCmd("dialects", "export", name)
		spec, err := specs.ImportJSON([]byte(out))
		if code != 0 || err != nil {
			t.Fatalf("%s: %d %v", name, code, err)
		}
		again, _ := specs.ExportJSON(spec)
		if string(again) != out {
			t.Fatalf("%s: the export does not round-trip byte for byte", name)
		}
	}
	if code, _, errOut := runCmd("dialects", "show", "nosuch"); code != 2 || !strings.Contains(errOut, "neither a built-in dialect") {
		t.Fatalf("%d %s", code, errOut)
	}
	if code, out, _ := runCmd("dialects", "--help"); code != 0 || !strings.Contains(out, "Examples:") {
		t.Fatal(code, out)
	}
	// a non-standard spec is accepted with the warning on stderr
	d, _ := iso.Lookup("iso87ascii")
	b, _ := iso.ExportSpec(d)
	bad := strings.Replace(string(b), "\"length\": 8,\n\t\t\t\"description\": \"Bitmap\"", "\"length\": 16,\n\t\t\t\"description\": \"Bitmap\"", 1)
	p := filepath.Join(t.TempDir(), "single.json")
	_ = os.WriteFile(p, []byte(bad), 0o600)
	code, _, errOut := runCmd("dialects", "show", p)
	if code != 0 || !strings.Contains(errOut, "warning: ") || !strings.Contains(errOut, "Wireshark reads the first 64 bits") {
		t.Fatalf("%d %s", code, errOut)
	}
}

func TestTerminalWithUserDialectFile(t *testing.T) {
	d, ws, err := iso.LoadDialectFile("../../internal/iso/testdata/acme.yaml")
	if err != nil || len(ws) > 0 {
		t.Fatal(err, ws)
	}
	h := hostkit.Start(t, host.Config{Dialect: d})
	code, out, errOut := runCmd("terminal", "--target", h.Addr().String(), "--dialect-file", "../../internal/iso/testdata/acme.yaml", "purchase")
	if code != 0 || !strings.Contains(out, "APPROVED") || !strings.Contains(out, "ascii4") {
		t.Fatalf("%d\n%s%s", code, out, errOut)
	}
	// the built-in framing (binary2) cannot talk to the ACME host (ascii4)
	code, out, _ = runCmd("terminal", "--target", h.Addr().String(), "--timeout", "300ms", "--connect-attempts", "1", "--no-signon", "echo")
	if code == 0 {
		t.Fatalf("a binary2 terminal was answered by an ascii4 host:\n%s", out)
	}
	if code, _, errOut := runCmd("terminal", "--spec", "x.json", "--dialect-file", "y.yaml", "echo"); code != 2 || !strings.Contains(errOut, "give one") {
		t.Fatal(code, errOut)
	}
}

// simulate --connection per-tx: a new connection per transaction, each
// counted, every transaction approved; the host sees them come and go.
func TestSimulatePerTx(t *testing.T) {
	code, out, errOut := runCmd("simulate", "--connection", "per-tx", "--tps", "300", "--duration", "1s", "--terminals", "20", "-q")
	if code != 0 || !strings.Contains(out, "per-tx: 300 new connections") || !strings.Contains(out, "approved                  300") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd("simulate", "--connection", "sometimes", "--tps", "1", "--duration", "1s"); code != 2 || !strings.Contains(errOut, "want shared or per-tx") {
		t.Fatal(code, errOut)
	}
}

// The terminal command with test cards through the binary's flags: a PIN
// transaction needs the TMK, a wrong PIN is declined 55, and a 1993 host
// and terminal agree; nothing secret is printed.
func TestTerminalCardsAndISO93(t *testing.T) {
	tmkHex := "0123456789ABCDEFFEDCBA9876543210"
	for _, name := range []string{"iso87ascii", "iso93ascii"} {
		d, _ := iso.Lookup(name)
		tmk, _ := mac.ParseHexKey(tmkHex)
		h := hostkit.Start(t, host.Config{Dialect: d, Security: &host.Security{TMK: tmk}})
		addr := h.Addr().String()
		base := []string{"terminal", "--journal", "none", "--target", addr, "--dialect", name, "--tmk", tmkHex}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--card", "pin", "purchase", "-v"}, "APPROVED"},
			{[]string{"--card", "pin", "--pin", "9999", "purchase"}, "rc=55"},
			{[]string{"--card", "swipe", "purchase", "-v"}, "APPROVED"},
			{[]string{"--card", "fallback", "purchase"}, "APPROVED"},
			{[]string{"--card", "chip", "--field", "48=LOYALTY", "balance"}, "APPROVED"},
		} {
			code, out, errOut := runCmd(append(append([]string{}, base...), tc.args...)...)
			if (code != 0 && tc.want == "APPROVED") || !strings.Contains(out, tc.want) {
				t.Errorf("%s %v: exit %d\n%s%s", name, tc.args, code, out, errOut)
			}
			for _, secret := range []string{"4000000000000507", "4000000000000200", "=2812", "1234F"} {
				if strings.Contains(out, secret) {
					t.Errorf("%s %v printed %q", name, tc.args, secret)
				}
			}
		}
		h.Close()
	}
	if code, _, errOut := runCmd("terminal", "--journal", "none", "--card", "pin", "purchase"); code != 2 || !strings.Contains(errOut, "--tmk") {
		t.Fatalf("PIN without keys: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd("terminal", "--journal", "none", "--field", "11=1", "purchase"); code != 2 || !strings.Contains(errOut, "--field") {
		t.Fatalf("bad --field: %d %s", code, errOut)
	}
}

// terminal send --message: a message written as YAML fields or as hex.
func TestTerminalSendMessage(t *testing.T) {
	d, _ := iso.Lookup("iso87ascii")
	h := hostkit.Start(t, host.Config{Dialect: d})
	dir := t.TempDir()
	y := filepath.Join(dir, "sale.yaml")
	_ = os.WriteFile(y, []byte("mti: \"0200\"\nfields: {2: \"4000000000000002\", 3: \"000000\", 4: \"1000\", 7: \"1202101500\", 11: \"000001\", 41: \"POSSIM01\", 42: \"M1\", 49: \"978\"}\n"), 0o600)
	code, out, errOut := runCmd("terminal", "send", "--message", y, "--target", h.Addr().String())
	if code != 0 || !strings.Contains(out, "answer: 0210") || !strings.Contains(out, "rc=51") || strings.Contains(out, "4000000000000002") {
		t.Fatalf("yaml: %d\n%s%s", code, out, errOut)
	}
	m := d.NewMessage()
	m.MTI("0800")
	for id, v := range map[int]string{7: "1202101500", 11: "000002", 41: "POSSIM01", 70: "301"} {
		_ = iso.Set(m, id, v)
	}
	b, _ := m.Pack()
	x := filepath.Join(dir, "echo.hex")
	_ = os.WriteFile(x, []byte(strings.ToUpper(fmt.Sprintf("%x", b))+"\n"), 0o600)
	code, out, _ = runCmd("terminal", "send", "--message", x, "--target", h.Addr().String())
	if code != 0 || !strings.Contains(out, "answer: 0810") || !strings.Contains(out, "rc=00") {
		t.Fatalf("hex: %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("mti: \"0200\"\nfields: {999: \"x\"}\n"), 0o600)
	if code, _, errOut := runCmd("terminal", "send", "--message", bad); code != 2 || !strings.Contains(errOut, "bad.yaml:2") {
		t.Fatalf("bad: %d %s", code, errOut)
	}
	// The MTI and the field numbers are judged by internal/iso: 4 digits,
	// numbers 2..128.
	for body, want := range map[string]string{
		"mti: \"02A0\"\nfields: {3: \"000000\"}\n":  `bad.yaml:1: mti: want 4 digits, quoted ("0200")`,
		"mti: \"0200\"\nfields: {x3: \"000000\"}\n": `bad.yaml:2: fields: "x3" is not a field number 2-128`,
		"mti: \"0200\"\nfields: {1: \"000000\"}\n":  `bad.yaml:2: fields: "1" is not a field number 2-128`,
	} {
		_ = os.WriteFile(bad, []byte(body), 0o600)
		if code, _, errOut := runCmd("terminal", "send", "--message", bad); code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%q: %d %s", body, code, errOut)
		}
	}
}

// A host requiring client certificates from its own CA, and a terminal
// whose certificate comes from another test PKI: with TLS 1.3 the refusal
// comes after the handshake, at the first read; the terminal still names
// tls.client_cert_rejected with its fix.
func TestTerminalNamesRejectedClientCert(t *testing.T) {
	hostPKI, termPKI := testPKI(t), testPKI(t)
	d, _ := iso.Lookup("iso87ascii")
	h := startTLSHost(t, d, tlsconf.Options{Dir: hostPKI, ClientAuth: true})
	code, out, errOut := runCmd("terminal", "--target", h.Addr().String(), "--journal", "none",
		"--tls-cert", filepath.Join(termPKI, tlsconf.TerminalFile), "--tls-key", filepath.Join(termPKI, tlsconf.TerminalKeyFile),
		"--tls-ca", filepath.Join(hostPKI, tlsconf.CAFile), "--connect-attempts", "1", "--timeout", "2s", "purchase")
	if code != 1 || !strings.Contains(out, "tls.client_cert_rejected") || !strings.Contains(out, "fix:") {
		t.Fatalf("exit %d, want tls.client_cert_rejected with its fix in\n%s%s", code, out, errOut)
	}
}
