package load

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// WriteHTML renders the results as one self-contained HTML page: no
// script, no stylesheet or font from elsewhere. The plots are inline SVG
// drawn here (latency over time for the three clocks, the percentile
// distribution, offered vs achieved rate) — a few dozen lines instead of
// a charting library, because the page must open offline and from a CI
// artifact.
func (r *Results) WriteHTML(w io.Writer) error {
	rep := r.Report
	var text strings.Builder
	_ = rep.WithoutHDR().WriteText(&text)
	pct := func(n int64) string {
		if rep.Requests == 0 {
			return "0.00%"
		}
		return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(rep.Requests))
	}
	type row struct{ Name, Count, Share, Extra string }
	var outcomes, causes, rcs, types []row
	for i, n := range rep.Outcomes {
		outcomes = append(outcomes, row{Outcome(i).String(), fmt.Sprint(n), pct(n), ""})
	}
	for _, c := range rep.Causes {
		causes = append(causes, row{c.Cause, fmt.Sprint(c.Count), pct(c.Count), ""})
	}
	for _, c := range rep.ResponseCodes {
		rcs = append(rcs, row{c.RC, fmt.Sprint(c.Count), pct(c.Count), c.Meaning})
	}
	for _, t := range rep.TxTypes {
		types = append(types, row{t.Type, fmt.Sprint(t.Requests), pct(t.Requests), ""})
	}
	clocks := []row{
		{"latency (intended time → outcome)", fmtStats(rep.Latency), "", ""},
		{"service time (write → outcome)", fmtStats(rep.ServiceTime), "", ""},
		{"send lag (intended time → write)", fmtStats(rep.SendLag), "", ""},
	}
	data := map[string]any{
		"Title":    fmt.Sprintf("possim run %s", rep.StartedAt.UTC().Format("2006-01-02 15:04:05 MST")),
		"Summary":  fmt.Sprintf("%d requests, %.1f/s offered, %.1f/s answered, %.2f%% success; schedule %s, elapsed %s", rep.Requests, rep.OfferedRate, rep.Throughput, 100*rep.SuccessRatio, rep.Duration.Round(time.Millisecond), rep.Elapsed.Round(time.Millisecond)),
		"Parts":    r.Parts,
		"Clocks":   clocks,
		"Outcomes": outcomes, "Causes": causes, "RCs": rcs, "Types": types,
		"Notes":       rep.Notes,
		"LatencyPlot": template.HTML(latencyOverTime(rep.Series)),
		"DistPlot":    template.HTML(percentilePlot(r.Latency, r.Service, r.SendLag)),
		"RatePlot":    template.HTML(rateOverTime(rep.Series)),
		"Text":        text.String(),
	}
	return htmlPage.Execute(w, data)
}

func fmtStats(l LatencyStats) string {
	if l.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("p50 %s · p90 %s · p99 %s · p99.9 %s · max %s", fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.P999), fmtDur(l.Max))
}

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
svg{background:#fafafa;border:1px solid #ddd}pre{background:#f4f4f4;padding:1em;overflow:auto;font-size:12px}
</style></head><body>
<h1>{{.Title}}</h1>
<p id="summary">{{.Summary}}</p>
{{if .Parts}}<p>Results: {{range $i, $p := .Parts}}{{if $i}}; {{end}}{{$p}}{{end}}</p>{{end}}
<h2>Clocks</h2>
<table id="clocks">{{range .Clocks}}<tr><th>{{.Name}}</th><td>{{.Count}}</td></tr>{{end}}</table>
<h2>Latency over time</h2>
{{.LatencyPlot}}
<h2>Percentile distribution</h2>
{{.DistPlot}}
<h2>Rate over time</h2>
{{.RatePlot}}
<h2>Outcomes</h2>
<table id="outcomes"><tr><th>outcome</th><th>count</th><th>share</th></tr>{{range .Outcomes}}<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td></tr>{{end}}</table>
<h2>Errors by cause</h2>
{{if .Causes}}<table id="causes"><tr><th>cause</th><th>count</th><th>share</th></tr>{{range .Causes}}<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td></tr>{{end}}</table>{{else}}<p id="causes">none</p>{{end}}
<h2>Response codes</h2>
<table id="rcs"><tr><th>RC</th><th>count</th><th>share</th><th>meaning</th></tr>{{range .RCs}}<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td><td>{{.Extra}}</td></tr>{{end}}</table>
<h2>Transaction types</h2>
<table id="types"><tr><th>type</th><th>count</th><th>share</th></tr>{{range .Types}}<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td></tr>{{end}}</table>
{{if .Notes}}<h2>Notes</h2><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Full report</h2>
<pre>{{.Text}}</pre>
</body></html>
`))

// A line of a plot: points in data units.
type plotLine struct {
	name, color string
	xs, ys      []float64
}

// plot draws lines on linear axes (y from 0), or with xTicks given, at
// those x positions with those labels.
func plot(id, xLabel, yLabel string, lines []plotLine, xTicks []float64, xTickLabels []string) string {
	const W, H, L, R, T, B = 900.0, 300.0, 70.0, 20.0, 20.0, 45.0
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	n := 0
	for _, l := range lines {
		for i := range l.xs {
			xmin, xmax, ymax = math.Min(xmin, l.xs[i]), math.Max(xmax, l.xs[i]), math.Max(ymax, l.ys[i])
			n++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="plot" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`, id, W, H, W, H)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">no data</text></svg>`, W/2-30, H/2)
		return b.String()
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	if ymax <= 0 {
		ymax = 1
	}
	ymax = niceCeil(ymax)
	px := func(x float64) float64 { return L + (x-xmin)/(xmax-xmin)*(W-L-R) }
	py := func(y float64) float64 { return H - B - y/ymax*(H-T-B) }
	fmt.Fprintf(&b, `<g stroke="#bbb" stroke-width="1"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/></g>`,
		L, H-B, W-R, H-B, L, T, L, H-B)
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="end">%s</text><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`,
			L-5, py(y)+4, trimFloat(y), L, py(y), W-R, py(y))
	}
	if xTicks == nil {
		for i := 0; i <= 5; i++ {
			x := xmin + (xmax-xmin)*float64(i)/5
			xTicks = append(xTicks, x)
			xTickLabels = append(xTickLabels, trimFloat(x))
		}
	}
	for i, x := range xTicks {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`, px(x), H-B+15, xTickLabels[i])
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle">%s</text>`, (L+W-R)/2, H-8, template.HTMLEscapeString(xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.1f" font-size="12" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`, (T+H-B)/2, (T+H-B)/2, template.HTMLEscapeString(yLabel))
	for k, l := range lines {
		if len(l.xs) == 0 {
			continue
		}
		var pts strings.Builder
		for i := range l.xs {
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(l.xs[i]), py(l.ys[i]))
		}
		fmt.Fprintf(&b, `<polyline class="line" data-name="%s" fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, template.HTMLEscapeString(l.name), l.color, strings.TrimSpace(pts.String()))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f" font-size="11">%s</text>`,
			L+10+float64(k)*170, T-2, l.color, L+24+float64(k)*170, T+7, template.HTMLEscapeString(l.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if math.Abs(v) >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func latencyOverTime(series []SeriesPoint) string {
	lines := []plotLine{{name: "latency p50", color: "#1f77b4"}, {name: "latency p99", color: "#d62728"},
		{name: "service time p99", color: "#2ca02c"}, {name: "send lag p99", color: "#9467bd"}}
	for _, p := range series {
		if p.Latency.Count == 0 {
			continue
		}
		x := p.From.Seconds()
		for i, v := range []time.Duration{p.Latency.P50, p.Latency.P99, p.Service.P99, p.SendLag.P99} {
			lines[i].xs = append(lines[i].xs, x)
			lines[i].ys = append(lines[i].ys, ms(v))
		}
	}
	return plot("latency-over-time", "seconds from the start", "ms", lines, nil, nil)
}

func rateOverTime(series []SeriesPoint) string {
	lines := []plotLine{{name: "offered /s", color: "#7f7f7f"}, {name: "achieved /s", color: "#1f77b4"}, {name: "errors /s", color: "#d62728"}}
	for _, p := range series {
		x := p.From.Seconds()
		for i, v := range []float64{p.OfferedRate(), p.Achieved(), perSecond(p.Outcomes.Errors(), p.Length)} {
			lines[i].xs = append(lines[i].xs, x)
			lines[i].ys = append(lines[i].ys, v)
		}
	}
	return plot("rate-over-time", "seconds from the start", "transactions per second", lines, nil, nil)
}

// percentilePlot is the classic HdrHistogram percentile distribution: x
// is log10(1/(1−q)), so 90, 99, 99.9 % are evenly spaced.
func percentilePlot(lat, svc, lag *hdrhistogram.Histogram) string {
	const maxX = 5 // 99.999 %
	lines := []plotLine{{name: "latency", color: "#d62728"}, {name: "service time", color: "#2ca02c"}, {name: "send lag", color: "#9467bd"}}
	for i, h := range []*hdrhistogram.Histogram{lat, svc, lag} {
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		for x := 0.0; x <= maxX+1e-9; x += 0.05 {
			q := 100 * (1 - math.Pow(10, -x))
			lines[i].xs = append(lines[i].xs, x)
			lines[i].ys = append(lines[i].ys, float64(h.ValueAtQuantile(q))/1000)
		}
	}
	ticks := []float64{0, 1, 2, 3, 4, 5}
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"}
	return plot("percentiles", "percentile", "ms", lines, ticks, labels)
}
