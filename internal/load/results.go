package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// ResultsFormat names the format of a results file (--results FILE), so
// that a reader can tell one from any other JSON.
const ResultsFormat = "possim-results/1"

// Results is one run (or several merged) as a results file keeps it: the
// report with its series, the whole-run histograms, and what the producer
// added (simulate's description of the simulation).
type Results struct {
	Report *Report
	// Latency, Service, SendLag are the whole-run histograms (µs).
	Latency, Service, SendLag *hdrhistogram.Histogram
	// Segment is "I/N" for one segment of a distributed run, "" otherwise.
	Segment string
	// Simulation is what the producer adds, kept as it was written; a
	// merge keeps one per input in Parts.
	Simulation json.RawMessage
	// Parts names the inputs of a merge (file and segment), in order.
	Parts []string
}

type resultsFile struct {
	Format     string            `json:"format"`
	Units      map[string]string `json:"units"`
	Segment    string            `json:"segment,omitempty"`
	Parts      []string          `json:"parts,omitempty"`
	Report     *Report           `json:"report"`
	HDR        PointHDR          `json:"hdr"`
	Simulation json.RawMessage   `json:"simulation,omitempty"`
}

// NewResults wraps a finished report (its histograms included).
func NewResults(rep *Report, segment string, simulation any) (*Results, error) {
	res := &Results{Report: rep, Segment: segment}
	res.Latency, res.Service, res.SendLag = rep.Histograms()
	if res.Latency == nil {
		return nil, errors.New("results: the report has no histograms (it was not made by a run)")
	}
	if simulation != nil {
		b, err := json.Marshal(simulation)
		if err != nil {
			return nil, err
		}
		res.Simulation = b
	}
	return res, nil
}

// Write writes the results as one JSON document.
func (r *Results) Write(w io.Writer) error {
	f := resultsFile{Format: ResultsFormat, Units: Units, Segment: r.Segment, Parts: r.Parts, Report: r.Report,
		HDR:        PointHDR{Latency: encodeHist(r.Latency), Service: encodeHist(r.Service), SendLag: encodeHist(r.SendLag)},
		Simulation: r.Simulation}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(f)
}

// WriteFile writes the results to path (created or truncated).
func (r *Results) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// ReadResults reads a results file written by Write. Errors name the file
// and say what is wrong with it.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f resultsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a possim results file: %v", path, err)
	}
	if f.Format != ResultsFormat {
		return nil, fmt.Errorf("%s: format %q, want %q (write one with possim simulate --results FILE)", path, f.Format, ResultsFormat)
	}
	if f.Report == nil {
		return nil, fmt.Errorf("%s: no report in the results file", path)
	}
	res := &Results{Report: f.Report, Segment: f.Segment, Simulation: f.Simulation, Parts: f.Parts}
	for _, h := range []struct {
		name string
		enc  string
		dst  **hdrhistogram.Histogram
	}{{"latency", f.HDR.Latency, &res.Latency}, {"service", f.HDR.Service, &res.Service}, {"send_lag", f.HDR.SendLag, &res.SendLag}} {
		if *h.dst, err = decodeHist(h.enc); err != nil {
			return nil, fmt.Errorf("%s: hdr.%s: %v", path, h.name, err)
		}
	}
	for i := range res.Report.Series {
		if hd := res.Report.Series[i].HDR; hd != nil {
			for _, e := range []string{hd.Latency, hd.Service, hd.SendLag} {
				if _, err := decodeHist(e); err != nil {
					return nil, fmt.Errorf("%s: series[%d].hdr: %v", path, i, err)
				}
			}
		}
	}
	res.Report.hist = &Metrics{Start: res.Report.StartedAt, Latency: res.Latency, Service: res.Service, SendLag: res.SendLag}
	if len(res.Parts) == 0 {
		part := path
		if res.Segment != "" {
			part += " (segment " + res.Segment + ")"
		}
		res.Parts = []string{part}
	}
	return res, nil
}

// decodeHist decodes an encoded histogram; "" is an empty one. A
// malformed encoding is an error, never a panic.
func decodeHist(enc string) (h *hdrhistogram.Histogram, err error) {
	if enc == "" {
		return NewHistogram(), nil
	}
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("malformed histogram encoding (%v)", p)
		}
	}()
	d, err := hdrhistogram.Decode([]byte(enc))
	if err != nil {
		return nil, fmt.Errorf("malformed histogram encoding: %v", err)
	}
	// Re-home the values in a histogram of the package's range so that
	// merges never drop values.
	h = NewHistogram()
	h.Merge(d)
	return h, nil
}

// addCounts adds p's counters into rep (MergeResults).
func addCounts(rep, p *Report) {
	rep.Requests += p.Requests
	rep.Outcomes.Add(&p.Outcomes)
	rep.LateSends += p.LateSends
	rep.MaxInFlight += p.MaxInFlight
	rep.Reversals.Sent += p.Reversals.Sent
	rep.Reversals.Acked += p.Reversals.Acked
	rep.Reversals.Stored += p.Reversals.Stored
	rep.Reversals.FromStore += p.Reversals.FromStore
	rep.Reversals.Pending += p.Reversals.Pending
	rep.LateResponses += p.LateResponses
	rep.UnmatchedResponses += p.UnmatchedResponses
	for k, v := range p.Faults {
		if rep.Faults == nil {
			rep.Faults = map[string]int64{}
		}
		rep.Faults[k] += v
	}
}

// addTables adds p's per-RC, per-type and per-cause rows into the maps
// MergeResults turns into sorted tables at the end.
func addTables(p *Report, rcs map[string]*RCCount, types map[string]*TxTypeCount, causes map[string]int64, examples map[string]string) {
	for _, c := range p.ResponseCodes {
		if rcs[c.RC] == nil {
			rcs[c.RC] = &RCCount{RC: c.RC, Meaning: c.Meaning}
		}
		rcs[c.RC].Count += c.Count
	}
	for _, t := range p.TxTypes {
		if types[t.Type] == nil {
			types[t.Type] = &TxTypeCount{Type: t.Type}
		}
		types[t.Type].Requests += t.Requests
		types[t.Type].Outcomes.Add(&t.Outcomes)
	}
	for _, c := range p.Causes {
		causes[c.Cause] += c.Count
		if examples[c.Cause] == "" {
			examples[c.Cause] = c.Example
		}
	}
}

// MergeResults merges runs (segments of one distributed run, or runs to
// compare as one): histograms merged, counts added, series aligned on
// wall time (points whose intervals start in the same wall-clock interval
// are one point). The merged schedule spans from the earliest start to the
// latest end.
func MergeResults(rs ...*Results) (*Results, error) {
	if len(rs) == 0 {
		return nil, errors.New("merge: no results")
	}
	if len(rs) == 1 {
		return rs[0], nil
	}
	out := &Results{Latency: NewHistogram(), Service: NewHistogram(), SendLag: NewHistogram()}
	m := NewMetrics(time.Time{})
	rep := &Report{ResponseCodes: []RCCount{}, TxTypes: []TxTypeCount{}, Series: []SeriesPoint{}}
	var start, endSched, endRun time.Time
	rcs := map[string]*RCCount{}
	types := map[string]*TxTypeCount{}
	causes, examples := map[string]int64{}, map[string]string{}
	seeds := map[int64]bool{}
	interval := time.Duration(0)
	lateAfter := int64(0)
	for i, r := range rs {
		p := r.Report
		if i == 0 || p.StartedAt.Before(start) {
			start = p.StartedAt
		}
		if e := p.StartedAt.Add(p.Duration); e.After(endSched) {
			endSched = e
		}
		if e := p.StartedAt.Add(p.Elapsed); e.After(endRun) {
			endRun = e
		}
		for _, h := range []struct{ into, from *hdrhistogram.Histogram }{{out.Latency, r.Latency}, {out.Service, r.Service}, {out.SendLag, r.SendLag}} {
			if h.from != nil {
				h.into.Merge(h.from)
			}
		}
		addCounts(rep, p)
		if lateAfter >= 0 && p.LateAfterDrain >= 0 {
			lateAfter += p.LateAfterDrain
		} else {
			lateAfter = -1
		}
		addTables(p, rcs, types, causes, examples)
		seeds[p.Seed] = true
		part := fmt.Sprintf("part %d", i+1)
		if i < len(rs) && len(r.Parts) > 0 {
			part = strings.Join(r.Parts, ", ")
		}
		out.Parts = append(out.Parts, r.Parts...)
		for _, n := range p.Notes {
			rep.Notes = append(rep.Notes, "["+part+"] "+n)
		}
		if interval == 0 || (p.Interval > 0 && p.Interval < interval) {
			interval = p.Interval
		}
	}
	if interval <= 0 {
		interval = time.Second
	}
	rep.StartedAt = start
	rep.Duration = endSched.Sub(start)
	rep.Elapsed = endRun.Sub(start)
	rep.Interval = interval
	rep.LateAfterDrain = lateAfter
	if len(seeds) == 1 {
		for s := range seeds {
			rep.Seed = s
		}
	} else {
		var l []string
		for s := range seeds {
			l = append(l, fmt.Sprint(s))
		}
		sort.Strings(l)
		rep.Notes = append(rep.Notes, "merged runs with different seeds: "+strings.Join(l, ", ")+" (the report's seed is 0)")
	}
	for _, c := range rcs {
		rep.ResponseCodes = append(rep.ResponseCodes, *c)
	}
	sort.Slice(rep.ResponseCodes, func(i, j int) bool { return rep.ResponseCodes[i].RC < rep.ResponseCodes[j].RC })
	for _, t := range types {
		rep.TxTypes = append(rep.TxTypes, *t)
	}
	sort.Slice(rep.TxTypes, func(i, j int) bool { return rep.TxTypes[i].Type < rep.TxTypes[j].Type })
	rep.Causes = causeList(causes, examples)
	rep.Latency, rep.ServiceTime, rep.SendLag = Stats(out.Latency), Stats(out.Service), Stats(out.SendLag)
	if rep.Duration > 0 {
		rep.OfferedRate = float64(rep.Requests) / rep.Duration.Seconds()
	}
	if rep.Elapsed > 0 {
		rep.Throughput = float64(rep.Outcomes.Answered()) / rep.Elapsed.Seconds()
	}
	rep.SuccessRatio = rep.ratio(rep.Outcomes.Answered())
	series, approx := mergeSeries(rs, start, interval)
	rep.Series = series
	if approx {
		rep.Notes = append(rep.Notes, "some series points had no histograms: their merged percentiles are the largest of the parts' (an upper bound)")
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("merged from %d results: %s", len(rs), strings.Join(out.Parts, "; ")))
	m.Start, m.Latency, m.Service, m.SendLag = start, out.Latency, out.Service, out.SendLag
	rep.hist = m
	out.Report = rep
	return out, nil
}

// mergeSeries aligns the points of several runs on wall time.
func mergeSeries(rs []*Results, start time.Time, interval time.Duration) ([]SeriesPoint, bool) {
	type acc struct {
		p             SeriesPoint
		lat, svc, lag *hdrhistogram.Histogram
		missing       bool
	}
	byKey := map[int64]*acc{}
	approx := false
	for _, r := range rs {
		for _, p := range r.Report.Series {
			k := p.At.Sub(start).Round(time.Millisecond) / interval
			a := byKey[int64(k)]
			if a == nil {
				a = &acc{p: SeriesPoint{At: start.Add(time.Duration(k) * interval), From: time.Duration(k) * interval, Causes: map[string]int64{}},
					lat: NewHistogram(), svc: NewHistogram(), lag: NewHistogram()}
				byKey[int64(k)] = a
			}
			a.p.Length = max(a.p.Length, p.Length)
			a.p.Offered += p.Offered
			a.p.InFlight += p.InFlight
			a.p.Outcomes.Add(&p.Outcomes)
			a.p.Late += p.Late
			for c, n := range p.Causes {
				a.p.Causes[c] += n
			}
			if p.HDR == nil {
				a.missing = true
				a.p.Latency = maxStats(a.p.Latency, p.Latency)
				a.p.Service = maxStats(a.p.Service, p.Service)
				a.p.SendLag = maxStats(a.p.SendLag, p.SendLag)
				continue
			}
			for _, h := range []struct {
				into *hdrhistogram.Histogram
				enc  string
			}{{a.lat, p.HDR.Latency}, {a.svc, p.HDR.Service}, {a.lag, p.HDR.SendLag}} {
				if d, err := decodeHist(h.enc); err == nil {
					h.into.Merge(d)
				}
			}
		}
	}
	keys := make([]int64, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := make([]SeriesPoint, 0, len(keys))
	for _, k := range keys {
		a := byKey[k]
		if a.missing {
			approx = true
		} else {
			a.p.Latency, a.p.Service, a.p.SendLag = pointStats(a.lat), pointStats(a.svc), pointStats(a.lag)
			a.p.HDR = &PointHDR{Latency: encodeHist(a.lat), Service: encodeHist(a.svc), SendLag: encodeHist(a.lag)}
		}
		out = append(out, a.p)
	}
	return out, approx
}

func maxStats(a, b PointStats) PointStats {
	return PointStats{Count: a.Count + b.Count, P50: max(a.P50, b.P50), P99: max(a.P99, b.P99), Max: max(a.Max, b.Max)}
}
