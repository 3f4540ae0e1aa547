package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/tlsconf"
	"github.com/possim/possim/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// runTerminalSend sends one message written by hand — fields in YAML/JSON,
// or the packed message in hex — and prints the answer: for a host's
// oddities the transaction kinds do not cover.
func runTerminalSend(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("terminal send", `terminal send --message FILE [flags]

FILE holds one message: YAML or JSON with the MTI and fields by number
    mti: "0200"
    fields: {2: "4761739001010010", 3: "000000", 4: "1000", 11: "000001", 41: "POSSIM01"}
or the packed message (MTI onwards, no length header) in hex. It is sent as
it is (no sign-on, no MAC) in the dialect and framing of the flags, and the
answer is printed masked. Exit 0 when an answer came, 1 when none.

Examples:
  possim terminal send --message sale.yaml --target 127.0.0.1:8583 -v
  possim terminal send --message captured.hex --dialect iso87bin`, stderr)
	var df dialectFlags
	target := fs.String("target", "127.0.0.1:8583", "host address (host:port)")
	df.add(fs)
	msgFile := fs.String("message", "", "the message file (YAML/JSON fields, or hex)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the answer")
	verbose := fs.BoolP("verbose", "v", false, "print masked dumps of both messages")
	var tf tlsFlags
	tf.add(fs, false)
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if *msgFile == "" || fs.NArg() != 0 {
		return usageErr(stderr, "terminal send", "want --message FILE and no arguments")
	}
	if *timeout <= 0 {
		return usageErr(stderr, "terminal send", "--timeout must be positive")
	}
	dl, match, err := df.build()
	if err != nil {
		return usageErr(stderr, "terminal send", "%v", err)
	}
	m, err := readMessageFile(*msgFile, dl)
	if err != nil {
		return usageErr(stderr, "terminal send", "%v", err)
	}
	tlsCfg, err := tf.client(*target)
	if err != nil {
		return usageErr(stderr, "terminal send", "%v", err)
	}
	nc, err := tlsconf.Dial(context.Background(), *target, tlsCfg, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stdout, "NOT SENT: %v\n", err)
		return 1
	}
	tr := newTranscript(stdout, "terminal", "host", *verbose)
	l := link.New(nc, link.Config{Dialect: dl, Match: match, Observer: tr.event}).Start()
	defer l.Close()
	r := l.Call(m, *timeout)
	if r.Err != nil {
		fmt.Fprintf(stdout, "no answer: %v\n", r.Err)
		return 1
	}
	fmt.Fprintf(stdout, "answer: %s%s\n", iso.Summary(r.Resp), rcText(r.Resp))
	return 0
}

// readMessageFile reads a message: hex (the packed message) or YAML/JSON
// (mti and fields by number), strictly.
func readMessageFile(path string, d *iso.Dialect) (*iso8583.Message, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--message: %w", err)
	}
	trimmed := strings.Join(strings.Fields(string(data)), "")
	if trimmed != "" && strings.Trim(strings.ToUpper(trimmed), "0123456789ABCDEF") == "" {
		b, err := hex.DecodeString(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%s: hex: %v", path, err)
		}
		m, err := d.Unpack(b)
		if err != nil {
			return nil, fmt.Errorf("%s: does not unpack in %s: %v", path, d.Name, err)
		}
		return m, nil
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, yamlnode.FileError(path, err)
	}
	top := yamlnode.Resolve(&doc)
	if top == nil || top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: want mti: and fields: (or the message in hex)", path)
	}
	m := d.NewMessage()
	var mti string
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], yamlnode.Resolve(top.Content[i+1])
		if seen[k.Value] {
			return nil, fmt.Errorf("%s:%d: key %q given twice", path, k.Line, k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "mti":
			if v.Kind != yaml.ScalarNode || iso.CheckMTI(v.Value) != nil {
				return nil, fmt.Errorf("%s:%d: mti: want 4 digits, quoted (\"0200\")", path, k.Line)
			}
			mti = v.Value
		case "fields":
			if v.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s:%d: fields: want field number: value", path, k.Line)
			}
			var ids []int
			vals := map[int]string{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				fk, fv := v.Content[j], yamlnode.Resolve(v.Content[j+1])
				id, err := iso.ParseField(fk.Value)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: fields: %q is not a field number 2-128", path, fk.Line, fk.Value)
				}
				if _, dup := vals[id]; dup {
					return nil, fmt.Errorf("%s:%d: field %d given twice", path, fk.Line, id)
				}
				if fv.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s:%d: field %d: want a value", path, fk.Line, id)
				}
				if _, ok := d.Spec.Fields[id]; !ok {
					return nil, fmt.Errorf("%s:%d: field %d is not defined in %s", path, fk.Line, id, d.Name)
				}
				vals[id] = fv.Value
				ids = append(ids, id)
			}
			sort.Ints(ids)
			for _, id := range ids {
				if err := iso.Set(m, id, vals[id]); err != nil {
					return nil, fmt.Errorf("%s: %v", path, err)
				}
			}
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q (known keys: mti, fields)", path, k.Line, k.Value)
		}
	}
	if mti == "" {
		return nil, fmt.Errorf("%s: no mti", path)
	}
	m.MTI(mti)
	if _, err := m.Pack(); err != nil {
		return nil, fmt.Errorf("%s: the message does not pack in %s: %v", path, d.Name, err)
	}
	return m, nil
}
