package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/spf13/pflag"
)

func init() {
	register("faults", "list every fault type with its attributes and the symptom it produces", func(args []string, stdout, stderr io.Writer) int {
		fs := newFlags("faults", "faults", stderr)
		if code, done := parse(fs, args, stderr); done {
			return code
		}
		if err := fault.WriteCatalogue(stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	})
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
		rules = append(rules, more...)
	}
	rules = append(rules, f.extra...)
	if len(rules) == 0 && f.control == "" {
		return nil, nil
	}
	return fault.New(rules, fault.Options{Seed: f.seed, Dialect: d})
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
