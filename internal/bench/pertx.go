package bench

import (
	"context"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/terminal"
)

// PerTx is an open-loop run with one new connection per transaction
// ("possim simulate --connection per-tx"), the way GPRS/4G terminals work.
type PerTx struct {
	Open
	// ConnsPerSec are the new connections per second the fleet opened
	// (each carried one transaction and was closed after its answer).
	ConnsPerSec float64
}

// PerTxRun starts an embedded host and a fleet of terminals in per-tx mode,
// warms up, and runs rate/s for d.
func PerTxRun(terminals int, rate float64, d time.Duration) (PerTx, error) {
	dl := Dialect()
	h, err := host.New(host.Config{Listen: "127.0.0.1:0", Dialect: dl, MaxConns: 10000})
	if err != nil {
		return PerTx{}, err
	}
	if err := h.Start(); err != nil {
		return PerTx{}, err
	}
	defer h.Close()
	f, err := terminal.NewFleet(terminal.FleetConfig{Target: h.Addr().String(), Dialect: dl, Terminals: terminals, SignOn: true,
		PerTx: true, Timeout: 10 * time.Second})
	if err != nil {
		return PerTx{}, err
	}
	defer f.Close()
	if err := f.Connect(context.Background()); err != nil {
		return PerTx{}, err
	}
	p := &Pipeline{Host: h, Fleet: f}
	RunOpen(p, rate, min(d/5, time.Second)) // warm up
	before := f.Stats().PerTxConnections
	t0 := time.Now()
	o := RunOpen(p, rate, d)
	el := time.Since(t0)
	return PerTx{Open: o, ConnsPerSec: float64(f.Stats().PerTxConnections-before) / el.Seconds()}, nil
}
