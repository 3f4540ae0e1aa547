package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/internal/sim"
	"github.com/possim/possim/internal/testkit/hostkit"
)

func simRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"simulate"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSimulateJSONReportAndThresholdsMet(t *testing.T) {
	hdr := filepath.Join(t.TempDir(), "lat.hlog")
	code, out, errs := simRun(t, "--tps", "400", "--duration", "500ms", "--terminals", "20", "--links", "2",
		"--mix", "purchase=80,balance=10,refund=10", "--seed", "42", "--output", "json", "--quiet",
		"--threshold", "p99<5s", "--threshold", "timeout_rate<0.01", "--hdr-log", hdr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	var rep struct {
		Units       map[string]string `json:"units"`
		Seed        int64             `json:"seed,string"`
		Series      []map[string]any  `json:"series"`
		Requests    int64             `json:"requests"`
		OfferedRate float64           `json:"offered_rate"`
		Outcomes    map[string]int64  `json:"outcomes"`
		Latency     map[string]any    `json:"latency"`
		Service     map[string]any    `json:"service_time"`
		TxTypes     []struct {
			Type     string `json:"type"`
			Requests int64  `json:"requests"`
		} `json:"tx_types"`
		Thresholds []sim.ThresholdResult `json:"thresholds"`
		Simulation sim.Extra             `json:"simulation"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Seed != 42 || rep.Requests != 200 || rep.Outcomes["approved"] != 200 || rep.OfferedRate != 400 {
		t.Errorf("report %+v", rep)
	}
	if rep.Latency["p99"] == nil || rep.Service["p50"] == nil || rep.Units["durations"] != "ms" {
		t.Errorf("latency %v service %v units %v", rep.Latency, rep.Service, rep.Units)
	}
	if len(rep.Series) == 0 || rep.Series[0]["latency"] == nil || rep.Series[0]["hdr"] != nil {
		t.Errorf("series %v: want points with latency and no encoded histograms", rep.Series)
	}
	if len(rep.TxTypes) != 3 || len(rep.Thresholds) != 2 || !rep.Thresholds[0].OK || !rep.Thresholds[1].OK {
		t.Errorf("types %+v thresholds %+v", rep.TxTypes, rep.Thresholds)
	}
	if s := rep.Simulation; s.Terminals != 20 || s.Links != 2 || s.Host == nil || s.Host.Approved != 200 {
		t.Errorf("simulation %+v", s)
	}
	b, err := os.ReadFile(hdr)
	if err != nil || !strings.Contains(string(b), "HIST") {
		t.Errorf("hdr log: %v\n%s", err, b)
	}
}

func TestSimulateStatusLineAndTextReport(t *testing.T) {
	code, out, errs := simRun(t, "--stages", "0s:100,1100ms:300", "--terminals", "3", "--seed", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"Requests", "Latency", "Service time", "Outcomes", "approved", "Seed          [value]", "host ledger"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "[    1s] offered") || !strings.Contains(errs, "3 terminals on 2 links") {
		t.Errorf("stderr:\n%s", errs)
	}
}

func TestSimulateThresholdNotMetExits1(t *testing.T) {
	code, out, errs := simRun(t, "--tps", "200", "--duration", "200ms", "--quiet", "--threshold", "p50<1us", "--threshold", "tps>0")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "threshold p50<1us not met") || strings.Contains(errs, "tps>0 not met") {
		t.Errorf("stderr: %s", errs)
	}
	if !strings.Contains(out, "FAILED") {
		t.Errorf("report:\n%s", out)
	}
}

func TestSimulateTargetRefusedExits1(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	code, _, errs := simRun(t, "--tps", "10", "--duration", "100ms", "--target", addr, "--quiet")
	if code != 1 || !strings.Contains(errs, "connect refused") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestSimulateWithFault(t *testing.T) {
	code, out, errs := simRun(t, "--tps", "200", "--duration", "250ms", "--quiet", "--seed", "5", "--timeout", "100ms",
		"--reversal-backoff", "10ms", "--fault", "drop:mti=0210,nth=10,name=lose10th")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "Faults fired") || !strings.Contains(out, "lose10th") || !strings.Contains(out, "timeout_reversed          1 ") {
		t.Errorf("report:\n%s", out)
	}
}

func TestSimulateBadFlagsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "give the load"},
		{[]string{"--tps", "0"}, "--tps 0"},
		{[]string{"--tps", "-5"}, "--tps -5"},
		{[]string{"--tps", "10", "--duration", "0s"}, "--duration"},
		{[]string{"--tps", "10", "--stages", "0s:1,1s:1"}, "--stages replaces"},
		{[]string{"--stages", "1s:10,2s:10"}, "first stage must be at 0s"},
		{[]string{"--tps", "10", "--mix", "void=1"}, "not a load transaction type"},
		{[]string{"--tps", "10", "--terminals", "0"}, "--terminals"},
		{[]string{"--tps", "10", "--terminals", "2", "--links", "3"}, "--links 3"},
		{[]string{"--tps", "10", "--max-inflight", "0"}, "--max-inflight"},
		{[]string{"--tps", "10", "--output", "xml"}, "--output"},
		{[]string{"--tps", "10", "--threshold", "p99<"}, "missing value"},
		{[]string{"--tps", "10", "--threshold", "p42<1ms"}, "unknown metric"},
		{[]string{"--tps", "10", "--dialect", "nope"}, "unknown dialect"},
		{[]string{"--tps", "10", "--fault", "nope"}, "--fault"},
		{[]string{"--tps", "10", "--fault", "die"}, "not yet supported"},
		{[]string{"--tps", "10", "--target", "127.0.0.1:1", "--fault", "crash:down=1s"}, "needs the embedded host"},
		{[]string{"--tps", "10", "--amount", "1.234"}, "--amount"},
		{[]string{"--tps", "10", "--bogus"}, "unknown flag"},
		{[]string{"--tps", "10", "extra"}, "unexpected argument"},
		{[]string{"--tps", "10", "--target", "127.0.0.1:1", "--host-rules", "x.yaml"}, "--host-rules"},
	} {
		code, _, errs := simRun(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q (want 2 and %q)", tc.args, code, errs, tc.want)
		}
	}
	if code, out, _ := simRun(t, "--help"); code != 0 {
		t.Errorf("--help: exit %d %s", code, out)
	}
}

const simTMK = "0123456789ABCDEFFEDCBA9876543210"

// simJSON runs simulate with --output json and returns the report's
// outcomes and simulation section.
func simJSON(t *testing.T, args ...string) (map[string]int64, sim.Extra) {
	t.Helper()
	code, out, errs := simRun(t, append(args, "--output", "json", "--quiet")...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	var rep struct {
		Outcomes   map[string]int64 `json:"outcomes"`
		Simulation sim.Extra        `json:"simulation"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return rep.Outcomes, rep.Simulation
}

func TestSimulateWithMAC(t *testing.T) {
	t.Setenv("POSSIM_TMK", "")
	outcomes, s := simJSON(t, "--tps", "400", "--duration", "500ms", "--terminals", "8", "--links", "2",
		"--mix", "purchase=80,balance=10,refund=10", "--seed", "3", "--tmk", simTMK, "--mac-alg", "x9.19")
	if outcomes["approved"] != 200 {
		t.Errorf("outcomes %v", outcomes)
	}
	if !strings.Contains(s.MAC, "MACs on: iso9797-1-alg3") || !strings.Contains(s.Target, "MACs on") ||
		s.HostMACFailures == nil || *s.HostMACFailures != 0 || s.Host == nil || s.Host.Approved != 200 {
		t.Errorf("simulation %+v (host MAC failures %v)", s, s.HostMACFailures)
	}
	if strings.Contains(s.Target, simTMK) || strings.Contains(s.MAC, simTMK) {
		t.Errorf("the TMK is printed: %+v", s)
	}
}

func TestSimulateWithMACBadMACReversed(t *testing.T) {
	t.Setenv("POSSIM_TMK", "")
	outcomes, s := simJSON(t, "--tps", "200", "--duration", "250ms", "--terminals", "4", "--seed", "5", "--tmk", simTMK,
		"--reversal-backoff", "10ms", "--fault", "bad-mac:mti=0210,count=1")
	if outcomes["approved"] != 49 || outcomes["timeout_reversed"] != 1 {
		t.Errorf("outcomes %v, want 49 approved and 1 timeout_reversed", outcomes)
	}
	if s.HostMACFailures == nil || *s.HostMACFailures != 0 || s.Host == nil || s.Host.Reversed != 1 {
		t.Errorf("simulation %+v", s)
	}
}

func TestSimulateWithMACTarget(t *testing.T) {
	t.Setenv("POSSIM_TMK", "")
	tmk, err := mac.ParseHexKey(simTMK)
	if err != nil {
		t.Fatal(err)
	}
	h := hostkit.Start(t, host.Config{Security: &host.Security{TMK: tmk}})
	outcomes, s := simJSON(t, "--tps", "200", "--duration", "250ms", "--terminals", "5", "--target", h.Addr().String(), "--tmk", simTMK)
	if outcomes["approved"] != 50 || s.Host != nil || s.HostMACFailures != nil || !strings.Contains(s.MAC, "MACs on") {
		t.Errorf("outcomes %v simulation %+v", outcomes, s)
	}
	if n := h.MACFailures(); n != 0 || h.Ledger().Counts().Approved != 50 {
		t.Errorf("host: %d MAC failures, ledger %+v", n, h.Ledger().Counts())
	}
	// Without --tmk the fleet sends no MAC: the host refuses every request.
	outcomes, _ = simJSON(t, "--tps", "100", "--duration", "100ms", "--terminals", "2", "--target", h.Addr().String())
	if outcomes["approved"] != 0 {
		t.Errorf("without --tmk: outcomes %v", outcomes)
	}
}

func TestSimulateMACFlagsExit2(t *testing.T) {
	t.Setenv("POSSIM_TMK", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tps", "10", "--mac-alg", "cmac"}, "needs --tmk"},
		{[]string{"--tps", "10", "--tmk", "0123"}, "--tmk"},
		{[]string{"--tps", "10", "--tmk", simTMK, "--mac-alg", "md5"}, "--mac-alg"},
		{[]string{"--tps", "10", "--tmk", simTMK, "--no-signon"}, "--no-signon"},
		{[]string{"--tps", "10", "--tmk", simTMK, "--mac-rc", "6"}, "--mac-rc"},
		{[]string{"--tps", "10", "--tmk", simTMK, "--mac-rc", "96", "--target", "127.0.0.1:1"}, "--mac-rc"},
	} {
		code, _, errs := simRun(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q (want 2 and %q)", tc.args, code, errs, tc.want)
		}
	}
}
