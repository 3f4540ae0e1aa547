package load

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds a headless-capable browser, or "" (the test skips).
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// The HTML report opens in a real browser, and its plots render: each SVG
// has a size and lines with points, the tables have their rows.
func TestHTMLReportRendersInABrowser(t *testing.T) {
	browser := chromium()
	if browser == "" {
		t.Skip("no chromium binary found (apt-get install chromium): the browser check of the HTML report is skipped")
	}
	r, err := NewRunner(RunConfig{Pacer: ConstantPacer{Rate: 2000, Duration: 1200 * time.Millisecond}, Target: instantTarget{},
		StatusInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Run(context.Background())
	res, err := NewResults(rep, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Flag("headless", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	type seen struct {
		Plots       int     `json:"plots"`
		MinWidth    float64 `json:"minWidth"`
		Lines       int     `json:"lines"`
		MinPoints   int     `json:"minPoints"`
		OutcomeRows int     `json:"outcomeRows"`
		Title       string  `json:"title"`
	}
	js := `(() => {
	  const svgs = [...document.querySelectorAll("svg.plot")];
	  const lines = [...document.querySelectorAll("svg.plot polyline.line")];
	  return {
	    plots: svgs.length,
	    minWidth: Math.min(...svgs.map(s => s.getBoundingClientRect().width)),
	    lines: lines.length,
	    minPoints: Math.min(...lines.map(l => l.points.numberOfItems)),
	    outcomeRows: document.querySelectorAll("#outcomes tr").length,
	    title: document.title,
	  };
	})()`
	u := url.URL{Scheme: "file", Path: path}
	if _, err := chromedp.Run(ctx, chromedp.Navigate(u.String())); err != nil {
		t.Fatalf("chromium (%s): open %s: %v", browser, u.String(), err)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible("#percentiles")); err != nil {
		t.Fatalf("chromium: the percentile plot never showed: %v", err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[seen](js))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Logf("browser saw %+v", got)
	if got.Plots != 3 || got.MinWidth < 100 {
		t.Errorf("%d plots rendered (narrowest %.0f px), want 3", got.Plots, got.MinWidth)
	}
	// latency over time: 4 lines, percentiles: 3, rate: 3.
	if got.Lines != 10 || got.MinPoints < 2 {
		t.Errorf("%d plot lines, the shortest with %d points; want 10 lines of at least 2 points", got.Lines, got.MinPoints)
	}
	if got.OutcomeRows != NumOutcomes+1 {
		t.Errorf("outcome table has %d rows, want %d", got.OutcomeRows, NumOutcomes+1)
	}
}
