package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/possim/possim/internal/fault"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/outcome"
	"github.com/possim/possim/terminal"
	"github.com/spf13/pflag"
)

func init() {
	register("terminal", "act as a POS terminal: one transaction, or `run`, `journal`, `saf`", runTerminal)
}

const terminalExamples = `
Examples:
  possim terminal purchase --amount 12.34 --target 127.0.0.1:8583
  possim terminal void                      # voids the last approved sale in the journal
  possim terminal run --echo-idle 30s       # stays connected; reads "purchase 12.34" lines from stdin
  possim terminal journal                   # recent transactions of TID POSSIM01
  possim terminal saf list|flush|clear      # reversals waiting in store-and-forward
`

// termOpts are the flags the terminal commands share.
type termOpts struct {
	target, tid, mid, journal           string
	timeout, connectTimeout, revBackoff time.Duration
	attempts, revAttempts               int
	stan                                uint64
	noSignOn                            bool
	df                                  dialectFlags
	ff                                  faultFlags
	sf                                  securityFlags
	verbose                             bool
	output                              string
	cf                                  captureFlags
	tf                                  tlsFlags
	currency, entryMode, posCondition   string
	fields                              []string
}

func (o *termOpts) add(fs *pflag.FlagSet) {
	fs.StringVar(&o.target, "target", "127.0.0.1:8583", "host address (host:port); alternates after commas (a:p,b:p), tried in order when one is down")
	o.df.add(fs)
	fs.StringVar(&o.tid, "tid", "POSSIM01", "terminal id (field 41, 1 to 8 printable characters)")
	fs.StringVar(&o.mid, "mid", "POSSIM-MERCHANT", "merchant id (field 42, 1 to 15 printable characters)")
	fs.StringVar(&o.journal, "journal", "", "journal file (STANs, transactions, stored reversals); default one per TID under $XDG_STATE_HOME/possim/ or ~/.local/state/possim/; 'none' for none")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "response timeout; then the terminal reverses")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", 5*time.Second, "TCP connect timeout")
	fs.IntVar(&o.attempts, "connect-attempts", 3, "connect tries, with backoff between them")
	fs.BoolVar(&o.noSignOn, "no-signon", false, "do not sign on when the link comes up")
	fs.IntVar(&o.revAttempts, "reversal-attempts", 3, "0400 + 0401 repeats before the reversal is stored")
	fs.DurationVar(&o.revBackoff, "reversal-backoff", time.Second, "wait before the first 0401 repeat (doubles)")
	fs.Uint64Var(&o.stan, "stan", 1, "first STAN to use (1-999999; the journal's STANs continue when higher)")
	o.ff.side = fault.Terminal
	o.ff.add(fs, false)
	o.sf.add(fs, false)
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "print masked dumps of every message")
	fs.StringVarP(&o.output, "output", "o", "text", "text or json")
	o.cf.add(fs)
	o.tf.add(fs, false)
	fs.StringVar(&o.currency, "currency", "978", "transaction currency (field 49, ISO 4217 numeric: 978 EUR, 840 USD, 826 GBP)")
	fs.StringVar(&o.entryMode, "entry-mode", "", "POS entry mode (field 22: 051 chip, 901 stripe, 801 fallback, 012 manual); default: from how the card is read")
	fs.StringVar(&o.posCondition, "pos-condition", "", "POS condition code (field 25, 2 digits; default 00)")
	fs.StringArrayVar(&o.fields, "field", nil, "set any request field: N=VALUE (repeatable); N= removes it, e.g. --field 48=LOYALTY42 --field 25=")
}

// fieldOverrides parses --field.
func (o *termOpts) fieldOverrides() ([]terminal.FieldValue, error) {
	var out []terminal.FieldValue
	for _, f := range o.fields {
		fv, err := terminal.ParseField(f)
		if err != nil {
			return nil, fmt.Errorf("--field %v", err)
		}
		out = append(out, fv)
	}
	return out, nil
}

// check validates the shared flags; the message names the flag.
func (o *termOpts) check() error {
	switch {
	case o.timeout <= 0:
		return errors.New("--timeout must be positive")
	case o.connectTimeout <= 0:
		return errors.New("--connect-timeout must be positive")
	case o.attempts < 1:
		return errors.New("--connect-attempts must be at least 1")
	case o.revAttempts < 1:
		return errors.New("--reversal-attempts must be at least 1")
	case o.revBackoff <= 0:
		return errors.New("--reversal-backoff must be positive")
	case o.output != "text" && o.output != "json":
		return fmt.Errorf("--output %q: want text or json", o.output)
	case len(o.currency) != 3 || strings.Trim(o.currency, "0123456789") != "":
		return fmt.Errorf("--currency %q: want 3 digits (ISO 4217 numeric, e.g. 978)", o.currency)
	case o.entryMode != "" && (len(o.entryMode) != 3 || strings.Trim(o.entryMode, "0123456789") != ""):
		return fmt.Errorf("--entry-mode %q: want 3 digits (051 chip, 901 stripe, 801 fallback)", o.entryMode)
	case o.posCondition != "" && (len(o.posCondition) != 2 || strings.Trim(o.posCondition, "0123456789") != ""):
		return fmt.Errorf("--pos-condition %q: want 2 digits", o.posCondition)
	}
	if _, err := o.fieldOverrides(); err != nil {
		return err
	}
	if err := terminal.CheckSTAN(o.stan); err != nil {
		return fmt.Errorf("--stan: %v", err)
	}
	if err := terminal.CheckTID(o.tid); err != nil {
		return fmt.Errorf("--tid: %v", err)
	}
	if err := terminal.CheckMID(o.mid); err != nil {
		return fmt.Errorf("--mid: %v", err)
	}
	targets := terminal.Targets(o.target)
	if len(targets) == 0 {
		return fmt.Errorf("--target %q: want host:port[,alternate:port...]", o.target)
	}
	for _, tg := range targets {
		host, port, err := net.SplitHostPort(tg)
		if err != nil {
			return fmt.Errorf("--target %q: want host:port: %v", tg, err)
		}
		if _, err := net.DefaultResolver.LookupPort(context.Background(), "tcp", port); err != nil {
			return fmt.Errorf("--target %q: bad port %q", tg, port)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err = net.DefaultResolver.LookupHost(ctx, host)
		cancel()
		if err != nil {
			return fmt.Errorf("--target %q does not resolve: %v", tg, err)
		}
	}
	return nil
}

// openJournal opens the journal the flags name (nil with --journal none).
func (o *termOpts) openJournal() (*terminal.Journal, error) {
	path := o.journal
	if path == "none" {
		return nil, nil
	}
	if path == "" {
		p, err := terminal.DefaultJournalPath(o.tid)
		if err != nil {
			return nil, err
		}
		path = p
	}
	return terminal.OpenJournal(path)
}

// journalErr reports a journal that cannot be opened, exit 2 (the
// --journal given cannot be used): one the catalogue knows (locked,
// corrupt, unwritable) with its cause and fix.
func journalErr(stderr io.Writer, cmd string, err error) int {
	var je *terminal.JournalError
	if !errors.As(err, &je) {
		return usageErr(stderr, cmd, "%v", err)
	}
	f := diagnose.Finding{Cause: je.Cause, Detail: err.Error()}
	fmt.Fprintf(stderr, "possim %s: %v\n  cause: %s (%s)\n  fix: %s\n", cmd, err, f.Cause, f.Entry().Title, f.FixText())
	return 2
}

// newTerminal builds the terminal the flags describe.
func (o *termOpts) newTerminal(stdout io.Writer, j *terminal.Journal, signOn bool, echoIdle time.Duration) (*terminal.Terminal, error) {
	wire, err := buildWiring(&o.df, &o.ff)
	if err != nil {
		return nil, err
	}
	dl, match, faults := wire.Dialect, wire.Match, wire.Faults
	sec, err := o.sf.terminalSecurity()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := o.tf.client(terminal.Targets(o.target)[0])
	if err != nil {
		return nil, err
	}
	if o.output == "text" {
		printTLS(stdout, tlsCfg, "")
	}
	fields, err := o.fieldOverrides()
	if err != nil {
		return nil, err
	}
	tr := newTranscript(stdout, "terminal", "host", o.verbose)
	cfg := terminal.Config{
		TLS: tlsCfg, TLSServerNameFromTarget: o.tf.o.ServerName == "", Currency: o.currency, EntryMode: o.entryMode, POSCondition: o.posCondition, Fields: fields,
		Target: o.target, Dialect: dl, Match: match, TID: o.tid, MID: o.mid,
		Timeout: o.timeout, ConnectTimeout: o.connectTimeout, ConnectAttempts: o.attempts,
		SignOnAtConnect: signOn && !o.noSignOn, EchoIdle: echoIdle, ReversalAttempts: o.revAttempts, ReversalBackoff: o.revBackoff,
		STANStart: uint32(o.stan), Faults: faults, Security: sec,
		OnFlush: func(r *terminal.Record) {
			fmt.Fprintf(stdout, "stored reversal stan=%s of %s stan=%s acknowledged (store-and-forward)\n", r.RevSTAN, r.Kind, r.STAN)
		},
	}
	if o.output == "text" {
		cfg.Observer = tr.event
	}
	if j != nil {
		cfg.Store = j
	}
	// --pcap / --trace: the files are closed by closeCapture when the
	// command ends.
	if err := o.cf.open(); err != nil {
		return nil, err
	}
	cfg.Observer = o.cf.observe("terminal", o.target, cfg.Observer)
	if w := o.cf.terminalWrap(faults); w != nil {
		cfg.WrapConn = w
	}
	return terminal.New(cfg)
}

// stopper turns SIGINT/SIGTERM into a stop: the first stops retrying (the
// pending reversal stays in the journal), a second exits at once.
type stopper struct {
	mu   sync.Mutex
	sig  os.Signal
	ch   chan os.Signal
	term *terminal.Terminal
	stop context.CancelFunc
	out  io.Writer
	note string
}

// stopOnSignal is the one signal handling of the terminal commands: the
// context a first SIGINT/SIGTERM cancels (stopping term), the note it
// prints about the journal ("<what> in the journal FILE"), and the stopper
// to close at the end (which also cancels the context).
func stopOnSignal(out io.Writer, term *terminal.Terminal, j *terminal.Journal, what string) (context.Context, *stopper) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stopper{ch: make(chan os.Signal, 2), stop: cancel, out: out, term: term}
	if j != nil {
		s.note = "; " + what + " in the journal " + j.Path()
	}
	signal.Notify(s.ch, syscall.SIGINT, syscall.SIGTERM)
	go s.loop()
	return ctx, s
}

func (s *stopper) loop() {
	for sig := range s.ch {
		s.mu.Lock()
		first := s.sig == nil
		if first {
			s.sig = sig
		}
		t, note := s.term, s.note
		s.mu.Unlock()
		if !first {
			fmt.Fprintf(s.out, "\n%s again: exiting at once\n", sig)
			os.Exit(exitFor(sig))
		}
		fmt.Fprintf(s.out, "\n%s: stopping (no more retries)%s; press Ctrl-C again to exit at once\n", sig, note)
		s.stop()
		if t != nil {
			t.Stop()
		}
	}
}

// code is the exit code for a signal received, or -1.
func (s *stopper) code() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sig == nil {
		return -1
	}
	return exitFor(s.sig)
}

func (s *stopper) close() { signal.Stop(s.ch); close(s.ch); s.stop() }

func exitFor(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return 143
	}
	return 130
}

// subcommand finds `run`, `journal` or `saf` as the first positional
// argument (flags may come before it) and returns the arguments without it.
func subcommand(args []string) (string, []string) {
	bools := map[string]bool{"-v": true, "--verbose": true, "--no-signon": true, "--allow-invalid-card": true, "-h": true, "--help": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "=") && !bools[a] {
				i++ // its value
			}
			continue
		}
		switch a {
		case "run", "journal", "saf", "send":
			return a, append(append([]string(nil), args[:i]...), args[i+1:]...)
		}
		return "", args
	}
	return "", args
}

func runTerminal(args []string, stdout, stderr io.Writer) int {
	switch sub, rest := subcommand(args); sub {
	case "run":
		return runTerminalRun(rest, stdout, stderr)
	case "send":
		return runTerminalSend(rest, stdout, stderr)
	case "journal":
		return runTerminalJournal(rest, stdout, stderr)
	case "saf":
		return runTerminalSAF(rest, stdout, stderr)
	}
	fs := newFlags("terminal", "terminal [flags] <"+terminal.KindNames("|")+">\n       possim terminal run|journal|saf [flags]"+terminalExamples, stderr)
	var o termOpts
	o.add(fs)
	amount := fs.String("amount", "10.00", "amount in major units, at most two decimals")
	var cf cardFlags
	cf.add(fs)
	rrn := fs.String("rrn", "", "original RRN (void, completion); default: the last approved sale (preauth) in the journal")
	linger := fs.Duration("linger", 2*time.Second, "after a timeout, keep the link open this long so a late answer is seen and classified")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		return usageErr(stderr, "terminal", "want exactly one transaction type (%s), got %d arguments", terminal.KindNames(", "), fs.NArg())
	}
	kind, err := terminal.ParseKind(fs.Arg(0))
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	sp, _ := terminal.Spec(kind)
	amt, err := terminal.ParseAmount(*amount)
	if err == nil && sp.Amount {
		err = terminal.CheckAmount(amt)
	}
	if err != nil {
		return usageErr(stderr, "terminal", "--amount: %v", err)
	}
	if *linger < 0 {
		return usageErr(stderr, "terminal", "--linger must not be negative")
	}
	if err := o.check(); err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	j, err := o.openJournal()
	if err != nil {
		return journalErr(stderr, "terminal", err)
	}
	if j != nil {
		defer j.Close()
	}
	c, err := cf.card(fs, sp.Card, o.sf.keyed())
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	tx := terminal.Tx{Kind: kind, Amount: amt, Card: c, OrigRRN: *rrn}
	orig, err := originalFor(j, &tx)
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	term, err := o.newTerminal(stdout, j, kind != terminal.SignOn, 0)
	if err != nil {
		return usageErr(stderr, "terminal", "%v", err)
	}
	defer o.cf.close(stderr)
	ctx, st := stopOnSignal(stdout, term, j, "a pending reversal stays")
	defer st.close()
	o.printHeader(stdout, term, j)
	out := oneShot(ctx, st, term, &o, tx, *linger, stdout)
	if out.Class == outcome.Approved && j != nil && orig != nil {
		markOriginal(j, kind, orig)
	}
	if c := st.code(); c >= 0 && out.Reversal != nil && out.Reversal.Pending && j != nil {
		out.Notes = append(out.Notes, "interrupted: the reversal is kept in the journal "+j.Path()+" and is sent at the next connection (possim terminal saf flush)")
	}
	term.Close()
	o.printOutcome(stdout, term, &out)
	switch c := st.code(); {
	case c >= 0:
		return c
	case out.Class == outcome.Approved:
		return 0
	}
	return 1
}

// printHeader says, in text output, which terminal talks to which host in
// which framing, its journal and its keys' check values.
func (o *termOpts) printHeader(stdout io.Writer, term *terminal.Terminal, j *terminal.Journal) {
	if o.output != "text" {
		return
	}
	dl, _, _ := o.df.build()
	fmt.Fprintf(stdout, "terminal %s → %s (%s, %s)\n", o.tid, o.target, dl.Name, dl.Framing.Describe())
	if j != nil {
		fmt.Fprintf(stdout, "journal %s (pending reversals: %d)\n", j.Path(), term.PendingReversals())
	}
	if s := o.sf; s.tmk != "" || os.Getenv("POSSIM_TMK") != "" {
		if sec, _ := s.terminalSecurity(); sec != nil {
			fmt.Fprintln(stdout, sec) // check values only
		}
	}
}

// printOutcome prints the one outcome model, as JSON or text.
func (o *termOpts) printOutcome(stdout io.Writer, term *terminal.Terminal, out *terminal.Outcome) {
	if o.output == "json" {
		_ = outcome.JSON(stdout, out)
		return
	}
	fmt.Fprintln(stdout)
	outcome.Text(stdout, out)
	if ki, ok := term.Keys(); ok {
		fmt.Fprintf(stdout, "working keys: %s\n", ki)
	}
}

// originalFor fills in what a void, completion or reversal needs from the
// journal; it returns the journal record of the original, if any.
func originalFor(j *terminal.Journal, tx *terminal.Tx) (*terminal.Record, error) {
	var kinds []terminal.Kind
	switch tx.Kind {
	case terminal.Void:
		kinds = []terminal.Kind{terminal.Purchase}
	case terminal.Completion:
		kinds = []terminal.Kind{terminal.Preauth}
	case terminal.Reversal:
		kinds = []terminal.Kind{terminal.Purchase, terminal.Preauth, terminal.Refund, terminal.Completion, terminal.Void}
	default:
		return nil, nil
	}
	if tx.OrigRRN != "" && tx.Kind == terminal.Void {
		return nil, nil
	}
	if j == nil {
		if tx.Kind == terminal.Reversal || tx.OrigRRN == "" {
			return nil, fmt.Errorf("%s needs the original: pass --rrn, or use a journal (not --journal none)", tx.Kind)
		}
		return nil, nil
	}
	rec, err := j.LastApproved(kinds...)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		if tx.OrigRRN != "" {
			return nil, nil
		}
		if tx.Kind == terminal.Reversal {
			return nil, fmt.Errorf("reversal: no approved financial transaction left to reverse in the journal %s", j.Path())
		}
		return nil, fmt.Errorf("%s: no approved %s in the journal %s: pass --rrn", tx.Kind, kinds[0], j.Path())
	}
	if tx.OrigRRN == "" {
		tx.OrigRRN = rec.RRN
	}
	tx.Orig = rec.Orig
	if tx.Amount == 0 || tx.Kind == terminal.Void {
		tx.Amount = rec.Amount
	}
	return rec, nil
}

// markOriginal records in the journal what an approved void, completion
// or reversal did to its original.
func markOriginal(j *terminal.Journal, kind terminal.Kind, orig *terminal.Record) {
	switch kind {
	case terminal.Void, terminal.Completion:
		_ = j.MarkVoided(orig)
	case terminal.Reversal:
		orig.RevState = terminal.RevAcked
		_ = j.Acked(orig)
	}
}

// runTerminalRun is `possim terminal run`: a terminal that stays connected.
func runTerminalRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("terminal run", `terminal run [flags]

Stays connected like a real POS: signs on, sends an echo test after
--echo-idle without traffic, answers the host's network management (echo,
sign-off, key change), reconnects with backoff and flushes store-and-forward
after each reconnect. Transactions come one per line from stdin
("purchase 12.34", "refund 5.00", "void", "void RRN", "balance", "echo",
"quit") or every --every.

Examples:
  printf 'purchase 12.34\nbalance\n' | possim terminal run
  possim terminal run --every 5s --tx 'purchase 1.00' --echo-idle 30s`, stderr)
	var o termOpts
	o.add(fs)
	echoIdle := fs.Duration("echo-idle", 60*time.Second, "echo test after this long without traffic (0: never)")
	every := fs.Duration("every", 0, "send --tx every D instead of reading stdin")
	txLine := fs.String("tx", "purchase 10.00", "the transaction --every sends")
	connMode := fs.String("connection", "shared", "shared: one long-lived connection; per-tx: connect (and sign on) for each transaction and hang up after its answer or reversal, as GPRS terminals do")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if *connMode != "shared" && *connMode != "per-tx" {
		return usageErr(stderr, "terminal run", "--connection %q: want shared or per-tx", *connMode)
	}
	perTx := *connMode == "per-tx"
	if fs.NArg() != 0 {
		return usageErr(stderr, "terminal run", "unexpected argument %q: transactions come from stdin or --every", fs.Arg(0))
	}
	if err := o.check(); err != nil {
		return usageErr(stderr, "terminal run", "%v", err)
	}
	if *echoIdle < 0 || *every < 0 {
		return usageErr(stderr, "terminal run", "--echo-idle and --every must not be negative")
	}
	if _, err := parseTxLine(*txLine); err != nil {
		return usageErr(stderr, "terminal run", "--tx: %v", err)
	}
	j, err := o.openJournal()
	if err != nil {
		return journalErr(stderr, "terminal run", err)
	}
	if j != nil {
		defer j.Close()
	}
	term, err := o.newTerminal(stdout, j, true, *echoIdle)
	if err != nil {
		return usageErr(stderr, "terminal run", "%v", err)
	}
	defer o.cf.close(stderr)
	term.SetSignOnAgain(true)
	ctx, st := stopOnSignal(stdout, term, j, "pending reversals stay")
	defer st.close()
	var mu sync.Mutex
	print := func(o *terminal.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		outcome.Text(stdout, o)
	}
	loopDone := make(chan struct{})
	if perTx {
		close(loopDone) // no background link to keep: each transaction dials
	} else {
		if err := term.Connect(ctx); err != nil {
			fmt.Fprintf(stdout, "connect failed: %v (retrying in the background)\n", err)
		}
		go func() { defer close(loopDone); term.Run(ctx) }()
	}
	lines := txLines(ctx, *every, *txLine)
	failed := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case line, ok := <-lines:
			if !ok {
				break loop
			}
			line = strings.TrimSpace(line)
			if line == "quit" || line == "exit" {
				break loop
			}
			out := runLine(ctx, line, term, j, perTx, stdout)
			if out == nil {
				continue
			}
			if out.Class != outcome.Approved {
				failed++
			}
			print(out)
		}
	}
	st.stop() // ends Run and the --every ticker
	term.Stop()
	<-loopDone
	term.Close()
	if n := term.PendingReversals(); n > 0 && j != nil {
		fmt.Fprintf(stdout, "%d reversal(s) kept in the journal %s for the next connection\n", n, j.Path())
	}
	if c := st.code(); c >= 0 {
		return c
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// txLines are the transactions of `terminal run`: --tx every D, or the
// lines of stdin; closed at the end of the input or of ctx.
func txLines(ctx context.Context, every time.Duration, txLine string) <-chan string {
	lines := make(chan string)
	if every > 0 {
		go func() {
			tk := time.NewTicker(every)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					close(lines)
					return
				case <-tk.C:
					lines <- txLine
				}
			}
		}()
		return lines
	}
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

// runLine performs the transaction of one input line of `terminal run`
// (nil for a blank line, a comment or a line that is no transaction,
// which is answered with "? why").
func runLine(ctx context.Context, line string, term *terminal.Terminal, j *terminal.Journal, perTx bool, stdout io.Writer) *terminal.Outcome {
	if line == "" || strings.HasPrefix(line, "#") {
		return nil
	}
	tx, err := parseTxLine(line)
	if err == nil {
		var orig *terminal.Record
		if orig, err = originalFor(j, &tx); err == nil {
			var out terminal.Outcome
			if perTx {
				out = perTxDo(ctx, term, tx)
			} else {
				out = term.Do(tx)
			}
			if out.Class == outcome.Approved && j != nil && orig != nil {
				markOriginal(j, tx.Kind, orig)
			}
			return &out
		}
	}
	fmt.Fprintf(stdout, "? %v\n", err)
	return nil
}

// parseTxLine reads "purchase 12.34", "void [RRN]", "balance".
func parseTxLine(line string) (terminal.Tx, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return terminal.Tx{}, errors.New("empty line")
	}
	kind, err := terminal.ParseKind(f[0])
	if err != nil {
		return terminal.Tx{}, err
	}
	sp, _ := terminal.Spec(kind)
	tx := terminal.Tx{Kind: kind, Amount: 1000}
	if len(f) > 1 {
		if sp.Original == terminal.ByRRN || sp.Original == terminal.ByRRNAnd90 && len(f) > 2 {
			tx.OrigRRN = f[len(f)-1]
			f = f[:len(f)-1]
		}
	}
	if len(f) > 1 {
		if !sp.Amount {
			return tx, fmt.Errorf("%s takes no amount", kind)
		}
		if tx.Amount, err = terminal.ParseAmount(f[1]); err == nil {
			err = terminal.CheckAmount(tx.Amount)
		}
		if err != nil {
			return tx, err
		}
	}
	if len(f) > 2 {
		return tx, fmt.Errorf("%q: want KIND [AMOUNT] [RRN]", line)
	}
	return tx, nil
}

// runTerminalJournal is `possim terminal journal`.
func runTerminalJournal(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("terminal journal", `terminal journal [--journal FILE | --tid TID] [--last N]

Lists the journal's recent transactions, newest first, with their outcome
and the state of their reversal.

Examples:
  possim terminal journal
  possim terminal journal --tid SHOP0001 --last 50`, stderr)
	var o termOpts // the terminal's flags, so that a command line can switch to journal as it is
	o.add(fs)
	last := fs.Int("last", 20, "how many transactions (0: all)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 0 {
		return usageErr(stderr, "terminal journal", "unexpected argument %q", fs.Arg(0))
	}
	j, code := openJournalFlag(o.journal, o.tid, "terminal journal", stderr)
	if j == nil {
		return code
	}
	defer j.Close()
	recs, err := j.Records(*last)
	if err != nil {
		fmt.Fprintf(stderr, "possim terminal journal: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "journal %s: last STAN %06d\n", j.Path(), j.LastSTAN())
	for _, r := range recs {
		fmt.Fprintln(stdout, recordLine(r))
	}
	return 0
}

func recordLine(r *terminal.Record) string {
	class := r.Class
	if class == "" {
		class = "in_flight"
	}
	s := fmt.Sprintf("%s  %-10s stan=%s  %-24s", r.At.Local().Format("2006-01-02 15:04:05"), r.Kind, r.STAN, class)
	if r.Amount != 0 {
		s += "  " + terminal.FormatAmount(r.Amount)
	}
	if r.PANMasked != "" {
		s += "  " + r.PANMasked
	}
	if r.RC != "" {
		s += "  rc=" + r.RC
	}
	if r.RRN != "" {
		s += "  rrn=" + r.RRN
	}
	if r.AuthCode != "" {
		s += "  auth=" + r.AuthCode
	}
	if r.Cause != "" {
		s += "  [" + string(r.Cause) + "]"
	}
	if r.RevState != terminal.RevNone {
		s += fmt.Sprintf("  reversal stan=%s %s", r.RevSTAN, r.RevState)
	}
	if r.Voided {
		s += "  voided"
	}
	return s
}

func openJournalFlag(path, tid, cmd string, stderr io.Writer) (*terminal.Journal, int) {
	if path == "none" {
		usageErr(stderr, cmd, "--journal none: there is no journal to read")
		return nil, 2
	}
	if path == "" {
		if err := terminal.CheckTID(tid); err != nil {
			return nil, usageErr(stderr, cmd, "--tid: %v", err)
		}
		p, err := terminal.DefaultJournalPath(tid)
		if err != nil {
			return nil, usageErr(stderr, cmd, "%v", err)
		}
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		return nil, usageErr(stderr, cmd, "journal %s: %v", path, err)
	}
	j, err := terminal.OpenJournal(path)
	if err != nil {
		return nil, usageErr(stderr, cmd, "%v", err)
	}
	return j, 0
}

// runTerminalSAF is `possim terminal saf list|flush|clear`.
func runTerminalSAF(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("terminal saf", `terminal saf list|flush|clear [flags]

The store-and-forward queue: reversals the host has not acknowledged yet.
list shows them, flush connects and sends them (exit 1 if some stay), clear
drops them without sending (they are then never sent: reconcile by hand).

Examples:
  possim terminal saf list
  possim terminal saf flush --target 127.0.0.1:8583
  possim terminal saf clear --tid SHOP0001`, stderr)
	var o termOpts
	o.add(fs)
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "list" && fs.Arg(0) != "flush" && fs.Arg(0) != "clear") {
		return usageErr(stderr, "terminal saf", "want one of list, flush, clear")
	}
	if o.journal == "none" {
		return usageErr(stderr, "terminal saf", "--journal none: store-and-forward needs a journal")
	}
	if err := o.check(); err != nil {
		return usageErr(stderr, "terminal saf", "%v", err)
	}
	j, err := o.openJournal()
	if err != nil {
		return journalErr(stderr, "terminal saf", err)
	}
	defer j.Close()
	due, err := j.Due()
	if err != nil {
		fmt.Fprintf(stderr, "possim terminal saf: %v\n", err)
		return 1
	}
	switch fs.Arg(0) {
	case "list":
		fmt.Fprintf(stdout, "journal %s: %d reversal(s) waiting\n", j.Path(), len(due))
		for _, r := range due {
			fmt.Fprintln(stdout, recordLine(r))
		}
		return 0
	case "clear":
		n, err := j.Clear()
		if err != nil {
			fmt.Fprintf(stderr, "possim terminal saf: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "journal %s: %d reversal(s) dropped without sending\n", j.Path(), n)
		return 0
	}
	term, err := o.newTerminal(stdout, j, true, 0)
	if err != nil {
		return usageErr(stderr, "terminal saf", "%v", err)
	}
	defer o.cf.close(stderr)
	ctx, st := stopOnSignal(stdout, term, j, "the reversals stay")
	defer st.close()
	if err := term.Connect(ctx); err != nil { // Connect flushes
		fmt.Fprintf(stdout, "connect failed: %v\n", err)
		return 1
	}
	left := term.FlushSAF()
	term.Close()
	fmt.Fprintf(stdout, "journal %s: %d reversal(s) sent and acknowledged, %d still waiting\n", j.Path(), len(due)-left, left)
	if c := st.code(); c >= 0 {
		return c
	}
	if left > 0 {
		return 1
	}
	return 0
}

// perTxDo is one transaction on a connection of its own: connect (signing
// on, flushing stored reversals), send, hang up once the answer — or the
// reversal's — is in.
func perTxDo(ctx context.Context, term *terminal.Terminal, tx terminal.Tx) terminal.Outcome {
	if err := term.Connect(ctx); err != nil {
		out := terminal.Outcome{Kind: string(tx.Kind), Class: outcome.NotSent, TID: term.TID()}
		var ce *terminal.ConnectError
		if errors.As(err, &ce) {
			out.Cause.Cause, out.Cause.Detail = ce.Cause, ce.Why
		} else {
			out.Cause.Cause, out.Cause.Detail = "terminal.interrupted", err.Error()
		}
		return out
	}
	out := term.Do(tx)
	term.Hangup()
	return out
}

// cardFlags are the one-shot terminal's card flags.
type cardFlags struct {
	pan, expiry, name, read, pin *string
	allowInvalid                 *bool
}

func (f *cardFlags) add(fs *pflag.FlagSet) {
	f.pan = fs.String("pan", terminal.DefaultCard.PAN, "card number, 12-19 digits with a valid Luhn check (printed masked)")
	f.expiry = fs.String("expiry", terminal.DefaultCard.Expiry, "card expiry YYMM")
	f.name = fs.String("card", "", "a test card of possim's host and how it is read: swipe, chip, fallback (chip fails, stripe read), pin (PIN 1234)")
	f.read = fs.String("read", "", "how the card is read: chip (EMV data in 55), swipe (track 2 in 35), fallback (entry mode 80x), manual")
	f.pin = fs.String("pin", "", "the PIN: field 52, ISO 9564 format 0 under the PIN key of the sign-on (needs --tmk); never printed")
	f.allowInvalid = fs.Bool("allow-invalid-card", false, "send a card number or expiry that fails the checks (negative tests of someone else's host)")
}

// card is the card the flags describe (checked when the transaction
// carries one, unless --allow-invalid-card); keyed says working keys come
// with the sign-on (a PIN needs them).
func (f *cardFlags) card(fs *pflag.FlagSet, carries, keyed bool) (terminal.Card, error) {
	if !*f.allowInvalid && carries {
		if err := terminal.CheckPAN(*f.pan); err != nil {
			return terminal.Card{}, fmt.Errorf("--pan: %v (--allow-invalid-card sends it anyway)", err)
		}
		if err := terminal.CheckExpiry(*f.expiry); err != nil {
			return terminal.Card{}, fmt.Errorf("--expiry: %v (--allow-invalid-card sends it anyway)", err)
		}
	}
	c := terminal.Card{PAN: *f.pan, Expiry: *f.expiry}
	if *f.name != "" {
		tc, ok := terminal.TestCards[*f.name]
		if !ok {
			return c, fmt.Errorf("--card %q: valid are swipe, chip, fallback, pin", *f.name)
		}
		if fs.Changed("pan") || fs.Changed("expiry") {
			return c, errors.New("--card names the card: give it or --pan/--expiry, not both")
		}
		c = tc
	}
	if *f.read != "" {
		if !slices.Contains(terminal.ReadModes, *f.read) {
			return c, fmt.Errorf("--read %q: valid are %s", *f.read, strings.Join(terminal.ReadModes, ", "))
		}
		c.Read = *f.read
	}
	return f.withPIN(c, keyed)
}

func (f *cardFlags) withPIN(c terminal.Card, keyed bool) (terminal.Card, error) {
	pin := *f.pin
	switch {
	case pin == "" && c.PIN != "" && !keyed:
		return c, errors.New("--card pin sends a PIN: give --tmk so that the sign-on brings the PIN key")
	case pin == "":
		return c, nil
	case len(pin) < 4 || len(pin) > 12 || strings.Trim(pin, "0123456789") != "":
		return c, errors.New("--pin: a PIN is 4 to 12 digits")
	case !keyed:
		return c, errors.New("--pin needs working keys: give --tmk so that the sign-on brings the PIN key")
	}
	c.PIN = pin
	if c.Read == "" {
		c.Read = terminal.ReadChip
	}
	return c, nil
}

// oneShot connects, performs tx and waits what may still come for it (a
// late or duplicate answer; linger after a timeout) unless interrupted; a
// failed connect is the outcome, with its cause.
func oneShot(ctx context.Context, st *stopper, term *terminal.Terminal, o *termOpts, tx terminal.Tx, linger time.Duration, stdout io.Writer) terminal.Outcome {
	if err := term.Connect(ctx); err != nil {
		out := terminal.Outcome{Kind: string(tx.Kind), Class: outcome.NotSent, TID: o.tid}
		var ce *terminal.ConnectError
		if errors.As(err, &ce) {
			out.Cause.Cause, out.Cause.Detail = ce.Cause, ce.Why
		} else {
			out.Cause.Cause, out.Cause.Detail = diagnose.TerminalInterrupted, err.Error()
		}
		return out
	}
	if sw := term.SwitchOver(); sw != "" && o.output == "text" {
		fmt.Fprintf(stdout, "host switch-over: %s\n", sw)
	}
	out := term.Do(tx)
	if st.code() < 0 {
		wait := 150 * time.Millisecond // a duplicate answer comes right after the first
		if out.Class.TimedOut() {
			wait = linger
		}
		term.Settle(&out, wait)
	}
	return out
}
