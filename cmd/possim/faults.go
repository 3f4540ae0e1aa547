package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/spf13/pflag"
)

func init() {
	register("faults", "list fault types; add, remove, list faults on a running side (add|rm|ls|set --control ADDR)", runFaults)
}

func runFaults(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "add", "rm", "ls", "set":
			return faultsClient(args[0], args[1:], stdout, stderr)
		}
	}
	fs := newFlags("faults", "faults [TYPE]\n       possim faults add|rm|ls|set --control ADDR ...\n\n"+
		"Lists the fault types (wrapped to the terminal's width, or 100 columns),\n"+
		"or shows one TYPE in full: attributes, streams, which side carries it out.\n\n"+
		"Examples:\n"+
		"  possim faults                    # every type, one block each\n"+
		"  possim faults delay              # one type in full\n"+
		"  possim faults ls --control 127.0.0.1:8474", stderr)
	width := fs.Int("width", 0, "wrap at this many columns (default: the terminal's width, or 100)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	w := *width
	if w <= 0 {
		w = screenWidth()
	}
	var err error
	switch fs.NArg() {
	case 0:
		err = fault.WriteCatalogueWidth(stdout, w)
	case 1:
		if err = fault.WriteType(stdout, fs.Arg(0), w); err != nil {
			return usageErr(stderr, "faults", "%v", err)
		}
	default:
		return usageErr(stderr, "faults", "give one fault type, or none for the list")
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// screenWidth is the terminal's width: $COLUMNS, else the width of the
// terminal on standard output, else 100 (a pipe or a file).
func screenWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		return int(ws.Col)
	}
	return 100
}

// faultsClient is a small client of the control API, so a trainer does
// not need curl:
//
//	possim faults ls  --control 127.0.0.1:8474
//	possim faults add --control 127.0.0.1:8474 'delay:name=slowlink,mti=0210,delay=3s'
//	possim faults set --control 127.0.0.1:8474 slowlink delay=5s enabled=false
//	possim faults rm  --control 127.0.0.1:8474 slowlink
func faultsClient(verb string, args []string, stdout, stderr io.Writer) int {
	name := "faults " + verb
	fs := newFlags(name, name+" --control ADDR ...", stderr)
	control := fs.String("control", "127.0.0.1:8474", "address of the control API (a side started with --control)")
	token := fs.String("control-token", os.Getenv("POSSIM_CONTROL_TOKEN"), "bearer token (default $POSSIM_CONTROL_TOKEN)")
	tokenFile := fs.String("control-token-file", "", "read the bearer token from this file")
	fs.Usage = func() {
		fmt.Fprintf(stdout, `Usage: possim faults add|rm|ls|set --control ADDR ...

  ls                 list the rules with ids, names and fire counts
  add SPEC...        add rules in the flag grammar (see possim faults)
  rm REF...          remove rules by id, name or label
  set REF KEY=VALUE  change a rule's attributes; enabled=false switches it off

Flags:
%s
Examples:
  possim faults add --control 127.0.0.1:8474 'delay:name=slowlink,mti=0210,delay=3s'
  possim faults set --control 127.0.0.1:8474 slowlink delay=5s
  possim faults set --control 127.0.0.1:8474 slowlink enabled=false
  possim faults rm  --control 127.0.0.1:8474 slowlink
`, fs.FlagUsages())
	}
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	tok := *token
	if *tokenFile != "" {
		var err error
		if tok, err = readSecretFile("--control-token-file", *tokenFile); err != nil {
			return usageErr(stderr, name, "%v", err)
		}
	}
	c := &controlClient{base: "http://" + *control, token: tok}
	rest := fs.Args()
	var err error
	switch verb {
	case "ls":
		if len(rest) != 0 {
			return usageErr(stderr, name, "ls takes no arguments")
		}
		err = c.list(stdout)
	case "add":
		if len(rest) == 0 {
			return usageErr(stderr, name, "give at least one rule, e.g. 'drop:mti=0210,p=0.1'")
		}
		for _, spec := range rest {
			if _, perr := fault.ParseSpec(spec); perr != nil {
				return usageErr(stderr, name, "%v", perr)
			}
			var v fault.RuleView
			if err = c.do("POST", "/faults", map[string]any{"spec": spec}, &v); err != nil {
				break
			}
			fmt.Fprintf(stdout, "added #%d %s: %s\n", v.ID, v.Label, v.Spec)
		}
	case "rm":
		if len(rest) == 0 {
			return usageErr(stderr, name, "give the id, name or label of the rule to remove")
		}
		for _, ref := range rest {
			if err = c.do("DELETE", "/faults/"+url.PathEscape(ref), nil, nil); err != nil {
				break
			}
			fmt.Fprintf(stdout, "removed %s\n", ref)
		}
	case "set":
		if len(rest) < 2 {
			return usageErr(stderr, name, "give a rule and KEY=VALUE changes, e.g. set slowlink delay=5s")
		}
		patch := map[string]any{}
		for _, kv := range rest[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return usageErr(stderr, name, "%q: want KEY=VALUE", kv)
			}
			if k == "enabled" {
				b, perr := strconv.ParseBool(v)
				if perr != nil {
					return usageErr(stderr, name, "enabled=%s: want true or false", v)
				}
				patch[k] = b
				continue
			}
			patch[k] = v
		}
		var v fault.RuleView
		if err = c.do("PATCH", "/faults/"+url.PathEscape(rest[0]), patch, &v); err == nil {
			state := "on"
			if !v.Enabled {
				state = "off"
			}
			fmt.Fprintf(stdout, "#%d %s (%s): %s\n", v.ID, v.Label, state, v.Spec)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "possim %s: %v\n", name, err)
		var ce *controlError
		if errors.As(err, &ce) && ce.code/100 == 4 && ce.code != 404 {
			return 2
		}
		return 1
	}
	return 0
}

type controlClient struct{ base, token string }

type controlError struct {
	code int
	msg  string
}

func (e *controlError) Error() string { return fmt.Sprintf("%d: %s", e.code, e.msg) }

func (c *controlClient) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	cl := &http.Client{Timeout: 10 * time.Second}
	res, err := cl.Do(req)
	if err != nil {
		return fmt.Errorf("control API at %s: %w (is the side running with --control?)", c.base, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return &controlError{res.StatusCode, e.Error}
		}
		return &controlError{res.StatusCode, strings.TrimSpace(string(b))}
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *controlClient) list(w io.Writer) error {
	var out struct {
		Seed   json.Number      `json:"seed"`
		Faults []fault.RuleView `json:"faults"`
	}
	if err := c.do("GET", "/faults", nil, &out); err != nil {
		return err
	}
	if len(out.Faults) == 0 {
		fmt.Fprintf(w, "no fault rules (seed %s)\n", out.Seed)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLABEL\tON\tSEEN\tFIRED\tSPEC")
	for _, v := range out.Faults {
		fmt.Fprintf(tw, "%d\t%s\t%v\t%d\t%d\t%s\n", v.ID, v.Label, v.Enabled, v.Seen, v.Fired, v.Spec)
	}
	return tw.Flush()
}

// faultFlags are the fault options of host, terminal, proxy and simulate.
type faultFlags struct {
	specs        []string
	file         string
	seed         uint64
	control      string
	controlToken string
	tokenFile    string
	extra        []fault.Rule // from a config file
	// side is where the rules are carried out: a fault another side
	// carries out (die on a host, crash on a terminal) is a usage error
	// rather than a rule that silently does nothing.
	side fault.Side
}

func (f *faultFlags) add(fs *pflag.FlagSet, withControl bool) {
	fs.StringArrayVar(&f.specs, "fault", nil, "fault rule, e.g. 'delay:mti=0210,p=0.1,delay=35s' (repeatable; see possim faults)")
	fs.StringVar(&f.file, "faults", "", "YAML file with a 'faults:' list")
	fs.Uint64Var(&f.seed, "seed", 0, "seed for every random fault decision (0: random, printed)")
	if withControl {
		fs.StringVar(&f.control, "control", "", "serve the fault control API on this address (e.g. 127.0.0.1:8474)")
		fs.StringVar(&f.controlToken, "control-token", os.Getenv("POSSIM_CONTROL_TOKEN"), "bearer token the control API requires (needed off loopback; default $POSSIM_CONTROL_TOKEN)")
		fs.StringVar(&f.tokenFile, "control-token-file", "", "read the control API's bearer token from this file, so it does not show in the process list (/proc/PID/cmdline)")
	}
}

// build returns the rule set, or nil when no fault is configured and no
// control API is asked for.
func (f *faultFlags) build(d *iso.Dialect) (*fault.RuleSet, error) {
	rules, err := fault.ParseSpecs(f.specs)
	if err != nil {
		return nil, err
	}
	if f.file != "" {
		data, err := os.ReadFile(f.file)
		if err != nil {
			return nil, fmt.Errorf("--faults: %w", err)
		}
		more, err := fault.ParseYAML(f.file, data)
		if err != nil {
			return nil, err
		}
		if len(more) == 0 {
			return nil, fmt.Errorf("--faults %s: the file has no fault rules (want a 'faults:' list, see possim faults)", f.file)
		}
		rules = append(rules, more...)
	}
	rules = append(rules, f.extra...)
	if len(rules) == 0 && f.control == "" {
		return nil, nil
	}
	return fault.New(rules, fault.Options{Seed: f.seed, Dialect: d, Side: f.side})
}

// startControl serves the control API if asked; the returned stop is never nil.
func (f *faultFlags) startControl(rs *fault.RuleSet, stdout io.Writer) (func(), error) {
	if f.control == "" || rs == nil {
		return func() {}, nil
	}
	token := f.controlToken
	if f.tokenFile != "" {
		var err error
		if token, err = readSecretFile("--control-token-file", f.tokenFile); err != nil {
			return nil, err
		}
	}
	srv, addr, err := fault.ListenControl(f.control, token, rs)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "fault control API on http://%s (GET/POST /faults, PATCH/DELETE /faults/{id|name}, POST /faults/reset, GET /fired)\n", addr)
	return func() { _ = srv.Close() }, nil
}

// readSecretFile reads a key or token from a file: its first line, spaces
// trimmed. An empty file is an error naming the flag and the file.
func readSecretFile(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if v := strings.TrimSpace(line); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s %s: the file is empty (want the value on its first line)", flag, path)
}
