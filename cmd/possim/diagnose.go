package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register("diagnose", "name the cause and the fix: probe a live host, or read a capture (pcap) or trace", runDiagnose)
}

const diagnoseSynopsis = `diagnose --target HOST:PORT [flags] | --pcap FILE [--port N] | --trace FILE

A doctor for ISO 8583 links. Every check prints ✓ / ✗ / - (skipped); every
✗ names its cause from possim's catalogue, with the fix.

--target probes a live host. It is read-only by default: it sends echo tests
(0800, 70 = 301) and one sign-on (70 = 001, as TID --tid; skip it with
--no-sign-on, since a real host issues new working keys at a sign-on). It
  - resolves the name and connects (refused / timed out / no route / reset);
  - detects the framing and dialect: an echo test in the configured framing
    first, then in every other one possim speaks (binary2, bcd2, ascii4
    length headers; with and without a TPDU; iso87ascii and iso87bin) until
    one is answered, saying how the others failed;
  - signs on; with --tmk checks the working keys' KCVs and every answer's MAC;
  - measures echo round trips (--echoes N: min / median / p99 / jitter);
  - with --financial sends one test purchase (1.00, a test card) and its
    reversal, checking the echoed fields;
  - with --idle D keeps the link idle for D, then sends an echo: a firewall
    or NAT that silently drops idle sessions (half-open) is named. Three
    more links opened at the same time are echoed after D/4, D/2 and 3D/4
    idle, so the report brackets how long an idle link survives ("survived
    30 s idle, dead at 45 s") and the echo interval to set below it.
Every step is bounded by --connect-timeout / --timeout; the run ends by itself.

--pcap reads a capture (pcap or pcapng, e.g. from tcpdump, tshark or possim
--pcap) and --trace a possim --trace file, and reports per TCP stream a
ladder (time, direction, MTI, STAN, RC, latency) and findings.

Exit status: 0 all checks passed, 1 a problem was found, 2 bad flags.

Examples:
  possim diagnose --target 127.0.0.1:8583
  possim diagnose --target host.example:5000 --dialect iso87bin --tmk 0123456789ABCDEFFEDCBA9876543210 --financial
  possim diagnose --target 10.0.0.5:8583 --idle 5m --output json
  possim diagnose --pcap capture.pcapng --port 8583
  possim diagnose --trace run.jsonl`

func runDiagnose(args []string, stdout, stderr io.Writer) int {
	const cmd = "diagnose"
	fs := newFlags(cmd, diagnoseSynopsis, stderr)
	fs.Usage = func() {
		w := stderr
		for _, a := range args {
			if a == "-h" || a == "--help" {
				w = stdout
			}
		}
		fmt.Fprintf(w, "Usage: possim %s\n\nFlags:\n%s", diagnoseSynopsis, fs.FlagUsages())
	}
	target := fs.String("target", "", "probe the live host at HOST:PORT")
	pcapFile := fs.String("pcap", "", "diagnose the capture FILE (pcap or pcapng)")
	traceFile := fs.String("trace", "", "diagnose the possim trace FILE (JSON lines of link events)")
	port := fs.Int("port", 0, "--pcap: the host's TCP port (default: every TCP stream that carries ISO 8583)")
	var df dialectFlags
	df.add(fs)
	var sf securityFlags
	sf.add(fs, false)
	var tf tlsFlags
	tf.add(fs, false)
	tid := fs.String("tid", "PROBE001", "--target: terminal id (field 41) of the probe's messages")
	noSignOn := fs.Bool("no-sign-on", false, "--target: do not sign on")
	echoes := fs.Int("echoes", 5, "--target: echo tests for the round-trip statistics")
	financial := fs.Bool("financial", false, "--target: send one test purchase (1.00) and its reversal")
	idle := fs.Duration("idle", 0, "--target: keep the link idle this long, then echo (half-open detection)")
	connectTimeout := fs.Duration("connect-timeout", 3*time.Second, "--target: bound of each TCP connect")
	timeout := fs.Duration("timeout", 3*time.Second, "--target: bound of each answer")
	allFramings := fs.Bool("all-framings", false, "--target: try every framing even when the configured one works")
	slow := fs.Duration("slow", diagnose.SlowRTT, "echo round trip from which the network is called slow")
	output := fs.String("output", "text", "report format: text or json")
	listCauses := fs.Bool("causes", false, "list the cause catalogue (id, family, checklist item, fix) and exit")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if *listCauses {
		return printCauses(stdout, *output)
	}
	if given(*target, *pcapFile, *traceFile) != 1 {
		return usageErr(stderr, cmd, "give exactly one of --target, --pcap, --trace")
	}
	if *output != "text" && *output != "json" {
		return usageErr(stderr, cmd, "--output %q: want text or json", *output)
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, cmd, "unexpected argument %q", fs.Arg(0))
	}
	dl, match, err := df.build()
	if err != nil {
		return usageErr(stderr, cmd, "%v", err)
	}
	tmk, alg, pad, err := sf.parse()
	if err != nil {
		return usageErr(stderr, cmd, "%v", err)
	}
	if err := checkProbeFlags(*echoes, *port, *tid, *timeout, *connectTimeout, *idle, *slow); err != nil {
		return usageErr(stderr, cmd, "%v", err)
	}
	dialectGiven := fs.Changed("dialect") || fs.Changed("length-header") || fs.Changed("tpdu") || fs.Changed("header")

	var rep *diagnose.Report
	switch {
	case *target != "":
		if !strings.Contains(*target, ":") {
			return usageErr(stderr, cmd, "--target %q: want HOST:PORT", *target)
		}
		tlsCfg, err := tf.client(*target)
		if err != nil {
			return usageErr(stderr, cmd, "%v", err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		rep = diagnose.Probe(ctx, diagnose.ProbeConfig{Target: *target, Dialect: dl, Match: match, Dial: tlsDial(tlsCfg),
			ConnectTimeout: *connectTimeout, Timeout: *timeout, AllFramings: *allFramings, TID: fmt.Sprintf("%-8s", *tid),
			SignOn: !*noSignOn, TMK: tmk, MACAlg: alg, MACPad: pad, Echoes: *echoes, Financial: *financial,
			Idle: *idle, SlowRTT: *slow})
	case *pcapFile != "":
		var d *iso.Dialect
		if dialectGiven {
			d = dl
		}
		rep, err = diagnose.AnalyzeCaptureFile(*pcapFile, diagnose.CaptureConfig{Port: *port, Dialect: d, Match: match, TMK: tmk, MACAlg: alg, MACPad: pad})
		if err != nil {
			fmt.Fprintf(stderr, "possim diagnose: %v\n", err)
			return 2
		}
	default:
		rep, err = diagnose.AnalyzeTraceFile(*traceFile)
		if err != nil {
			fmt.Fprintf(stderr, "possim diagnose: %v\n", err)
			return 2
		}
	}
	return writeReport(rep, *output, stdout, stderr)
}

// given counts the non-empty strings (the modes asked for).
func given(s ...string) int {
	n := 0
	for _, v := range s {
		if v != "" {
			n++
		}
	}
	return n
}

// checkProbeFlags checks the numbers of the --target and --pcap flags.
func checkProbeFlags(echoes, port int, tid string, timeout, connectTimeout, idle, slow time.Duration) error {
	switch {
	case echoes < 1 || echoes > 10000:
		return fmt.Errorf("--echoes %d: want 1..10000", echoes)
	case timeout <= 0 || connectTimeout <= 0 || idle < 0 || slow <= 0:
		return errors.New("--timeout, --connect-timeout and --slow must be positive, --idle not negative")
	case iso.CheckTID(tid) != nil:
		return fmt.Errorf("--tid %q: %v", tid, iso.CheckTID(tid))
	case port < 0 || port > 65535:
		return fmt.Errorf("--port %d: want 1..65535", port)
	}
	return nil
}

// writeReport prints rep as text or JSON; exit 1 when a check failed.
func writeReport(rep *diagnose.Report, output string, stdout, stderr io.Writer) int {
	var err error
	if output == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "possim diagnose: %v\n", err)
		return 1
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

// printCauses lists the catalogue.
func printCauses(w io.Writer, output string) int {
	all := diagnose.All()
	if output == "json" {
		out := make([]map[string]string, 0, len(all))
		for _, c := range all {
			out = append(out, map[string]string{"id": string(c.ID), "family": string(c.Family), "title": c.Title,
				"merchant": c.Merchant, "engineer": c.Engineer, "evidence": c.Evidence, "fix": c.Fix,
				"checklist": string(c.Checklist), "checklist_note": c.ChecklistNote})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return 1
		}
		return 0
	}
	fam := diagnose.Family("")
	for _, c := range all {
		if c.Family != fam {
			fam = c.Family
			fmt.Fprintf(w, "\n%s\n", fam)
		}
		check := string(c.Checklist)
		if check == "" {
			check = "-"
		}
		fmt.Fprintf(w, "  %-32s %-15s %s\n  %-32s %-15s fix: %s\n", c.ID, check, c.Title, "", "", c.Fix)
	}
	return 0
}
