package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/possim/possim/scenarios"
)

func init() {
	register("replay", "play scenarios (files or library names) and check their expectations", runReplay)
}

// loadScenario reads a scenario file, or a library scenario by name.
func loadScenario(arg string) (*scenarios.Scenario, error) {
	if _, err := os.Stat(arg); err == nil {
		return scenarios.LoadFile(arg)
	}
	if strings.ContainsAny(arg, "/\\") || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		return nil, fmt.Errorf("%s: no such file", arg)
	}
	return scenarios.Library(arg)
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("replay", "replay [flags] FILE|NAME...\n\n"+
		"Plays each scenario over TCP on 127.0.0.1 and checks its expectations.\n"+
		"NAME is a library scenario (possim scenarios list). Exit 0: every\n"+
		"expectation met; 1: one or more unmet; 2: a scenario is invalid.", stderr)
	seed := fs.Uint64("seed", 0, "replace each scenario's seed (the same seed gives the same fault decisions)")
	output := fs.StringP("output", "o", "text", "report format: text (a ladder diagram), json, junit")
	dry := fs.Bool("dry-run", false, "only check that the scenarios are valid")
	var cf captureFlags
	cf.add(fs) // the terminals' side of the links
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	switch *output {
	case "text", "json", "junit":
	default:
		return usageErr(stderr, "replay", "--output %q: want text, json or junit", *output)
	}
	if fs.NArg() == 0 {
		return usageErr(stderr, "replay", "give a scenario file or a library name")
	}
	// Every scenario is loaded before any runs, so that all invalid ones are
	// named at once; the valid ones still run and the machine-readable
	// reports list the invalid ones as errors (CI sees every scenario it
	// asked for), and the exit code is 2.
	var list []*scenarios.Scenario
	var invalid []scenarios.Invalid
	for _, arg := range fs.Args() {
		sc, err := loadScenario(arg)
		if err != nil {
			fmt.Fprintf(stderr, "possim replay: invalid scenario: %v\n", err)
			invalid = append(invalid, scenarios.NewInvalid(arg, err))
			continue
		}
		list = append(list, sc)
	}
	if len(invalid) > 0 && (*dry || *output == "text") {
		return 2
	}
	if *dry {
		for _, sc := range list {
			fmt.Fprintf(stdout, "%s: valid — %d terminal(s), %d step(s), %d end expectation(s) (%s)\n",
				sc.Name, len(sc.Terminals), len(sc.Steps), len(sc.Expect), sc.File)
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := cf.open(); err != nil {
		return usageErr(stderr, "replay", "%v", err)
	}
	defer cf.close(stderr)
	var reports []*scenarios.Report
	for _, sc := range list {
		reports = append(reports, scenarios.Run(ctx, sc, scenarios.Options{Seed: *seed, ModifyTerminal: cf.modifyTerminal}))
	}
	var err error
	switch *output {
	case "json":
		err = scenarios.WriteJSON(stdout, reports, invalid...)
	case "junit":
		err = scenarios.WriteJUnit(stdout, reports, invalid...)
	default:
		for i, r := range reports {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			if err = r.WriteText(stdout); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "possim replay: %v\n", err)
		return 1
	}
	if len(invalid) > 0 {
		return 2
	}
	for _, r := range reports {
		if !r.OK() {
			return 1
		}
	}
	return 0
}
