package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/terminal"
)

func init() {
	register("demo", "an embedded host and terminal: sign-on, approval, decline, echo, a timeout and its reversal", runDemo)
}

// demoRules adds a slow issuer to the built-in rules so that the demo can
// show a timeout and the reversal that follows it.
const demoRules = `
rules:
  - name: slow issuer (demo)
    match: {amount: "77777..77777"}
    respond: {rc: "00", delay: 1500ms}
`

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "demo [flags]", stderr)
	var df dialectFlags
	df.add(fs)
	verbose := fs.BoolP("verbose", "v", false, "print masked dumps of every message")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	wire, err := buildWiring(&df, nil)
	if err != nil {
		return usageErr(stderr, "demo", "%v", err)
	}
	dl, match := wire.Dialect, wire.Match
	slow, err := host.ParseRules("demo", []byte(demoRules))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tr := newTranscript(stdout, "terminal", "host", *verbose)
	h, err := host.New(host.Config{Listen: "127.0.0.1:0", Dialect: dl, Match: match, Rules: slow.Then(host.DefaultRules())})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := h.Start(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer h.Close()
	fmt.Fprintf(stdout, "possim demo: embedded host on %s, dialect %s (%s)\n\n", h.Addr(), dl.Name, dl.Framing.Describe())
	term, err := terminal.New(terminal.Config{
		Target: h.Addr().String(), Dialect: dl, Match: match, TID: "DEMO0001", Timeout: time.Second,
		SignOnAtConnect: true, ReversalBackoff: 500 * time.Millisecond, Observer: tr.event,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	step := func(title string) { fmt.Fprintf(stdout, "\n── %s\n", title) }
	step("link up and sign-on (0800, 70=001)")
	if err := term.Connect(context.Background()); err != nil {
		fmt.Fprintf(stdout, "connect failed: %v\n", err)
		return 1
	}
	defer term.Close()
	show := func(o terminal.Outcome) { fmt.Fprintf(stdout, "  ⇒ %s\n", indent(o.String(), "  ")[2:]) }
	step("purchase 12.34 with a good card")
	show(term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1234}))
	step("purchase 12.34 with test card 4000000000000002 (insufficient funds)")
	show(term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1234, Card: terminal.Card{PAN: "4000000000000002", Expiry: "2812"}}))
	step("echo test (0800, 70=301)")
	show(term.Do(terminal.Tx{Kind: terminal.Echo}))
	step("purchase 777.77: the issuer answers after 1.5 s, the terminal gives up after 1 s")
	show(term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 77777}))
	// Let the late 0210 arrive so the transcript shows it classified late.
	waitLate(term.Link(), 3*time.Second)
	c := h.Ledger().Counts()
	fmt.Fprintf(stdout, "\n── host's account: %d approved, %d declined, %d reversed\n", c.Approved, c.Declined, c.Reversed)
	return 0
}

func waitLate(l *link.Link, max time.Duration) {
	if l == nil {
		return
	}
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && l.Stats().Late == 0 {
		time.Sleep(20 * time.Millisecond)
	}
}
