package main

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/specs"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register("dialects", "list, show or export message dialects (export a spec to start your own)", runDialects)
}

const dialectsHelp = `Usage: possim dialects list
       possim dialects show NAME|FILE
       possim dialects export NAME|FILE > my-spec.json

A dialect is a message spec plus its framing (length header, TPDU, header),
its ISO 8583 version, matching key and MAC field. NAME is a built-in dialect;
FILE is a dialect file (.yaml) or a moov-io JSON spec (.json).

export writes the dialect's spec in moov-io/iso8583's JSON spec format: edit
it (your private fields 48, 60-63...) and use it with --spec FILE, or name it
from a dialect file (spec: my-spec.json) used with --dialect-file FILE.

Examples:
  possim dialects list
  possim dialects show iso93ascii
  possim dialects export iso87ascii > acme.json
  possim host --spec acme.json
  possim terminal --dialect-file acme.yaml purchase
`

func runDialects(args []string, stdout, stderr io.Writer) int {
	if code, done := groupHelp(args, dialectsHelp, stdout, stderr); done {
		return code
	}
	switch args[0] {
	case "list":
		if len(args) != 1 {
			return usageErr(stderr, "dialects", "list takes no arguments")
		}
		for _, n := range iso.Names() {
			d, _ := iso.Lookup(n)
			fmt.Fprintf(stdout, "%-11s %s\n", n, d.Description)
		}
		return 0
	case "show", "export":
		if len(args) != 2 {
			return usageErr(stderr, "dialects", "%s wants one dialect name or file", args[0])
		}
		d, ws, err := resolveDialect(args[1])
		if err != nil {
			return usageErr(stderr, "dialects", "%v", err)
		}
		printWarnings(stderr, ws)
		if args[0] == "export" {
			b, err := iso.ExportSpec(d)
			if err != nil {
				fmt.Fprintf(stderr, "possim dialects: %v\n", err)
				return 1
			}
			_, _ = stdout.Write(b)
			return 0
		}
		showDialect(stdout, d)
		return 0
	}
	return usageErr(stderr, "dialects", "unknown subcommand %q: want list, show or export", args[0])
}

// resolveDialect takes a built-in name, a dialect file or a JSON spec.
func resolveDialect(arg string) (*iso.Dialect, []iso.Warning, error) {
	if d, err := iso.Lookup(arg); err == nil {
		return d, nil, nil
	}
	if _, err := os.Stat(arg); err != nil {
		return nil, nil, fmt.Errorf("%q is neither a built-in dialect (%s) nor a file", arg, strings.Join(iso.Names(), ", "))
	}
	if strings.HasSuffix(arg, ".json") {
		base, _ := iso.Lookup("iso87ascii")
		return iso.FromSpecFile(base, arg)
	}
	return iso.LoadDialectFile(arg)
}

func printWarnings(w io.Writer, ws []iso.Warning) {
	for _, x := range ws {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
}

func showDialect(w io.Writer, d *iso.Dialect) {
	fmt.Fprintf(w, "dialect:  %s\n", d.Name)
	fmt.Fprintf(w, "about:    %s\n", d.Description)
	v := d.Version
	if v == 0 {
		v = iso.V1987
	}
	fmt.Fprintf(w, "version:  %s (financial request %s, network management %s with its code in field %d)\n",
		v, d.MTI(iso.FinancialRequest), d.MTI(iso.NetworkRequest), d.NetworkField())
	fmt.Fprintf(w, "framing:  %s\n", d.Framing.Describe())
	match := d.Match
	if match == "" {
		match = "tid,stan"
	}
	fmt.Fprintf(w, "match:    %s\n", match)
	mf := "64 (128 with a secondary bitmap)"
	if d.MACField != 0 {
		mf = fmt.Sprint(d.MACField)
	}
	fmt.Fprintf(w, "MAC:      field %s, %d bytes on the wire\n", mf, d.MACWireLen)
	if d.Source != "" {
		fmt.Fprintf(w, "source:   %s\n", d.Source)
	}
	fmt.Fprintf(w, "\n%5s  %-8s %-12s %-11s %6s  %s\n", "field", "type", "prefix", "encoding", "length", "description")
	ids := make([]int, 0, len(d.Spec.Fields))
	for id := range d.Spec.Fields {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		f := d.Spec.Fields[id]
		s := f.Spec()
		typ := strings.TrimPrefix(fmt.Sprintf("%T", f), "*field.")
		pref := ""
		if s.Pref != nil {
			pref = s.Pref.Inspect()
		}
		enc := ""
		if s.Enc != nil {
			enc = encName(s.Enc)
		}
		if len(s.Subfields) > 0 {
			enc = fmt.Sprintf("%d subfields", len(s.Subfields))
		}
		fmt.Fprintf(w, "%5d  %-8s %-12s %-11s %6d  %s\n", id, typ, pref, enc, s.Length, s.Description)
	}
}

// encName is the encoding's name in moov-io's JSON spec format.
func encName(e encoding.Encoder) string {
	t := reflect.TypeOf(e)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n, ok := specs.EncodingsIntToExt[t.Name()]; ok {
		return n
	}
	return t.Name()
}
