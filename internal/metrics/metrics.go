// Package metrics serves live Prometheus metrics of a possim process
// (simulate's load metrics in this file; the host's in host.go).
//
// Names follow the Prometheus conventions: a possim_ prefix, base units
// (seconds), _total for counters, one metric per quantity with labels for
// its dimensions:
//
//	possim_transactions_total{outcome}      transactions decided, by outcome
//	possim_responses_total{rc}              answered transactions, by ISO 8583 response code
//	possim_errors_total{cause}              failed transactions, by cause id
//	possim_faults_fired_total{fault}        faults carried out, by rule label
//	possim_in_flight                        transactions started and not decided
//	possim_links{state="up"|"configured"}   the load generator's links
//	possim_latency_seconds{clock}           intended (from the intended time), service (from the write), send_lag
//
// Latency is a native histogram (exponential buckets, factor 1.1) with
// classic buckets beside it for scrapers without native histogram support.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/possim/possim/internal/load"
)

// Load is the metrics of one load run, fed from the runner's per-interval
// windows (load.RunConfig.OnWindow): nothing is done per transaction on
// the hot path.
type Load struct {
	Registry *prometheus.Registry

	tx       *prometheus.CounterVec
	rc       *prometheus.CounterVec
	cause    *prometheus.CounterVec
	faults   *prometheus.CounterVec
	inFlight prometheus.Gauge
	links    *prometheus.GaugeVec
	latency  *prometheus.HistogramVec

	mu        sync.Mutex
	lastFault map[string]int64
}

// NewLoad registers the load metrics on a new registry (with the Go and
// process collectors).
func NewLoad() *Load {
	reg := prometheus.NewRegistry()
	m := &Load{
		Registry: reg,
		tx: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "possim_transactions_total",
			Help: "Transactions decided, by outcome."}, []string{"outcome"}),
		rc: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "possim_responses_total",
			Help: "Answered transactions, by ISO 8583 response code (field 39)."}, []string{"rc"}),
		cause: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "possim_errors_total",
			Help: "Transactions not answered in time, by cause id."}, []string{"cause"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "possim_faults_fired_total",
			Help: "Faults carried out, by fault rule."}, []string{"fault"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "possim_in_flight",
			Help: "Transactions started and not yet decided."}),
		links: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "possim_links",
			Help: "Links of the load generator: configured, and up now."}, []string{"state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "possim_latency_seconds",
			Help:                        "Transaction latency by clock: intended (intended time to outcome), service (write to outcome), send_lag (intended time to write).",
			Buckets:                     prometheus.ExponentialBucketsRange(50e-6, 30, 24),
			NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 160, NativeHistogramMinResetDuration: time.Hour},
			[]string{"clock"}),
		lastFault: map[string]int64{},
	}
	reg.MustRegister(m.tx, m.rc, m.cause, m.faults, m.inFlight, m.links, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for i := range load.NumOutcomes {
		m.tx.WithLabelValues(load.Outcome(i).String()) // every outcome present from the start, at 0
	}
	return m
}

// Window adds one interval of the run (call it from load.RunConfig.OnWindow).
func (m *Load) Window(w *load.Window) {
	for i, n := range w.Outcomes {
		if n > 0 {
			m.tx.WithLabelValues(load.Outcome(i).String()).Add(float64(n))
		}
	}
	for rc, n := range w.RC {
		m.rc.WithLabelValues(rc).Add(float64(n))
	}
	for c, n := range w.Causes {
		m.cause.WithLabelValues(c).Add(float64(n))
	}
	observe(m.latency.WithLabelValues("intended"), w.Latency)
	observe(m.latency.WithLabelValues("service"), w.Service)
	observe(m.latency.WithLabelValues("send_lag"), w.SendLag)
}

// observe replays an HDR histogram (µs) into a Prometheus histogram: one
// Observe per recorded value, at the value of its HDR bucket.
func observe(o prometheus.Observer, h *hdrhistogram.Histogram) {
	if h == nil || h.TotalCount() == 0 {
		return
	}
	for _, b := range h.Distribution() {
		v := float64(b.From+b.To) / 2 / 1e6
		for range b.Count {
			o.Observe(v)
		}
	}
}

// SetInFlight, SetLinks and SetFaults set the gauges and the fault
// counters (totals so far, by rule label) from their owners.
func (m *Load) SetInFlight(n int) { m.inFlight.Set(float64(n)) }

// SetLinks sets the number of links configured and up.
func (m *Load) SetLinks(configured, up int) {
	m.links.WithLabelValues("configured").Set(float64(configured))
	m.links.WithLabelValues("up").Set(float64(up))
}

// SetFaults brings the fault counters up to the given totals.
func (m *Load) SetFaults(totals map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range totals {
		if d := v - m.lastFault[k]; d > 0 {
			m.faults.WithLabelValues(k).Add(float64(d))
			m.lastFault[k] = v
		}
	}
}

// Server serves a registry on /metrics.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Serve listens on addr (host:port; an empty host means 127.0.0.1, as
// every possim default, not every interface) and serves reg on /metrics
// in the background.
func Serve(addr string, reg *prometheus.Registry) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %q: want HOST:PORT, e.g. 127.0.0.1:9464 or :9464", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") == "" {
			http.Redirect(w, r, "/metrics", http.StatusFound)
			return
		}
		http.NotFound(w, r)
	})
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server (within a second for scrapes in progress).
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return s.srv.Close()
	}
	return nil
}
