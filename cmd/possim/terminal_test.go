package main

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/internal/testkit/hostkit"
	"github.com/possim/possim/terminal"
)

// TestMain runs the possim command itself when the test binary is
// re-executed as a subprocess (the kill -9 and signal tests), and keeps
// every journal the tests write in a temporary state directory.
func TestMain(m *testing.M) {
	if os.Getenv("POSSIM_TEST_EXEC") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	dir, err := os.MkdirTemp("", "possim-state")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	testkit.RemoveBuilt()
	os.Exit(code)
}

// faultHost is our host with fault rules (specs as on the command line).
func faultHost(t *testing.T, specs ...string) *host.Host {
	t.Helper()
	d, _ := iso.Lookup("iso87ascii")
	cfg := host.Config{Dialect: d}
	if len(specs) > 0 {
		cfg.Faults = hostkit.Faults(t, d, specs...)
	}
	return hostkit.Start(t, cfg)
}

// The POS checks, through the binary over TCP against our host with
// faults: each answer is reported with its cause, the first two reversed.
func TestTerminalChecksWhatItIsTold(t *testing.T) {
	for _, c := range []struct {
		fault, cause, words string
		reversed            bool
		code                int
	}{
		{"remove-field:mti=0210,field=39", string(diagnose.ResponseMissingField), "the host's answer has no response code", true, 1},
		{"corrupt-field:mti=0210,field=4,value=000000009999", string(diagnose.ResponseFieldMismatch), "the approval is for 99.99, the sale was 10.00", true, 1},
		{"duplicate:mti=0210", string(diagnose.ResponseDuplicate), "the host answered this request 1 more time", false, 0},
	} {
		h := faultHost(t, c.fault)
		code, out, errOut := runCmd("terminal", "purchase", "--journal", "none", "--target", h.Addr().String(), "--amount", "10.00")
		if code != c.code || !strings.Contains(out, c.cause) || !strings.Contains(out, c.words) {
			t.Fatalf("%s: exit %d, output:\n%s%s", c.fault, code, out, errOut)
		}
		tx, ok := h.Ledger().Lookup("POSSIM01", "000002")
		if !ok {
			t.Fatalf("%s: host has no purchase", c.fault)
		}
		if reversed := tx.State == host.Reversed; reversed != c.reversed || c.reversed && !strings.Contains(out, "acknowledged (0410)") {
			t.Fatalf("%s: host state %s, output:\n%s", c.fault, tx.State, out)
		}
	}
}

// Card input a POS would refuse exits 2 naming the flag;
// --allow-invalid-card sends it anyway.
func TestTerminalRefusesBadInput(t *testing.T) {
	h := faultHost(t)
	addr := h.Addr().String()
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--pan", "123"}, "--pan"},
		{[]string{"--pan", "4761739001010011"}, "Luhn"},
		{[]string{"--expiry", "abc"}, "--expiry"},
		{[]string{"--expiry", "2813"}, "--expiry"},
		{[]string{"--amount", "0"}, "--amount"},
		{[]string{"--amount", "1.234"}, "--amount"},
		{[]string{"--stan", "1000000"}, "--stan"},
		{[]string{"--tid", "TOOLONGTID"}, "--tid"},
		{[]string{"--mid", "MERCHANT-TOO-LONG-1"}, "--mid"},
		{[]string{"--reversal-attempts", "0"}, "--reversal-attempts must be at least 1"},
		{[]string{"--target", "nosuch.invalid:8583"}, "--target"},
	} {
		args := append([]string{"terminal", "purchase", "--journal", "none", "--target", addr}, c.args...)
		code, _, errOut := runCmd(args...)
		if code != 2 || !strings.Contains(errOut, c.flag) {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, errOut)
		}
	}
	code, out, _ := runCmd("terminal", "purchase", "--journal", "none", "--target", addr, "--pan", "4761739001010011", "--allow-invalid-card")
	if !strings.Contains(out, "0200") || code == 2 {
		t.Fatalf("--allow-invalid-card did not send: exit %d\n%s", code, out)
	}
	// A decline exits 1.
	if code, out, _ := runCmd("terminal", "purchase", "--journal", "none", "--target", addr, "--pan", "4000000000000069"); code != 1 || !strings.Contains(out, "DECLINED") {
		t.Fatalf("decline: exit %d\n%s", code, out)
	}
}

// STANs continue across runs; void without --rrn voids the journal's last
// sale; a second void of it is RC 94, a void of an unknown RRN RC 12.
func TestTerminalJournalAcrossRuns(t *testing.T) {
	h := faultHost(t)
	addr := h.Addr().String()
	j := filepath.Join(t.TempDir(), "t.journal")
	base := []string{"--target", addr, "--journal", j}
	if code, out, errOut := runCmd(append([]string{"terminal", "purchase"}, base...)...); code != 0 {
		t.Fatalf("purchase: %d %s %s", code, out, errOut)
	}
	code, out, _ := runCmd(append([]string{"terminal", "void"}, base...)...)
	if code != 0 || !strings.Contains(out, "void     APPROVED") {
		t.Fatalf("void: %d\n%s", code, out)
	}
	sale, _ := h.Ledger().Lookup("POSSIM01", "000002")
	code, out, _ = runCmd(append([]string{"terminal", "void", "--rrn", sale.RRN}, base...)...)
	if code != 1 || !strings.Contains(out, "rc=94") || !strings.Contains(out, string(diagnose.RequestDuplicate)) {
		t.Fatalf("second void: %d\n%s", code, out)
	}
	code, out, _ = runCmd(append([]string{"terminal", "void", "--rrn", "000000000042"}, base...)...)
	if code != 1 || !strings.Contains(out, "rc=12") {
		t.Fatalf("void of unknown: %d\n%s", code, out)
	}
	code, out, _ = runCmd("terminal", "journal", "--journal", j)
	if code != 0 || strings.Count(out, "signon") != 4 || !strings.Contains(out, "voided") {
		t.Fatalf("journal: %d\n%s", code, out)
	}
	// The first run used STANs 1-3 (sign-on, sale, its armed reversal);
	// the second must not start at 1 again.
	if tx, ok := h.Ledger().Lookup("POSSIM01", "000005"); !ok || tx.ProcCode != "020000" {
		t.Fatalf("void STAN: %+v %v", tx, ok)
	}
	code, _, errOut := runCmd("terminal", "journal", "--journal", filepath.Join(t.TempDir(), "nope"))
	if code != 2 || !strings.Contains(errOut, "nope") {
		t.Fatalf("missing journal: %d %q", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.journal")
	os.WriteFile(bad, []byte("this is not a journal, it is a shopping list and it is long enough to be read"), 0o600)
	code, _, errOut = runCmd("terminal", "purchase", "--target", addr, "--journal", bad)
	if code != 2 || !strings.Contains(errOut, bad) {
		t.Fatalf("corrupt journal: %d %q", code, errOut)
	}
}

func possimCmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, os.Args[0], args...)
	c.Env = append(os.Environ(), "POSSIM_TEST_EXEC=1")
	return c
}

// interruptWhen starts c, reads its stdout until a line for which ready
// holds, sends SIGINT, reads the rest and waits: the whole output, the time
// from the signal to the end, and Wait's error.
func interruptWhen(t *testing.T, c *exec.Cmd, ready func(line string) bool) (string, time.Duration, error) {
	t.Helper()
	stdout, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if ready(sc.Text()) {
			break
		}
	}
	start := time.Now()
	_ = c.Process.Signal(syscall.SIGINT)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err := c.Wait()
	return out.String(), time.Since(start), err
}

// kill -9 at random moments, 50 times: afterwards every sale that may have
// reached the host is approved in the journal or reversed at the host, and
// no STAN was used twice.
func TestTerminalKill9LosesNothing(t *testing.T) {
	// Answers come 0-15 ms late, so kills land before, during and after
	// the sale, its answer and its journal writes.
	h := faultHost(t, "delay:mti=0210,p=0.7,delay=15ms", "delay:mti=0810,p=0.5,delay=5ms")
	addr := h.Addr().String()
	j := filepath.Join(t.TempDir(), "kill.journal")
	rng := rand.New(rand.NewPCG(9, 9))
	ctx := context.Background()
	// Kills land at a random point of a run: after a random number of the
	// lines it prints (each line is a message sent or received, or the
	// outcome), plus a random few milliseconds — before the sign-on, with
	// the sale in flight, between the answer and its journal write...
	for range 50 {
		c := possimCmd(ctx, "terminal", "purchase", "--target", addr, "--journal", j, "--timeout", "300ms", "--reversal-backoff", "20ms")
		stdout, _ := c.StdoutPipe()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		lines := rng.IntN(10)
		sc := bufio.NewScanner(stdout)
		for n := 0; n < lines && sc.Scan(); n++ {
		}
		time.Sleep(time.Duration(rng.IntN(4000)) * time.Microsecond)
		_ = c.Process.Signal(syscall.SIGKILL)
		go func() { // drain, so the child never blocks on a full pipe
			for sc.Scan() {
			}
		}()
		_ = c.Wait()
	}
	// A run that is not killed sends what the killed ones left behind.
	code, out, errOut := runCmd("terminal", "saf", "flush", "--target", addr, "--journal", j)
	if code != 0 {
		t.Fatalf("saf flush: %d\n%s%s", code, out, errOut)
	}
	jr, err := terminal.OpenJournal(j)
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Close()
	recs, err := jr.Records(0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	use := func(stan, what string) {
		if stan == "" {
			return
		}
		if prev, dup := seen[stan]; dup {
			t.Errorf("STAN %s used twice: %s and %s", stan, prev, what)
		}
		seen[stan] = what
	}
	sales := 0
	for _, r := range recs {
		use(r.STAN, string(r.Kind))
		use(r.RevSTAN, "reversal of "+r.STAN)
		if r.Kind != terminal.Purchase {
			continue
		}
		sales++
		tx, atHost := h.Ledger().Lookup("POSSIM01", r.STAN)
		if !atHost || tx.State != host.Approved {
			continue // never charged, or reversed at the host
		}
		if r.Class != "approved" || r.RevState != terminal.RevNone {
			t.Errorf("sale STAN %s charged at the host but %q in the journal (reversal %q)", r.STAN, r.Class, r.RevState)
		}
	}
	if due, _ := jr.Due(); len(due) != 0 {
		t.Errorf("%d reversals still due after the flush", len(due))
	}
	if sales == 0 {
		t.Fatal("no sale ever journaled: the kills came too early")
	}
	t.Logf("%d sales journaled, host %+v", sales, h.Ledger().Counts())
}

// SIGINT during reversal retries: the terminal stops within a moment,
// keeps the reversal in the journal, says so, exits 130; the next run
// sends it and the host shows the sale reversed.
func TestTerminalSignalKeepsReversal(t *testing.T) {
	bad := faultHost(t, "drop:mti=0210", "drop:mti=0410")
	j := filepath.Join(t.TempDir(), "sig.journal")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := possimCmd(ctx, "terminal", "purchase", "--target", bad.Addr().String(), "--journal", j,
		"--timeout", "200ms", "--reversal-attempts", "5", "--reversal-backoff", "30s")
	// Interrupted once the first reversal is out: the next waits 30 s.
	out, took, err := interruptWhen(t, c, func(line string) bool { return strings.Contains(line, "terminal → host      0400") })
	if c.ProcessState.ExitCode() != 130 {
		t.Fatalf("exit %v (%v), output:\n%s", c.ProcessState.ExitCode(), err, out)
	}
	if took > 5*time.Second || !strings.Contains(out, "kept in the journal") {
		t.Fatalf("took %s, output:\n%s", took, out)
	}
	// The next run, against a host that answers, sends the stored reversal
	// first (store-and-forward at connect).
	jr, err := terminal.OpenJournal(j)
	if err != nil {
		t.Fatal(err)
	}
	due, _ := jr.Due()
	jr.Close()
	if len(due) != 1 || due[0].STAN != "000002" {
		t.Fatalf("journal after the signal: %d due", len(due))
	}
	bad.Close()
	good := faultHost(t)
	code, out2, _ := runCmd("terminal", "echo", "--target", good.Addr().String(), "--journal", j)
	if code != 0 || !strings.Contains(out2, "stored reversal") {
		t.Fatalf("next run: %d\n%s", code, out2)
	}
	if c := good.Ledger().Counts(); c.ReversalsReceived != 1 {
		t.Fatalf("good host: %+v", c)
	}
}

// --fault die acts on the financial request (not the sign-on before it);
// the journal keeps the armed reversal and the next run sends it.
func TestTerminalDieActsOnTheSale(t *testing.T) {
	h := faultHost(t)
	addr := h.Addr().String()
	j := filepath.Join(t.TempDir(), "die.journal")
	code, out, _ := runCmd("terminal", "purchase", "--target", addr, "--journal", j, "--fault", "die")
	if code != 1 || !strings.Contains(out, string(diagnose.TerminalDied)) || !strings.Contains(out, "0810") {
		t.Fatalf("die: %d\n%s", code, out)
	}
	waitForT(t, func() bool { _, ok := h.Ledger().Lookup("POSSIM01", "000002"); return ok })
	code, out, _ = runCmd("terminal", "saf", "flush", "--target", addr, "--journal", j)
	if code != 0 {
		t.Fatalf("flush: %d\n%s", code, out)
	}
	if tx, _ := h.Ledger().Lookup("POSSIM01", "000002"); tx.State != host.Reversed {
		t.Fatalf("the sale the terminal died on: %+v", tx)
	}
}

func waitForT(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
	}
}

// After a timeout the terminal lingers: the late 0210 is seen and
// classified late; -o json prints the one outcome model.
func TestTerminalLingersForTheLateAnswer(t *testing.T) {
	h := faultHost(t, "delay:mti=0210,delay=400ms")
	code, out, _ := runCmd("terminal", "purchase", "--journal", "none", "--target", h.Addr().String(), "--timeout", "150ms", "--linger", "3s")
	if code != 1 || !strings.Contains(out, "TIMEOUT REVERSED") || !strings.Contains(out, "late: an answer (rc=00)") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	code, out, _ = runCmd("terminal", "echo", "--journal", "none", "--target", h.Addr().String(), "-o", "json")
	if code != 0 || !strings.HasPrefix(out, `{"units":"ms","kind":"echo","class":"approved"`) {
		t.Fatalf("json: %d %s", code, out)
	}
}

// possim terminal run: transactions from stdin, each outcome as it ends,
// host-initiated echo answered, exit 0 at the end of the input.
func TestTerminalRunFromStdin(t *testing.T) {
	h := faultHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := possimCmd(ctx, "terminal", "run", "--target", h.Addr().String(), "--journal", filepath.Join(t.TempDir(), "run.journal"))
	stdin, _ := c.StdinPipe()
	stdout, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var out strings.Builder
	waitLine := func(sub string) {
		t.Helper()
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), sub) {
				return
			}
		}
		t.Fatalf("no %q in:\n%s", sub, out.String())
	}
	stdin.Write([]byte("purchase 12.34\n"))
	waitLine("purchase APPROVED")
	if n := h.SendNetwork("301", time.Second); n != 1 {
		t.Fatalf("host echo to %d links", n)
	}
	waitLine("0810") // the terminal's answer to the host's echo
	stdin.Write([]byte("balance\nvoid\nbogus\n"))
	waitLine("balance  APPROVED")
	waitLine("void     APPROVED")
	waitLine("unknown transaction")
	stdin.Close()
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

// After a timeout the terminal sends an echo test on the same link before
// it gives up: what it prints names the neighbour with its fix — the
// one-shot terminal and `terminal run` alike.
func TestTerminalProbesTheLinkAfterATimeout(t *testing.T) {
	cases := []struct {
		fault, cause, words, fix string
	}{
		{"blackhole:after=1", string(diagnose.NetworkBlackhole), "not one byte arrived", "fix: drop the link and reconnect after an unanswered echo test"},
		{"drop:mti=0210", string(diagnose.ResponseNeverSent), "its reversal on the same link was answered", "fix: the network and the host are fine"},
	}
	for _, c := range cases {
		h := faultHost(t, c.fault)
		code, out, errOut := runCmd("terminal", "purchase", "--journal", "none", "--target", h.Addr().String(),
			"--timeout", "300ms", "--reversal-attempts", "1", "--reversal-backoff", "10ms", "--linger", "0s")
		if code != 1 || !strings.Contains(out, "cause: "+c.cause) ||
			!strings.Contains(out, c.words) || !strings.Contains(out, c.fix) {
			t.Fatalf("%s: exit %d, output:\n%s%s", c.fault, code, out, errOut)
		}
	}
	h := faultHost(t, "blackhole:after=1")
	out, err := possimWithInput(t, "purchase 1.00\n", "terminal", "run", "--journal", "none", "--target", h.Addr().String(),
		"--timeout", "300ms", "--reversal-attempts", "1", "--reversal-backoff", "10ms")
	if !strings.Contains(out, "cause: "+string(diagnose.NetworkBlackhole)) || !strings.Contains(out, "not one byte arrived") {
		t.Fatalf("terminal run: %v, output:\n%s", err, out)
	}
}

// possimWithInput runs the possim command as a subprocess with input on its
// stdin (bounded by 20 s) and returns what it printed.
func possimWithInput(t *testing.T, input string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := possimCmd(ctx, args...)
	c.Stdin = strings.NewReader(input)
	out, err := c.CombinedOutput()
	return string(out), err
}

// The causes of the terminal's own side — its journal, the operator's
// interrupt, a void of a sale the host does not know — are named with
// their fix in what the terminal prints (real files, real TCP, a real
// signal to a subprocess).
func TestTerminalNamesItsOwnCauses(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.journal")
	if err := os.WriteFile(corrupt, []byte("not a journal at all, just bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	held := filepath.Join(dir, "held.journal")
	jr, err := terminal.OpenJournal(held)
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Close()
	h := faultHost(t)
	for _, c := range []struct {
		journal string
		cause   diagnose.ID
	}{
		{corrupt, diagnose.JournalCorrupt},
		{filepath.Join(notDir, "x.journal"), diagnose.JournalUnwritable},
		{held, diagnose.JournalLocked},
	} {
		code, out, errOut := runCmd("terminal", "echo", "--journal", c.journal, "--target", h.Addr().String())
		fix := diagnose.MustLookup(c.cause).Fix
		if code != 2 || !strings.Contains(errOut, "cause: "+string(c.cause)) || !strings.Contains(errOut, "fix: "+fix) {
			t.Fatalf("%s: exit %d, output:\n%s%s", c.cause, code, out, errOut)
		}
	}
	code, out, _ := runCmd("terminal", "void", "--rrn", "000000000999", "--journal", "none", "--target", h.Addr().String())
	if code != 1 || !strings.Contains(out, "cause: "+string(diagnose.VoidUnknownOriginal)) ||
		!strings.Contains(out, "fix: "+diagnose.MustLookup(diagnose.VoidUnknownOriginal).Fix) {
		t.Fatalf("void of an unknown RRN: exit %d\n%s", code, out)
	}

	// SIGINT while the terminal waits to retry a refused connect.
	refused := testkit.Refused(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := possimCmd(ctx, "terminal", "echo", "--journal", "none", "--target", refused, "--connect-attempts", "20")
	// Interrupted once the header is out: it is connecting (and retrying).
	got, _, _ := interruptWhen(t, cmd, func(line string) bool { return strings.HasPrefix(line, "terminal POSSIM01") })
	if cmd.ProcessState.ExitCode() != 130 || !strings.Contains(got, "cause: "+string(diagnose.TerminalInterrupted)) ||
		!strings.Contains(got, "fix: ") {
		t.Fatalf("interrupted: exit %d\n%s", cmd.ProcessState.ExitCode(), got)
	}
}
