package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

const cliKey = "0123456789ABCDEFFEDCBA9876543210"

func macRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	// The key given on the command line is never repeated.
	for _, s := range []string{out.String(), errOut.String()} {
		for _, k := range []string{cliKey, "2b7e151628aed2a6abf7158809cf4f3c",
			"88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6"} {
			for i := 0; i+8 <= len(k); i += 2 {
				if strings.Contains(strings.ToLower(s), strings.ToLower(k[i:i+8])) {
					t.Fatalf("%q: output contains key material %s:\n%s", args, k[i:i+8], s)
				}
			}
		}
	}
	return code, out.String(), errOut.String()
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("output lacks %q:\n%s", sub, s)
		}
	}
}

func TestMACComputeData(t *testing.T) {
	data := hex.EncodeToString([]byte("Now is the time for all "))
	code, out, _ := macRun(t, "mac", "compute", "--alg", "x9.19", "--key", cliKey, "--data", data)
	if code != 0 {
		t.Fatal(code, out)
	}
	// ANSI X9.19 example (the key of the dspread QPOS demo, KCV 08D7B4).
	mustContain(t, out, "algorithm   iso9797-1-alg3, padding method1", "key KCV     08D7B4", "data        24 bytes",
		"blocks      3 of 8 bytes", "4E6F772069732074", "68652074696D6520", "666F7220616C6C20", "MAC         A1C72E74EA3FA9B6")

	code, out, _ = macRun(t, "mac", "compute", "--key", cliKey, "--padding", "2", "--data", hex.EncodeToString([]byte("Now is the time for it")))
	if code != 0 {
		t.Fatal(out)
	}
	mustContain(t, out, "method2", "666F722069748000")

	// RFC 4493 example 2.
	code, out, _ = macRun(t, "mac", "compute", "--alg", "cmac", "--key", "2b7e151628aed2a6abf7158809cf4f3c", "--data", "6bc1bee22e409f96e93d7e117393172a")
	if code != 0 {
		t.Fatal(out)
	}
	mustContain(t, out, "aes-cmac", "MAC         070A16B46B4D4144F79BDD9DD04A287C", "leftmost 8 bytes: 070A16B46B4D4144")
}

// A purchase signed by the MAC codec, as it goes on the wire.
func signedPurchase(t *testing.T, d *iso.Dialect, extra map[int]string) (plain, signed []byte, macVal []byte) {
	t.Helper()
	build := func() *iso8583.Message {
		m := d.NewMessage()
		m.MTI("0200")
		f := map[int]string{2: "4761739001010010", 3: "000000", 4: "000000001000", 11: "000042", 41: "TERM0001", 49: "978"}
		for id, v := range extra {
			f[id] = v
		}
		for id, v := range f {
			if err := iso.Set(m, id, v); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	plain, err := build().Pack()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := mac.ParseHexKey(cliKey)
	m, _ := mac.New(mac.Alg3, key, mac.Pad1)
	c, err := mac.NewCodec(link.DialectCodec{D: d}, d, mac.StaticKeys(m), mac.CodecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg := build()
	signed, err = c.Encode(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	id := 64
	if extra != nil {
		id = 128
	}
	macVal, _ = msg.GetBytes(id)
	return plain, signed, macVal
}

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMACComputeMessage(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	bin, _ := iso.Lookup("iso87bin")
	for _, c := range []struct {
		d     *iso.Dialect
		extra map[int]string
		field string
	}{{ascii, nil, "64"}, {ascii, map[int]string{100: "12345"}, "128"}, {bin, nil, "64"}} {
		plain, _, want := signedPurchase(t, c.d, c.extra)
		code, out, errOut := macRun(t, "mac", "compute", "--key", cliKey, "--message", writeFile(t, plain), "--dialect", c.d.Name)
		if code != 0 {
			t.Fatal(errOut)
		}
		mustContain(t, out, fmt.Sprintf("MAC         %X", want), "up to field "+c.field, "field "+c.field+" on the wire",
			"0200 stan=000042 tid=TERM0001", "pan=476173******0010", "(** = a byte of a PAN")
		// The PAN is masked in the blocks too (in ASCII hex, or BCD).
		for _, pan := range []string{"34373631373339303031303130303130", "4761739001010010", "3930303130"} {
			if strings.Contains(out, pan) {
				t.Fatalf("%s: the PAN shows in the blocks:\n%s", c.d.Name, out)
			}
		}
	}
	// Hex file, and a framed one (length header first).
	plain, _, want := signedPurchase(t, ascii, nil)
	code, out, _ := macRun(t, "mac", "compute", "--key", cliKey, "--hex", "--message", writeFile(t, []byte(hex.EncodeToString(plain)+"\n")))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%X", want)) {
		t.Fatal(out)
	}
	framed, _ := ascii.Framing.AppendFrame(nil, nil, plain)
	code, out, _ = macRun(t, "mac", "compute", "--key", cliKey, "--framed", "--message", writeFile(t, framed))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%X", want)) {
		t.Fatal(out)
	}
}

func TestMACVerify(t *testing.T) {
	ascii, _ := iso.Lookup("iso87ascii")
	plain, signed, want := signedPurchase(t, ascii, nil)
	code, out, _ := macRun(t, "mac", "verify", "--key", cliKey, "--message", writeFile(t, signed))
	if code != 0 {
		t.Fatal(out)
	}
	mustContain(t, out, "MAC OK", fmt.Sprintf("field 64 = %X", want), "KCV 08D7B4")

	// One hex digit of the MAC changed: wrong, and what it should be.
	bad := append([]byte(nil), signed...)
	if bad[len(bad)-1] == '0' {
		bad[len(bad)-1] = '1'
	} else {
		bad[len(bad)-1] = '0'
	}
	code, out, _ = macRun(t, "mac", "verify", "--key", cliKey, "--message", writeFile(t, bad))
	if code != 1 {
		t.Fatal(code, out)
	}
	mustContain(t, out, "MAC WRONG", fmt.Sprintf("it should be %X", want), "bits differ")

	// A data byte changed.
	bad = append([]byte(nil), signed...)
	bad[len(bad)-20] ^= 1
	code, out, _ = macRun(t, "mac", "verify", "--key", cliKey, "--message", writeFile(t, bad))
	if code != 1 || !strings.Contains(out, "MAC WRONG") || !strings.Contains(out, "another key, or the message changed") {
		t.Fatal(code, out)
	}
	// Under another key.
	code, out, _ = macRun(t, "mac", "verify", "--key", "89ABCDEF01234567FEDCBA9876543210", "--message", writeFile(t, signed))
	if code != 1 || !strings.Contains(out, "MAC WRONG") {
		t.Fatal(code, out)
	}
	// No MAC at all.
	code, out, _ = macRun(t, "mac", "verify", "--key", cliKey, "--message", writeFile(t, plain))
	if code != 1 || !strings.Contains(out, "MAC MISSING no field 64") {
		t.Fatal(code, out)
	}
	// Data and MAC.
	data := hex.EncodeToString([]byte("Now is the time for all "))
	if code, out, _ := macRun(t, "mac", "verify", "--key", cliKey, "--data", data, "--mac", "A1C72E74EA3FA9B6"); code != 0 || !strings.Contains(out, "MAC OK") {
		t.Fatal(code, out)
	}
	if code, out, _ := macRun(t, "mac", "verify", "--key", cliKey, "--data", data, "--mac", "A1C72E74"); code != 0 {
		t.Fatal("leftmost 4 bytes: ", code, out)
	}
	code, out, _ = macRun(t, "mac", "verify", "--key", cliKey, "--data", data, "--mac", "A1C72E74EA3FA9B7")
	if code != 1 || !strings.Contains(out, "got A1C72E74EA3FA9B7, expected A1C72E74EA3FA9B6") {
		t.Fatal(code, out)
	}
}

func TestKeyKCV(t *testing.T) {
	code, out, _ := macRun(t, "key", "kcv", "--key", cliKey)
	if code != 0 || !strings.HasPrefix(out, "KCV 08D7B4 (double-length TDES key") {
		t.Fatal(code, out)
	}
	code, out, _ = macRun(t, "key", "kcv", "--key", "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6")
	if code != 0 || !strings.HasPrefix(out, "KCV 2331550BC9 (AES-256 key") {
		t.Fatal(code, out)
	}
	if code, out, _ := macRun(t, "key", "kcv", "--key", "2b7e151628aed2a6abf7158809cf4f3c", "--type", "aes"); code != 0 || !strings.Contains(out, "AES-128") {
		t.Fatal(code, out)
	}
	if code, out, _ := macRun(t, "key", "--help"); code != 0 || !strings.Contains(out, "possim key kcv") {
		t.Fatal(code, out)
	}
	if code, out, _ := macRun(t, "mac", "--help"); code != 0 || !strings.Contains(out, "compute") {
		t.Fatal(code, out)
	}
}

func TestMACUsageErrors(t *testing.T) {
	msg := writeFile(t, []byte("not a message"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"mac"}, "Usage: possim mac"},
		{[]string{"mac", "sign"}, "unknown subcommand"},
		{[]string{"mac", "compute", "--data", "00"}, "--key is required"},
		{[]string{"mac", "compute", "--key", cliKey}, "give --data HEX or --message FILE"},
		{[]string{"mac", "compute", "--key", cliKey, "--data", "00", "--message", msg}, "not both"},
		{[]string{"mac", "compute", "--key", cliKey + "0", "--data", "00"}, "odd number of hex digits"},
		{[]string{"mac", "compute", "--key", "0123456789ABCDEF", "--data", "00"}, "16-byte double-length key"},
		{[]string{"mac", "compute", "--key", cliKey, "--alg", "md5", "--data", "00"}, "unknown MAC algorithm"},
		{[]string{"mac", "compute", "--key", cliKey, "--padding", "3", "--data", "00"}, "unknown padding"},
		{[]string{"mac", "compute", "--key", cliKey, "--data", "0G"}, "--data is not hex"},
		{[]string{"mac", "compute", "--key", cliKey, "--message", msg}, "does not unpack"},
		{[]string{"mac", "compute", "--key", cliKey, "--message", "/nonexistent/msg"}, "--message"},
		{[]string{"mac", "compute", "--key", cliKey, "--message", msg, "--dialect", "spec87"}, "unknown dialect"},
		{[]string{"mac", "compute", "--key", cliKey, "--message", msg, "--framed"}, "length header says"},
		{[]string{"mac", "compute", "--key", cliKey, "--data", "00", "--field", "63"}, "--field 63"},
		{[]string{"mac", "compute", "--key", cliKey, "--data", "00", "extra"}, "unexpected argument"},
		{[]string{"mac", "compute", "--bogus"}, "unknown flag"},
		{[]string{"mac", "verify", "--key", cliKey, "--data", "00"}, "--data and --mac go together"},
		{[]string{"mac", "verify", "--key", cliKey, "--data", "00", "--mac", "0102"}, "--mac is 2 bytes"},
		{[]string{"mac", "verify", "--key", cliKey, "--message", msg}, "does not unpack"},
		{[]string{"key"}, "Usage: possim key"},
		{[]string{"key", "make"}, "unknown subcommand"},
		{[]string{"key", "kcv"}, "--key is required"},
		{[]string{"key", "kcv", "--key", "0123"}, "2 bytes"},
		{[]string{"key", "kcv", "--key", cliKey, "--type", "rsa"}, "want tdes or aes"},
		{[]string{"key", "kcv", "--key", cliKey[:30] + "ZZ"}, "invalid hex digit at position 31"},
	} {
		code, _, errOut := macRun(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

func TestSecurityFlags(t *testing.T) {
	parseFlags := func(forHost bool, args ...string) *securityFlags {
		fs := newFlags("x", "x", &bytes.Buffer{})
		var sf securityFlags
		sf.add(fs, forHost)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return &sf
	}
	t.Setenv("POSSIM_TMK", "")
	if s, err := parseFlags(true).hostSecurity(); s != nil || err != nil {
		t.Fatal("MACs on without a TMK", s, err)
	}
	if _, err := parseFlags(true, "--mac-alg", "x9.9").hostSecurity(); err == nil || !strings.Contains(err.Error(), "--mac-alg needs --tmk") {
		t.Fatal(err)
	}
	s, err := parseFlags(true, "--tmk", cliKey, "--mac-alg", "cmac", "--mac-rc", "N7", "--mac-network").hostSecurity()
	if err != nil || s.Alg != mac.CMAC || s.FailRC != "N7" || !s.MACNetwork || len(s.TMK) != 16 {
		t.Fatal(s, err)
	}
	if str := s.String(); !strings.Contains(str, "TMK KCV 08D7B4") || strings.Contains(str, "0123456789") {
		t.Fatal(str)
	}
	ts, err := parseFlags(false, "--tmk", cliKey, "--mac-padding", "2").terminalSecurity()
	if err != nil || ts.Pad != mac.Pad2 || ts.Alg != mac.Alg3 {
		t.Fatal(ts, err)
	}
	t.Setenv("POSSIM_TMK", cliKey)
	if ts, err := parseFlags(false).terminalSecurity(); err != nil || ts == nil {
		t.Fatal("POSSIM_TMK ignored", err)
	}
	for _, args := range [][]string{
		{"--tmk", "0123456789ABCDEF"},         // single length
		{"--tmk", cliKey[:31]},                // odd
		{"--tmk", cliKey, "--mac-alg", "md5"}, // unknown algorithm
		{"--tmk", cliKey, "--mac-padding", "9"},
		{"--tmk", cliKey, "--mac-rc", "063"},
	} {
		_, err := parseFlags(true, args...).hostSecurity()
		if err == nil {
			t.Errorf("%q accepted", args)
			continue
		}
		if strings.Contains(err.Error(), cliKey[:8]) {
			t.Errorf("%q: error shows the key: %v", args, err)
		}
	}
}
