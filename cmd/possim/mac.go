package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/terminal"
	"github.com/spf13/pflag"
)

// possim mac compute|verify and possim key kcv: MAC and key utilities for a
// person debugging an integration. They print MACs, padded blocks and
// check values — never a key, not even the one given on the command line.

func init() {
	register("mac", "compute or verify a MAC (X9.9, X9.19, CMAC) of hex data or a captured message", runMAC)
	register("key", "key utilities: possim key kcv prints a key's check value", runKey)
}

const macUsage = `Usage: possim mac <compute|verify> [flags]

  compute   print the MAC of --data HEX or of a message (--message FILE),
            the padded blocks that went into it, and the key's check value
  verify    say whether a captured message's MAC (or --mac of --data) is
            right and, if not, what it should have been

Run 'possim mac compute --help' for the flags.

Examples:
  possim mac compute --alg x9.19 --key "$MAC_KEY" --data 4E6F772069732074
  possim mac verify --alg x9.19 --key "$MAC_KEY" --message captured.hex --dialect iso87ascii
`

func runMAC(args []string, stdout, stderr io.Writer) int {
	if code, done := groupHelp(args, macUsage, stdout, stderr); done {
		return code
	}
	switch args[0] {
	case "compute":
		return runMACCompute(args[1:], stdout, stderr)
	case "verify":
		return runMACVerify(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "possim mac: unknown subcommand %q (want compute or verify)\n\n%s", args[0], macUsage)
	return 2
}

// macInput are the flags compute and verify share.
type macInput struct {
	alg, pad, key   string
	data, message   string
	dialect         string
	hexFile, framed bool
	field           int
}

func (in *macInput) add(fs *pflag.FlagSet) {
	fs.StringVar(&in.alg, "alg", "x9.19", "MAC algorithm: x9.19 (retail, ISO 9797-1 alg 3), x9.9 (alg 1), cmac (AES)")
	fs.StringVar(&in.pad, "padding", "1", "padding method for the DES algorithms: 1 (zeros) or 2 (0x80)")
	fs.StringVar(&in.key, "key", "", "the MAC key in hex (required; never printed, only its check value)")
	fs.StringVar(&in.data, "data", "", "the data to MAC, in hex")
	fs.StringVar(&in.message, "message", "", "a file holding an ISO 8583 message (MTI onwards, raw bytes; see --hex and --framed)")
	fs.StringVar(&in.dialect, "dialect", "iso87ascii", "dialect of --message: "+strings.Join(iso.Names(), ", "))
	fs.BoolVar(&in.hexFile, "hex", false, "the --message file holds the bytes in hex (whitespace ignored)")
	fs.BoolVar(&in.framed, "framed", false, "the --message file starts with the dialect's length header and TPDU/header")
	fs.IntVar(&in.field, "field", 0, "MAC field: 64 or 128 (default: 64, or 128 when the message has a secondary bitmap)")
}

// macer checks the algorithm, padding and key.
func (in *macInput) macer() (*mac.MACer, error) {
	alg, err := mac.ParseAlgorithm(in.alg)
	if err != nil {
		return nil, fmt.Errorf("--alg: %w", err)
	}
	pad, err := mac.ParsePadding(in.pad)
	if err != nil {
		return nil, fmt.Errorf("--padding: %w", err)
	}
	if in.key == "" {
		return nil, errors.New("--key is required (the MAC key in hex)")
	}
	key, err := mac.ParseHexKey(in.key)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	defer clear(key)
	m, err := mac.New(alg, key, pad)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	return m, nil
}

// source checks that exactly one of --data and --message is given.
func (in *macInput) source() error {
	switch {
	case in.data == "" && in.message == "":
		return errors.New("give --data HEX or --message FILE")
	case in.data != "" && in.message != "":
		return errors.New("give --data or --message, not both")
	}
	if in.field != 0 && in.field != 64 && in.field != 128 {
		return fmt.Errorf("--field %d: want 64 or 128", in.field)
	}
	return nil
}

func decodeHexArg(name, s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not hex: %v", name, err)
	}
	return b, nil
}

// readMessage reads the --message file: the ISO message bytes (MTI
// onwards) and the dialect.
func (in *macInput) readMessage() ([]byte, *iso.Dialect, error) {
	d, err := iso.Lookup(in.dialect)
	if err != nil {
		return nil, nil, fmt.Errorf("--dialect: %w", err)
	}
	b, err := os.ReadFile(in.message)
	if err != nil {
		return nil, nil, fmt.Errorf("--message: %w", err)
	}
	if in.hexFile {
		if b, err = decodeHexArg("--message file", string(b)); err != nil {
			return nil, nil, err
		}
	}
	if in.framed {
		fr := d.Framing
		hs := fr.Length.Size()
		if len(b) < hs {
			return nil, nil, fmt.Errorf("--message: %d bytes, shorter than the %s length header", len(b), fr.Length)
		}
		n, err := fr.Length.Get(b[:hs])
		if err != nil {
			return nil, nil, fmt.Errorf("--message: %w", err)
		}
		if want := fr.PayloadLen(n); want != len(b)-hs {
			return nil, nil, fmt.Errorf("--message: the length header says %d bytes follow, the file has %d", want, len(b)-hs)
		}
		_, msg, err := fr.Split(b[hs:])
		if err != nil {
			return nil, nil, fmt.Errorf("--message: %w", err)
		}
		b = msg
	}
	if len(b) == 0 {
		return nil, nil, errors.New("--message: the file is empty")
	}
	return b, d, nil
}

func macHeader(w io.Writer, m *mac.MACer) {
	p := ", padding " + m.Padding().String()
	if m.Algorithm() == mac.CMAC {
		p = ""
	}
	fmt.Fprintf(w, "algorithm   %s%s\n", m.Algorithm(), p)
	fmt.Fprintf(w, "key KCV     %s\n", m.KCV())
}

func runMACCompute(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("mac compute", "mac compute --key HEX (--data HEX | --message FILE [--dialect D]) [flags]", stderr)
	var in macInput
	in.add(fs)
	if code, done := parseNoArgs(fs, args, stderr); done {
		return code
	}
	if err := in.source(); err != nil {
		return usageErr(stderr, "mac compute", "%v", err)
	}
	m, err := in.macer()
	if err != nil {
		return usageErr(stderr, "mac compute", "%v", err)
	}
	var data []byte
	var masked []bool
	var wire func([]byte) string
	var intro []string
	if in.data != "" {
		if data, err = decodeHexArg("--data", in.data); err != nil {
			return usageErr(stderr, "mac compute", "%v", err)
		}
		intro = append(intro, fmt.Sprintf("data        %d bytes", len(data)))
	} else {
		raw, d, err := in.readMessage()
		if err != nil {
			return usageErr(stderr, "mac compute", "%v", err)
		}
		msg, err := d.Unpack(raw)
		if err != nil {
			return usageErr(stderr, "mac compute", "--message does not unpack as %s: %v", d.Name, err)
		}
		id := macFieldFor(msg, in.field)
		msg.UnsetField(192 - id)
		if err := msg.BinaryField(id, make([]byte, 8)); err != nil {
			return usageErr(stderr, "mac compute", "%v", err)
		}
		packed, err := msg.Pack()
		if err != nil {
			return usageErr(stderr, "mac compute", "--message cannot be packed with a MAC in field %d: %v", id, err)
		}
		span, _, err := mac.Span(d, packed)
		if err != nil {
			return usageErr(stderr, "mac compute", "%v", err)
		}
		data = span
		masked = sensitiveBytes(msg, len(span))
		intro = append(intro,
			"message     "+iso.Summary(msg),
			fmt.Sprintf("MACed       %d bytes: the packed %s message from the MTI up to field %d", len(span), d.Name, id))
		wire = func(sum []byte) string {
			if d.MACWireLen == 16 {
				return fmt.Sprintf("field %d on the wire: %X (16 hex characters)", id, sum[:8])
			}
			return fmt.Sprintf("field %d on the wire: 8 bytes %X", id, sum[:8])
		}
	}
	blocks, err := mac.Blocks(m.Algorithm(), m.Padding(), data)
	if err != nil {
		return usageErr(stderr, "mac compute", "%v", err)
	}
	sum := m.Sum(nil, data)
	macHeader(stdout, m)
	for _, s := range intro {
		fmt.Fprintln(stdout, s)
	}
	fmt.Fprintf(stdout, "blocks      %d of %d bytes, padded (%s)\n", len(blocks), m.Algorithm().BlockSize(), padNote(m))
	anyMasked := false
	for i, b := range blocks {
		var s strings.Builder
		for j, c := range b {
			if off := i*len(b) + j; off < len(masked) && masked[off] {
				s.WriteString("**")
				anyMasked = true
				continue
			}
			fmt.Fprintf(&s, "%02X", c)
		}
		fmt.Fprintf(stdout, "  %4d      %s\n", i+1, s.String())
	}
	if anyMasked {
		fmt.Fprintln(stdout, "            (** = a byte of a PAN, track, PIN, ICC or key field: not shown)")
	}
	fmt.Fprintf(stdout, "MAC         %X\n", sum)
	if m.Algorithm() == mac.CMAC {
		fmt.Fprintf(stdout, "            an ISO 8583 MAC field carries the leftmost 8 bytes: %X\n", sum[:8])
	}
	if wire != nil {
		fmt.Fprintln(stdout, "            "+wire(sum))
	}
	return 0
}

func padNote(m *mac.MACer) string {
	if m.Algorithm() == mac.CMAC {
		return "RFC 4493: 0x80 and zeros on an incomplete last block; the subkey XOR is not shown"
	}
	if m.Padding() == mac.Pad2 {
		return "ISO 9797-1 method 2: 0x80 then zeros"
	}
	return "ISO 9797-1 method 1: zeros"
}

// macFieldFor is the MAC field of msg: forced, or 64 / 128 by its bitmap.
func macFieldFor(msg *iso8583.Message, forced int) int {
	if forced != 0 {
		return forced
	}
	for id := 65; id < 128; id++ {
		if msg.GetField(id) != nil {
			return 128
		}
	}
	return 64
}

// sensitiveBytes marks the bytes of msg's packed form (as msg.Pack just
// produced it) that belong to a sensitive field (iso.Sensitive: PANs,
// track data, PIN blocks and keys are never printed). If the fields cannot be
// mapped to bytes, everything after the MTI and bitmap is masked.
func sensitiveBytes(msg *iso8583.Message, n int) []bool {
	out := make([]bool, n)
	fields := msg.GetFields()
	off := 0
	for _, id := range slices.Sorted(maps.Keys(fields)) {
		b, err := fields[id].Pack()
		if err != nil {
			for i := off; i < n; i++ {
				out[i] = true
			}
			return out
		}
		if iso.Sensitive(id) {
			for i := off; i < off+len(b) && i < n; i++ {
				out[i] = true
			}
		}
		off += len(b)
	}
	return out
}

func runMACVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("mac verify", "mac verify --key HEX (--message FILE [--dialect D] | --data HEX --mac HEX) [flags]", stderr)
	var in macInput
	in.add(fs)
	macHex := fs.String("mac", "", "with --data: the MAC to check, in hex (4 to 8 bytes are compared leftmost)")
	if code, done := parseNoArgs(fs, args, stderr); done {
		return code
	}
	if err := in.source(); err != nil {
		return usageErr(stderr, "mac verify", "%v", err)
	}
	if (in.data != "") != (*macHex != "") {
		return usageErr(stderr, "mac verify", "--data and --mac go together (a --message carries its MAC)")
	}
	m, err := in.macer()
	if err != nil {
		return usageErr(stderr, "mac verify", "%v", err)
	}
	if in.data != "" {
		data, err := decodeHexArg("--data", in.data)
		if err != nil {
			return usageErr(stderr, "mac verify", "%v", err)
		}
		got, err := decodeHexArg("--mac", *macHex)
		if err != nil {
			return usageErr(stderr, "mac verify", "%v", err)
		}
		if len(got) < mac.MinVerifyLen || len(got) > m.Size() {
			return usageErr(stderr, "mac verify", "--mac is %d bytes: want %d to %d", len(got), mac.MinVerifyLen, m.Size())
		}
		macHeader(stdout, m)
		want := m.Sum(nil, data)[:len(got)]
		if m.Verify(data, got) {
			fmt.Fprintf(stdout, "MAC OK      %X\n", got)
			return 0
		}
		fmt.Fprintf(stdout, "MAC WRONG   got %X, expected %X\n", got, want)
		return 1
	}
	raw, d, err := in.readMessage()
	if err != nil {
		return usageErr(stderr, "mac verify", "%v", err)
	}
	c, err := mac.NewCodec(link.DialectCodec{D: d}, d, mac.StaticKeys(m), mac.CodecOptions{Field: in.field, Classes: "0123456789"})
	if err != nil {
		return usageErr(stderr, "mac verify", "%v", err)
	}
	msg, err := c.Decode(raw)
	ve, isMAC := mac.AsVerifyError(err)
	if err != nil && !isMAC {
		return usageErr(stderr, "mac verify", "--message does not unpack as %s: %v", d.Name, err)
	}
	macHeader(stdout, m)
	fmt.Fprintln(stdout, "message     "+iso.Summary(msg))
	if err == nil {
		id := macFieldFor(msg, in.field)
		got, _ := msg.GetBytes(id)
		fmt.Fprintf(stdout, "MAC OK      field %d = %X verifies under the key with KCV %s\n", id, got, m.KCV())
		return 0
	}
	switch ve.Kind {
	case mac.Missing:
		fmt.Fprintf(stdout, "MAC MISSING %s\n", ve.Detail)
		return 1
	case mac.Misplaced:
		fmt.Fprintf(stdout, "MAC MISPLACED %s\n", ve.Detail)
		return 1
	}
	want, err := mac.Expected(m, d, raw)
	if err != nil {
		return usageErr(stderr, "mac verify", "%v", err)
	}
	got, _ := msg.GetBytes(ve.Field)
	fmt.Fprintf(stdout, "MAC WRONG   field %d carries %X; under the key with KCV %s it should be %X\n", ve.Field, got, m.KCV(), want)
	if ve.Kind == mac.Corrupted {
		fmt.Fprintf(stdout, "            %d bits differ: the MAC was damaged on the way, or the key is right and the data changed after signing\n", ve.Bits)
	} else {
		fmt.Fprintln(stdout, "            made with another key, or the message changed after it was signed")
	}
	return 1
}

func runKey(args []string, stdout, stderr io.Writer) int {
	const usage = "Usage: possim key kcv --key HEX [--type tdes|aes]\n\n  kcv   print the key's check value (never the key)\n\n" +
		"Examples:\n  possim key kcv --key \"$TMK\"                 # compare with the host's KCV\n  possim key kcv --type aes --key \"$AES_KEY\"\n"
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "kcv":
	default:
		fmt.Fprintf(stderr, "possim key: unknown subcommand %q (want kcv)\n\n%s", args[0], usage)
		return 2
	}
	fs := newFlags("key kcv", "key kcv --key HEX [--type tdes|aes]", stderr)
	keyHex := fs.String("key", "", "the key in hex (required; never printed)")
	typ := fs.String("type", "", "tdes (DES/TDES: 8, 16 or 24 bytes) or aes (16, 24 or 32 bytes); default tdes, aes for a 32-byte key")
	if code, done := parseNoArgs(fs, args[1:], stderr); done {
		return code
	}
	if *keyHex == "" {
		return usageErr(stderr, "key kcv", "--key is required")
	}
	key, err := mac.ParseHexKey(*keyHex)
	if err != nil {
		return usageErr(stderr, "key kcv", "--key: %v", err)
	}
	defer clear(key)
	t := strings.ToLower(*typ)
	if t == "" {
		t = "tdes"
		if len(key) == 32 {
			t = "aes"
		}
	}
	switch t {
	case "tdes", "des":
		kcv, err := mac.KCV(key)
		if err != nil {
			return usageErr(stderr, "key kcv", "--key: %v", err)
		}
		what := map[int]string{8: "single-length DES key", 16: "double-length TDES key", 24: "triple-length TDES key"}[len(key)]
		fmt.Fprintf(stdout, "KCV %s (%s; legacy method: leftmost 3 bytes of the encryption of a zero block)\n", kcv, what)
	case "aes":
		kcv, err := mac.KCVAES(key)
		if err != nil {
			return usageErr(stderr, "key kcv", "--key: %v", err)
		}
		fmt.Fprintf(stdout, "KCV %s (AES-%d key; CMAC method: leftmost 5 bytes of the CMAC of a zero block)\n", kcv, 8*len(key))
	default:
		return usageErr(stderr, "key kcv", "--type %q: want tdes or aes", *typ)
	}
	return 0
}

// securityFlags are the MAC and key options of possim host and terminal.
type securityFlags struct {
	fs                *pflag.FlagSet
	tmk, alg, pad, rc string
	tmkFile           string
	network           bool
}

func (s *securityFlags) add(fs *pflag.FlagSet, forHost bool) {
	s.fs = fs
	fs.StringVar(&s.tmk, "tmk", "", "terminal master key in hex (32 or 48 digits; default $POSSIM_TMK): turns on MACs and working-key exchange at sign-on (only its KCV is ever printed)")
	fs.StringVar(&s.tmkFile, "tmk-file", "", "read the terminal master key (hex) from this file, so it does not show in the process list (/proc/PID/cmdline)")
	fs.StringVar(&s.alg, "mac-alg", "x9.19", "MAC algorithm: x9.19 (retail MAC, ISO 9797-1 alg 3), x9.9 (alg 1), cmac (AES)")
	fs.StringVar(&s.pad, "mac-padding", "1", "MAC padding for the DES algorithms: 1 (zeros) or 2 (0x80)")
	if forHost {
		fs.StringVar(&s.rc, "mac-rc", "63", "response code for a request whose MAC fails")
	}
	fs.BoolVar(&s.network, "mac-network", false, "MAC 08xx network management too (not sign-on and key change); both ends must agree")
}

// parse returns the TMK and MAC settings; a nil TMK means MACs are off.
func (s *securityFlags) parse() (tmk []byte, alg mac.Algorithm, pad mac.Padding, err error) {
	hexKey := s.tmk
	if s.tmkFile != "" {
		if hexKey != "" {
			return nil, "", 0, errors.New("--tmk and --tmk-file: give one of them")
		}
		if hexKey, err = readSecretFile("--tmk-file", s.tmkFile); err != nil {
			return nil, "", 0, err
		}
	}
	if hexKey == "" {
		hexKey = os.Getenv("POSSIM_TMK")
	}
	if hexKey == "" {
		for _, f := range []string{"mac-alg", "mac-padding", "mac-rc", "mac-network"} {
			if fl := s.fs.Lookup(f); fl != nil && fl.Changed {
				return nil, "", 0, fmt.Errorf("--%s needs --tmk (MACs are off without a terminal master key)", f)
			}
		}
		return nil, "", 0, nil
	}
	if alg, err = mac.ParseAlgorithm(s.alg); err != nil {
		return nil, "", 0, fmt.Errorf("--mac-alg: %w", err)
	}
	if pad, err = mac.ParsePadding(s.pad); err != nil {
		return nil, "", 0, fmt.Errorf("--mac-padding: %w", err)
	}
	if tmk, err = mac.ParseHexKey(hexKey); err != nil {
		return nil, "", 0, fmt.Errorf("--tmk: %w", err)
	}
	if _, err := mac.NewKEK(tmk); err != nil {
		return nil, "", 0, fmt.Errorf("--tmk: %w", err)
	}
	return tmk, alg, pad, nil
}

// hostSecurity is the host's Security, nil when MACs are off.
func (s *securityFlags) hostSecurity() (*host.Security, error) {
	tmk, alg, pad, err := s.parse()
	if tmk == nil || err != nil {
		return nil, err
	}
	if len(s.rc) != 2 {
		return nil, fmt.Errorf("--mac-rc %q: want a 2-character response code, e.g. 63", s.rc)
	}
	return &host.Security{TMK: tmk, Alg: alg, Pad: pad, FailRC: s.rc, MACNetwork: s.network}, nil
}

// terminalSecurity is the terminal's Security, nil when MACs are off.
func (s *securityFlags) terminalSecurity() (*terminal.Security, error) {
	tmk, alg, pad, err := s.parse()
	if tmk == nil || err != nil {
		return nil, err
	}
	return &terminal.Security{TMK: tmk, Alg: alg, Pad: pad, MACNetwork: s.network}, nil
}

// keyed reports whether a TMK is given (flag, file or $POSSIM_TMK): the
// sign-on then brings working keys, the PIN key among them.
func (s *securityFlags) keyed() bool {
	return s.tmk != "" || s.tmkFile != "" || os.Getenv("POSSIM_TMK") != ""
}
