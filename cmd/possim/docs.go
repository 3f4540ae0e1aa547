package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/possim/possim/host"
	"github.com/possim/possim/scenarios"
	"github.com/spf13/pflag"
)

func init() {
	register("docs", "print a file format: the host's rules, the scenario format, the host config keys", runDocs)
}

// The formats are printed from the binary, so a user without the README (or
// a trainer offline) can write a rules file, a scenario or a host config.
func runDocs(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("docs", "docs rules|scenario|host-config", stderr)
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		return usageErr(stderr, "docs", "give one topic: rules, scenario or host-config")
	}
	switch fs.Arg(0) {
	case "rules":
		fmt.Fprint(stdout, rulesDoc)
		fmt.Fprintln(stdout)
		fmt.Fprint(stdout, host.DefaultRules().Describe())
		return 0
	case "scenario", "scenarios":
		fmt.Fprint(stdout, scenarios.Template("example"))
		return 0
	case "host-config", "config":
		return runHost([]string{"--config-help"}, stdout, stderr)
	}
	return usageErr(stderr, "docs", "unknown topic %q: want rules, scenario or host-config", fs.Arg(0))
}

const rulesDoc = `Authorization rules (possim host --rules FILE, or rules: in --config / a scenario's host)

The host decides authorizations and financial requests (01xx, 02xx) by an
ordered list of rules: the first rule that matches answers; a request no rule
matches gets the default. Reversals (04xx) and network management (08xx) are
answered by the host itself. Decoding is strict: an unknown key, a key given
twice or a value of the wrong shape is an error naming file:line.

rules:
  - name: low-funds                 # optional: shown in logs and --show-rules
    match:                          # every selector given must match; a list means any of
      pan: ["4000000000000002"]     # whole card numbers (or pan_prefix: ["4000"], not both)
      amount: "100000.."            # field 4 in minor units: "N", "MIN..MAX", "MIN..", "..MAX"
      mti: ["0200"]
      processing_code: ["00"]       # prefix of field 3
      tid: ["POSSIM01"]
    respond:
      rc: "51"                      # field 39 (required)
      delay: 2s                     # answer this much later (a slow issuer)
  - name: rich
    match: {pan_prefix: ["5"]}
    respond:
      rc: "00"
      approval_code: "A1B2C3"       # field 38 of an approval; default: generated
      set: {54: "1002840C000000500000"}   # any response field, by number
default:                            # optional: the answer when no rule matches
  rc: "00"

Run 'possim host --show-rules --rules FILE' to see how the host reads a file.
The built-in rules (used without --rules):
`

// writeHostConfigHelp lists the keys of a host --config file with the flag
// each stands for, from the host's own flag set (one source of truth).
func writeHostConfigHelp(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, `Host config (possim host --config FILE): YAML, decoded strictly (an unknown
key is an error naming file:line). Each key sets the flag of the same name;
a flag given on the command line wins. Besides them:
  rules:    the authorization rules (possim docs rules)
  faults:   a list of fault rules (possim faults), e.g. - delay:mti=0210,delay=2s

Keys:
`)
	keys := make([]string, 0, len(hostConfigKeys))
	for k := range hostConfigKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := fs.Lookup(hostConfigKeys[k])
		if f == nil {
			continue
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "[]" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "  %-20s %s%s\n", k+":", f.Usage, def)
	}
	fmt.Fprint(w, `
Example:
  listen: 127.0.0.1:8583
  dialect: iso87ascii
  max_conns: 2000
  tmk_file: /etc/possim/tmk.hex
  rules:
    rules:
      - match: {pan: ["4000000000000002"]}
        respond: {rc: "51"}
  faults:
    - delay:mti=0210,p=0.1,delay=2s
`)
}
