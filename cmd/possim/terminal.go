package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/possim/possim/terminal"
)

func init() {
	register("terminal", "act as a POS terminal: send one transaction to a host", runTerminal)
}

func runTerminal(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("terminal", "terminal [flags] <purchase|preauth|refund|void|balance|echo|signon|signoff>", stderr)
	var df dialectFlags
	target := fs.String("target", "127.0.0.1:8583", "host address (host:port)")
	df.add(fs)
	tid := fs.String("tid", "POSSIM01", "terminal id (field 41, up to 8 characters)")
	mid := fs.String("mid", "POSSIM-MERCHANT", "merchant id (field 42, up to 15 characters)")
	amount := fs.String("amount", "10.00", "amount in major units with two decimals")
	pan := fs.String("pan", terminal.DefaultCard.PAN, "card number (printed masked)")
	expiry := fs.String("expiry", terminal.DefaultCard.Expiry, "card expiry YYMM")
	rrn := fs.String("rrn", "", "original RRN (void)")
	timeout := fs.Duration("timeout", 10*time.Second, "response timeout; then the terminal reverses")
	connectTimeout := fs.Duration("connect-timeout", 5*time.Second, "TCP connect timeout")
	attempts := fs.Int("connect-attempts", 3, "connect tries, with backoff between them")
	noSignOn := fs.Bool("no-signon", false, "do not sign on when the link comes up")
	revAttempts := fs.Int("reversal-attempts", 3, "0400 + 0401 repeats before the reversal is stored")
	revBackoff := fs.Duration("reversal-backoff", time.Second, "wait before the first 0401 repeat (doubles)")
	stan := fs.Uint32("stan", 1, "first STAN to use")
	var ff faultFlags
	ff.add(fs, false)
	var sf securityFlags
	sf.add(fs, false)
	var tf tlsFlags
	tf.add(fs, false)
	verbose := fs.BoolP("verbose", "v", false, "print masked dumps of every message")
	var cf captureFlags
	cf.add(fs)
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		return usageErr(stderr, "terminal", "want exactly one transaction type, got %d arguments", fs.NArg())
	}
	kind, err := terminal.ParseKind(fs.Arg(0))
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	amt, err := terminal.ParseAmount(*amount)
	if err != nil {
		return usageErr(stderr, "terminal", "--amount: %v", err)
	}
	dl, match, err := df.build()
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	if *timeout <= 0 || *connectTimeout <= 0 || *attempts < 1 || *revAttempts < 1 {
		return usageErr(stderr, "terminal", "timeouts must be positive and attempts at least 1")
	}
	faults, err := ff.build(dl)
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	sec, err := sf.terminalSecurity()
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	tlsCfg, err := tf.client(*target)
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	tr := newTranscript(stdout, "terminal", "host", *verbose)
	if err := cf.open(); err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	defer cf.close(stderr)
	term, err := terminal.New(terminal.Config{
		Target: *target, Dialect: dl, Match: match, TID: *tid, MID: *mid,
		Timeout: *timeout, ConnectTimeout: *connectTimeout, ConnectAttempts: *attempts,
		SignOnAtConnect: !*noSignOn && kind != terminal.SignOn, ReversalAttempts: *revAttempts, ReversalBackoff: *revBackoff,
		Observer: cf.observe("terminal", *target, tr.event), STANStart: *stan, Faults: faults, Security: sec, TLS: tlsCfg,
		WrapConn: cf.terminalWrap(faults),
	})
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "terminal %s → %s (%s, %s)\n", *tid, *target, dl.Name, dl.Framing.Describe())
	if sec != nil {
		fmt.Fprintln(stdout, sec) // check values only
	}
	printTLS(stdout, tlsCfg, "")
	if err := term.Connect(ctx); err != nil {
		fmt.Fprintf(stdout, "\n%-8s %s\n         why: %v\n", kind, "NOT SENT", err)
		return 1
	}
	defer term.Close()
	o := term.Do(terminal.Tx{Kind: kind, Amount: amt, Card: terminal.Card{PAN: *pan, Expiry: *expiry}, OrigRRN: *rrn})
	fmt.Fprintf(stdout, "\n%s\n", o)
	if ki, ok := term.Keys(); ok {
		fmt.Fprintf(stdout, "working keys: %s\n", ki)
	}
	if o.Class == terminal.Approved || o.Class == terminal.Declined {
		return 0
	}
	return 1
}
