package main

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"regexp"
	"text/tabwriter"

	"github.com/possim/possim/scenarios"
)

func init() {
	register("scenarios", "the scenario library: list, show NAME, new NAME (a commented template)", runScenarios)
}

var scenarioName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func runScenarios(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("scenarios", "scenarios list | show NAME | new NAME [--file FILE] [--force]\n\n"+
		"  list        the built-in scenarios, one line each\n"+
		"  show NAME   a built-in scenario's YAML (its description is written for trainers)\n"+
		"  new NAME    write a commented template to NAME.yaml (--file - for stdout)", stderr)
	file := fs.String("file", "", "new: where to write the template (default NAME.yaml; - for stdout)")
	force := fs.Bool("force", false, "new: overwrite an existing file")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		return usageErr(stderr, "scenarios", "give list, show NAME or new NAME")
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	switch sub {
	case "list":
		if len(rest) != 0 {
			return usageErr(stderr, "scenarios", "list takes no argument")
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTITLE")
		for _, n := range scenarios.LibraryNames() {
			sc, err := scenarios.Library(n)
			if err != nil {
				fmt.Fprintf(tw, "%s\t(invalid: %v)\n", n, err)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\n", n, sc.Title)
		}
		tw.Flush()
		fmt.Fprintln(stdout, "\nRun one: possim replay NAME    Read one: possim scenarios show NAME")
		return 0
	case "show":
		if len(rest) != 1 {
			return usageErr(stderr, "scenarios", "show takes one scenario name")
		}
		sc, err := scenarios.Library(rest[0])
		if err != nil {
			fmt.Fprintf(stderr, "possim scenarios: %v\n", err)
			return 2
		}
		stdout.Write(sc.Source)
		return 0
	case "new":
		if len(rest) != 1 {
			return usageErr(stderr, "scenarios", "new takes one scenario name")
		}
		name := rest[0]
		if !scenarioName.MatchString(name) {
			return usageErr(stderr, "scenarios", "name %q: use lower-case letters, digits and dashes", name)
		}
		text := scenarios.Template(name)
		path := *file
		if path == "" {
			path = name + ".yaml"
		}
		if path == "-" {
			io.WriteString(stdout, text)
			return 0
		}
		flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if *force {
			flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		f, err := os.OpenFile(path, flag, 0o644)
		if err != nil {
			if errors.Is(err, iofs.ErrExist) {
				fmt.Fprintf(stderr, "possim scenarios new: %s exists (use --force to overwrite, or --file)\n", path)
				return 1
			}
			fmt.Fprintf(stderr, "possim scenarios new: %v\n", err)
			return 1
		}
		_, err = io.WriteString(f, text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "possim scenarios new: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s — edit it, check it with possim replay --dry-run %s, run it with possim replay %s\n", path, path, path)
		return 0
	}
	return usageErr(stderr, "scenarios", "unknown subcommand %q: want list, show or new", sub)
}
