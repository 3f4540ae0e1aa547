package metrics

import (
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// Host is the metrics of a running host, fed from its link events
// (host.Config.Observer): what it received and answered, how long an
// answer took inside the host, what it could not read and which faults it
// carried out.
//
//	possim_host_requests_total{mti}          requests received, by MTI
//	possim_host_responses_total{mti,rc}      answers sent, by MTI and response code
//	possim_host_bad_frames_total             frames or messages that could not be read
//	possim_host_unmatched_total              responses from a peer that matched nothing
//	possim_faults_fired_total{fault}         faults carried out, by rule label
//	possim_host_links                        links open now
//	possim_host_links_closed_total           links that ended
//	possim_host_service_seconds              request read → answer queued, inside the host
//
// Labels stay bounded: MTIs are 4 digits the codec accepted, RCs the
// host's own answers, fault labels the configured rules' names.
type Host struct {
	Registry *prometheus.Registry

	requests  *prometheus.CounterVec
	responses *prometheus.CounterVec
	bad       prometheus.Counter
	unmatched prometheus.Counter
	faults    *prometheus.CounterVec
	closed    prometheus.Counter
	service   prometheus.Histogram

	// pending holds when each request was read, per link and key, until
	// its answer is queued: the host answers on the link it read from.
	mu      sync.Mutex
	pending map[pendingKey]time.Time
}

type pendingKey struct {
	l   *link.Link
	key string
}

// maxPending bounds the requests waiting for an answer that are tracked
// (a host told to drop every answer must not grow this map forever).
const maxPending = 100_000

// NewHost registers the host metrics on a new registry (with the Go and
// process collectors). openLinks reports the links open now.
func NewHost(openLinks func() int) *Host {
	reg := prometheus.NewRegistry()
	m := &Host{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "possim_host_requests_total",
			Help: "Requests received by the host, by MTI."}, []string{"mti"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "possim_host_responses_total",
			Help: "Answers sent by the host, by MTI and ISO 8583 response code (field 39)."}, []string{"mti", "rc"}),
		bad: prometheus.NewCounter(prometheus.CounterOpts{Name: "possim_host_bad_frames_total",
			Help: "Frames or messages the host could not read."}),
		unmatched: prometheus.NewCounter(prometheus.CounterOpts{Name: "possim_host_unmatched_total",
			Help: "Responses from a peer that matched no request of the host."}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "possim_faults_fired_total",
			Help: "Faults carried out, by fault rule."}, []string{"fault"}),
		closed: prometheus.NewCounter(prometheus.CounterOpts{Name: "possim_host_links_closed_total",
			Help: "Links of the host that ended."}),
		service: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "possim_host_service_seconds",
			Help:                        "Time inside the host from a request read to its answer queued.",
			Buckets:                     prometheus.ExponentialBucketsRange(5e-6, 10, 24),
			NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 160, NativeHistogramMinResetDuration: time.Hour}),
		pending: map[pendingKey]time.Time{},
	}
	links := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "possim_host_links",
		Help: "Links of the host open now."}, func() float64 { return float64(openLinks()) })
	reg.MustRegister(m.requests, m.responses, m.bad, m.unmatched, m.faults, m.closed, m.service, links,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe counts one link event of the host. It chains: next (may be nil)
// is called after, so the metrics sit beside a transcript or a capture.
func (m *Host) Observe(next func(*link.Link, link.Event)) func(*link.Link, link.Event) {
	return func(l *link.Link, e link.Event) {
		m.event(l, e)
		if next != nil {
			next(l, e)
		}
	}
}

func (m *Host) event(l *link.Link, e link.Event) {
	switch e.Kind {
	case link.EvReceived:
		mti := mtiOf(e.Msg)
		if !isRequest(mti) {
			return
		}
		m.requests.WithLabelValues(mti).Inc()
		m.mu.Lock()
		if len(m.pending) < maxPending {
			m.pending[pendingKey{l, keyOf(e.Msg)}] = e.Time
		}
		m.mu.Unlock()
	case link.EvSent:
		mti := mtiOf(e.Msg)
		if isRequest(mti) || mti == "" {
			return
		}
		m.responses.WithLabelValues(mti, iso.Get(e.Msg, 39)).Inc()
		k := pendingKey{l, keyOf(e.Msg)}
		m.mu.Lock()
		at, ok := m.pending[k]
		delete(m.pending, k)
		m.mu.Unlock()
		if ok && !e.Time.Before(at) {
			m.service.Observe(e.Time.Sub(at).Seconds())
		}
	case link.EvBadMessage:
		m.bad.Inc()
	case link.EvUnmatched, link.EvLate, link.EvDuplicate:
		m.unmatched.Inc()
	case link.EvFault:
		for _, f := range strings.Split(e.Detail, ", ") {
			// "decline-once (RC 00→05)": the rule's label, without what
			// this firing did, keeps the label set that of the rules.
			f, _, _ = strings.Cut(f, " (")
			if f != "" {
				m.faults.WithLabelValues(f).Inc()
			}
		}
	case link.EvDown:
		m.closed.Inc()
		m.mu.Lock()
		for k := range m.pending {
			if k.l == l {
				delete(m.pending, k)
			}
		}
		m.mu.Unlock()
	}
}

func mtiOf(msg *iso8583.Message) string {
	if msg == nil {
		return ""
	}
	mti, err := msg.GetMTI()
	if err != nil || len(mti) != 4 {
		return ""
	}
	return mti
}

// isRequest: the third digit of an MTI is its function; even is a request
// or advice (0200, 0220, 0400, 0800), odd its answer.
func isRequest(mti string) bool {
	return len(mti) == 4 && (mti[2]-'0')%2 == 0
}

// keyOf pairs a request with its answer the way a POS host does: STAN and
// terminal id, which the answer echoes.
func keyOf(msg *iso8583.Message) string {
	return iso.Get(msg, 11) + "/" + iso.Get(msg, 41)
}
