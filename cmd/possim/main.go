// Command possim is an ISO 8583 connectivity simulator: a fake acquirer
// host, a fake POS terminal, faults between them, scenarios and a load
// generator.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) int) {
	commands[name] = command{summary, run}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	case "--version":
		args[0] = "version"
	}
	// Transcripts print from link goroutines while the command prints its
	// own lines: one lock per writer keeps lines whole.
	out := &syncWriter{w: stdout}
	stdout, stderr = out, &syncWriter{w: stderr, help: out}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "possim: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "possim — ISO 8583 transaction connectivity simulator")
	fmt.Fprintln(w, "\nUsage: possim <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'possim <command> --help' for a command's flags.")
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	help := helpWriter(stderr)
	fs.Usage = func() {
		fmt.Fprintf(help, "Usage: possim %s\n\nFlags:\n%s", synopsis, fs.FlagUsages())
		if ex := commandExamples[name]; ex != "" && !strings.Contains(synopsis, "Examples:") {
			fmt.Fprintf(help, "\nExamples:\n%s", ex)
		}
	}
	return fs
}

// helpWriter is where --help goes: standard output (so that `possim X
// --help | less` works), found through the stderr writer run() made; a
// usage error still prints its message on stderr.
func helpWriter(stderr io.Writer) io.Writer {
	if sw, ok := stderr.(*syncWriter); ok && sw.help != nil {
		return sw.help
	}
	return stderr
}

// parse parses flags; it returns (exit code, done). --help exits 0, a bad
// flag exits 2 with the message.
func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0, true
		}
		fmt.Fprintf(stderr, "possim %s: %v (see possim %s --help)\n", fs.Name(), err, fs.Name())
		return 2, true
	}
	return 0, false
}

// parseNoArgs is parse for a command that takes flags only: an argument
// left over is a usage error (exit 2).
func parseNoArgs(fs *pflag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if code, done := parse(fs, args, stderr); done {
		return code, true
	}
	if fs.NArg() != 0 {
		return usageErr(stderr, fs.Name(), "unexpected argument %q", fs.Arg(0)), true
	}
	return 0, false
}

// groupHelp answers a command group (dialects, mac) called with no
// subcommand (its usage on stderr, exit 2) or asked for help (on stdout,
// exit 0); done false: args[0] is a subcommand to run.
func groupHelp(args []string, usage string, stdout, stderr io.Writer) (int, bool) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2, true
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0, true
	}
	return 0, false
}

func usageErr(stderr io.Writer, cmd, format string, a ...any) int {
	fmt.Fprintf(stderr, "possim %s: %s (see possim %s --help)\n", cmd, fmt.Sprintf(format, a...), cmd)
	return 2
}

func init() {
	register("version", "print the version", func(args []string, stdout, stderr io.Writer) int {
		fs := newFlags("version", "version", stderr)
		if code, done := parse(fs, args, stderr); done {
			return code
		}
		fmt.Fprintf(stdout, "possim %s\n", Version)
		return 0
	})
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
	// help, on the stderr writer, is the stdout writer: where --help goes.
	help io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pre)
}
