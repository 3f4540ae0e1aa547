package sim_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/load"
	"github.com/possim/possim/internal/sim"
	"github.com/possim/possim/internal/testkit"
	"github.com/possim/possim/terminal"
)

var ascii, _ = iso.Lookup("iso87ascii")

func config(t *testing.T, faults ...string) sim.Config {
	t.Helper()
	rules, err := fault.ParseSpecs(faults)
	if err != nil {
		t.Fatal(err)
	}
	ths, err := load.ParseThresholds([]string{"timeout_rate<0.01"})
	if err != nil {
		t.Fatal(err)
	}
	return sim.Config{
		Fleet:      terminal.FleetConfig{Dialect: ascii, Terminals: 4, Links: 2, Seed: 7, Timeout: 2 * time.Second, SignOn: true},
		Run:        load.RunConfig{Pacer: load.ConstantPacer{Rate: 200, Duration: 250 * time.Millisecond}, MaxInFlight: 100, Drain: 2 * time.Second},
		Thresholds: ths, Faults: rules, Seed: 7,
	}
}

// The embedded host answers the fleet over real TCP, the faults act at its
// end (it approves, the fault turns each answer into a decline); the report
// carries what the host's ledger saw, the capture and observer hooks see every
// link, and the faults' counts are in the report.
func TestEmbeddedHostFleetFaultsReport(t *testing.T) {
	cfg := config(t, "rc:mti=0210,p=1,rc=05")
	var wrapped, events atomic.Int64
	cfg.Capture = func(c net.Conn) net.Conn { wrapped.Add(1); return c }
	cfg.Observe = func(target string, next func(link.Event)) func(link.Event) {
		if !strings.HasPrefix(target, "127.0.0.1:") {
			t.Errorf("observer for %q, want the embedded host", target)
		}
		return func(e link.Event) {
			events.Add(1)
			if next != nil {
				next(e)
			}
		}
	}
	var status bytes.Buffer
	cfg.Status = &status
	cfg.Describe = "test schedule"
	res, err := sim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	if rep.Requests != 50 || rep.Outcomes[load.Declined] != 50 {
		t.Fatalf("requests %d declined %d, want 50, declined by the fault on the answers: %+v", rep.Requests, rep.Outcomes[load.Declined], rep.Outcomes)
	}
	if res.Extra.Host == nil || res.Extra.Host.Approved != 50 || res.Extra.Terminals != 4 || res.Extra.Links != 2 {
		t.Fatalf("extra %+v host %+v", res.Extra, res.Extra.Host)
	}
	if len(rep.Faults) == 0 {
		t.Fatalf("no fault counts: %+v", rep.Faults)
	}
	if res.CheckErr != nil || res.Failed != 0 || len(res.Thresholds) != 1 || !res.Thresholds[0].OK {
		t.Fatalf("check %v thresholds %+v", res.CheckErr, res.Thresholds)
	}
	if wrapped.Load() != 2 || events.Load() == 0 {
		t.Fatalf("capture wrapped %d connections (want 2), observer saw %d events", wrapped.Load(), events.Load())
	}
	if !strings.Contains(status.String(), "test schedule → embedded host 127.0.0.1:") {
		t.Fatalf("status %q", status.String())
	}
}

// A fault the embedded host cannot build is a configuration error, and an
// unreachable target is not.
func TestErrorsSayWhoseFault(t *testing.T) {
	cfg := config(t)
	cfg.Faults = []fault.Rule{{Type: "nosuchfault"}}
	if _, err := sim.Run(context.Background(), cfg); err == nil || !sim.IsConfigError(err) {
		t.Fatalf("bad fault: %v, want a ConfigError", err)
	}
	addr := testkit.Refused(t)
	cfg = config(t)
	cfg.Fleet.Target = addr
	cfg.Fleet.ConnectTimeout = time.Second
	_, err := sim.Run(context.Background(), cfg)
	if err == nil || sim.IsConfigError(err) || !strings.Contains(err.Error(), "cannot connect the fleet") {
		t.Fatalf("refused target: %v", err)
	}
}
