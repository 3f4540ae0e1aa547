package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/possim/possim/internal/load"
)

// mixedTarget approves most, declines every 10th (RC 51) and fails every
// 25th with a cause.
type mixedTarget struct{}

func (mixedTarget) Begin(tx *load.Tx) {
	now := time.Now()
	c := load.Completion{Outcome: load.Approved, RC: load.MakeRC("00"), TxType: "purchase", Sent: now, Done: now.Add(300 * time.Microsecond)}
	switch {
	case tx.Seq%25 == 0:
		c = load.Completion{Outcome: load.LinkFailed, TxType: "purchase", Cause: "link.reset", Sent: now, Done: now.Add(time.Millisecond)}
	case tx.Seq%10 == 0:
		c.Outcome, c.RC = load.Declined, load.MakeRC("51")
	}
	tx.Done(c)
}

func scrape(t *testing.T, url string, format expfmt.Format) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", string(format))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	out := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode %s: %v", url, err)
		}
		out[mf.GetName()] = &mf
	}
	return out
}

func byLabel(t *testing.T, mf *dto.MetricFamily, label string) map[string]*dto.Metric {
	t.Helper()
	if mf == nil {
		t.Fatalf("metric family missing")
	}
	out := map[string]*dto.Metric{}
	for _, m := range mf.Metric {
		for _, l := range m.Label {
			if l.GetName() == label {
				out[l.GetValue()] = m
			}
		}
	}
	return out
}

// A run's windows feed the metrics; a scrape over HTTP sees the same
// counts as the run's report, latency as a native histogram.
func TestLoadMetricsScraped(t *testing.T) {
	m := NewLoad()
	srv, err := Serve("127.0.0.1:0", m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	m.SetLinks(4, 3)
	m.SetFaults(map[string]int64{"drop#1": 2})
	m.SetFaults(map[string]int64{"drop#1": 5})
	r, err := load.NewRunner(load.RunConfig{Pacer: load.ConstantPacer{Rate: 2000, Duration: 500 * time.Millisecond}, Target: mixedTarget{},
		StatusInterval: 100 * time.Millisecond, OnWindow: m.Window})
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Run(context.Background())
	url := fmt.Sprintf("http://%s/metrics", srv.Addr())

	text := scrape(t, url, expfmt.NewFormat(expfmt.TypeTextPlain))
	tx := byLabel(t, text["possim_transactions_total"], "outcome")
	for _, o := range []load.Outcome{load.Approved, load.Declined, load.LinkFailed, load.NotSent} {
		if got := tx[o.String()].GetCounter().GetValue(); int64(got) != rep.Outcomes[o] {
			t.Errorf("possim_transactions_total{outcome=%q} = %v, report %d", o, got, rep.Outcomes[o])
		}
	}
	rc := byLabel(t, text["possim_responses_total"], "rc")
	if rc["51"].GetCounter().GetValue() != float64(rep.Outcomes[load.Declined]) || rc["00"].GetCounter().GetValue() != float64(rep.Outcomes[load.Approved]) {
		t.Errorf("responses by rc: 00 %v 51 %v; report %v", rc["00"].GetCounter().GetValue(), rc["51"].GetCounter().GetValue(), rep.Outcomes)
	}
	if c := byLabel(t, text["possim_errors_total"], "cause"); c["link.reset"].GetCounter().GetValue() != float64(rep.Outcomes[load.LinkFailed]) {
		t.Errorf("errors by cause: %v", c)
	}
	if f := byLabel(t, text["possim_faults_fired_total"], "fault"); f["drop#1"].GetCounter().GetValue() != 5 {
		t.Errorf("faults fired: %v", f)
	}
	if l := byLabel(t, text["possim_links"], "state"); l["up"].GetGauge().GetValue() != 3 || l["configured"].GetGauge().GetValue() != 4 {
		t.Errorf("links: %v", l)
	}
	if text["possim_in_flight"] == nil {
		t.Error("no possim_in_flight")
	}

	// Native histograms travel in the protobuf exposition only.
	pb := scrape(t, url, expfmt.NewFormat(expfmt.TypeProtoDelim))
	lat := byLabel(t, pb["possim_latency_seconds"], "clock")
	h := lat["intended"].GetHistogram()
	if h == nil || int64(h.GetSampleCount()) != rep.Latency.Count {
		t.Fatalf("latency histogram: %v, report count %d", h, rep.Latency.Count)
	}
	if len(h.GetPositiveSpan()) == 0 || h.GetSchema() == 0 && h.GetZeroThreshold() == 0 {
		t.Errorf("latency is not a native histogram: schema %d, spans %v", h.GetSchema(), h.GetPositiveSpan())
	}
	if s := lat["service"].GetHistogram(); s == nil || s.GetSampleSum() <= 0 {
		t.Errorf("service histogram: %v", s)
	}
	if _, ok := lat["send_lag"]; !ok {
		t.Error("no send_lag clock")
	}
}

func TestServeBadAddress(t *testing.T) {
	if _, err := Serve("9464", NewLoad().Registry); err == nil {
		t.Error("no error for an address without a port separator")
	}
}
