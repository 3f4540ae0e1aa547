package studio

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium headless through the page, as
// a trainer would. They skip, saying so, when no chromium is installed
// (.ci/run installs it). Screenshots go to testdata/out (gitignored); with
// POSSIM_STUDIO_SCREENSHOT=PATH the scenario's last screen is also written
// there (the README's docs/studio.png).

func chromiumPath() string {
	if p := os.Getenv("POSSIM_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

type browser struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no chromium binary found (apt-get install chromium, or set POSSIM_CHROMIUM): the studio's browser tests are skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1600, 1250), chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 60*time.Second+streamFor())
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	b := &browser{t: t, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// until polls a JavaScript condition in the page.
func (b *browser) until(what, js string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(30*time.Second)))
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func streamFor() time.Duration {
	d, _ := time.ParseDuration(os.Getenv("POSSIM_STUDIO_STREAM_FOR"))
	return d
}

func outDir(t *testing.T) string {
	d := filepath.Join("testdata", "out")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func (b *browser) shot(name string) []byte {
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return nil
	}
	p := filepath.Join(outDir(b.t), name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
	b.t.Logf("screenshot: %s", p)
	return buf
}

func (b *browser) noConsoleErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("browser console: %s", e)
	}
}

// TestBrowserTrainerSession: open the page, send a purchase, see its
// arrows and the merchant's screen; press a fault button and see the next
// purchase fail with its cause; open a message's masked details; play a
// library scenario with step and pause to its verdict.
func TestBrowserTrainerSession(t *testing.T) {
	b := newBrowser(t)
	sv := start(t, "tok3n")
	b.do("open the page", chromedp.Navigate(sv.URL()))
	b.until("the stream is live", `document.querySelector('#conn.ok') !== null && document.querySelectorAll('#modes button').length > 10`)

	// A purchase: two arrows and APPROVED.
	b.do("send a purchase", chromedp.Click("#send"))
	b.until("the merchant sees APPROVED", `document.getElementById('screen-l1').textContent === 'APPROVED'`)
	b.until("the 0200 and 0210 arrows", `document.querySelector('.row.msg.delivered[data-mti="0200"]') && document.querySelector('.row.msg.delivered[data-mti="0210"]')`)
	if got := b.eval(`document.querySelector('.row.msg[data-mti="0210"] .lbl2').textContent`); !strings.Contains(got, "RC 00 approved") || !strings.Contains(got, "ms") {
		t.Errorf("the 0210's arrow says %q, want its RC in words and its latency", got)
	}
	b.shot("1-approved")

	// The response-lost button: the next purchase times out and reverses.
	b.do("press the response-lost fault button", chromedp.Click(`#modes button[data-mode="response-lost"]`))
	b.until("the fault is listed as active", `[...document.querySelectorAll('#active li')].some(li => li.textContent.includes('lost-0210'))`)
	b.do("send a purchase", chromedp.Click("#send"))
	b.until("the merchant sees NO RESPONSE — REVERSING", `document.getElementById('screen-l1').textContent === 'NO RESPONSE — REVERSING'`)
	b.until("the diagnosis names the cause and the fix", `(() => { const f = document.querySelector('#failures .failure[data-cause="response.never_sent"]'); return f && f.textContent.includes('never answered') && f.textContent.includes('fix'); })()`)
	b.until("the lost 0210 stops halfway, marked with its fault", `(() => { const r = document.querySelector('.row.msg.lost[data-mti="0210"]'); return r && r.textContent.includes('LOST') && r.textContent.includes('lost-0210') && r.querySelector('.arrow.cut'); })()`)
	b.until("the reversal follows", `document.querySelector('.row.msg.delivered[data-mti="0410"]') !== null`)
	b.shot("2-response-lost")

	// A message's details: masked fields and masked hex.
	b.do("open the 0200", chromedp.Click(`.row.msg[data-mti="0200"]`))
	b.until("its fields and hex show", `document.querySelector('#detail:not([hidden]) pre.hex') !== null`)
	detail := b.eval(`document.getElementById('detail-body').textContent`)
	if !strings.Contains(detail, "476173******0010") || !strings.Contains(detail, "**") || strings.Contains(detail, "4761739001010010") {
		t.Errorf("message details are not masked as they should be:\n%s", detail)
	}
	b.shot("3-message-details")
	b.do("close the details", chromedp.KeyEvent("\x1b"))
	b.until("the details close", `document.getElementById('detail').hidden`)

	// The fault goes off from the active list.
	b.do("switch the fault off", chromedp.Click(`#active li[data-side="host"] button`))
	b.until("no fault is active", `document.querySelector('#active li[data-id]') === null`)

	// Any fault type, with its attributes, from the form.
	b.do("switch on a delay from the form", chromedp.Evaluate[chromedp.Void](`document.getElementById('custom').open = true`),
		chromedp.SetValue("#cf-side", "host"), chromedp.SetValue("#cf-type", "delay"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('cf-type').dispatchEvent(new Event('change'))`),
		chromedp.SetValue(`#cf-attrs [data-attr="delay"]`, "20ms"), chromedp.SetValue("#cf-mti", "0210"), chromedp.SetValue("#cf-count", "1"),
		chromedp.Click(`#customfault button[type="submit"]`))
	b.until("the delay is active", `[...document.querySelectorAll('#active li')].some(li => li.textContent.includes('delay:mti=0210,count=1,delay=20ms'))`)
	b.do("switch it off", chromedp.Click(`#active li[data-side="host"] button`))
	b.until("no fault is active again", `document.querySelector('#active li[data-id]') === null`)

	// A library scenario, one step at a time, then played to the end.
	b.do("pick late-response", chromedp.SetValue("#scenario", "late-response"), chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	b.do("step (n)", chromedp.KeyEvent("n"))
	b.until("step 1 ran, the run holds before step 2", `(() => { const li = document.querySelectorAll('#sc-steps li'); return li.length > 2 && li[0].classList.contains('done') && li[1].classList.contains('next'); })()`)
	b.until("step 1's expectation is ticked", `document.querySelector('#sc-expect li.met') !== null`)
	if got := b.eval(`document.getElementById('sc-notes').textContent`); !strings.Contains(got, "MERCHANT SEES") {
		t.Errorf("trainer notes: %q", got)
	}
	b.until("the late answer arrives after the reversal", `(() => { const rows = [...document.querySelectorAll('#ladder .row')]; const rev = rows.findIndex(r => r.dataset.mti === '0410'); const late = rows.findIndex(r => r.classList.contains('late') && r.dataset.mti === '0210'); return rev >= 0 && late > rev; })()`)
	b.do("play (space)", chromedp.KeyEvent(" "))
	b.until("the scenario passes, every expectation ticked", `document.getElementById('sc-status').textContent.includes('PASS') && document.querySelectorAll('#sc-expect li.met').length === document.querySelectorAll('#sc-expect li').length`)
	b.do("show the merchant's screen", chromedp.Evaluate[chromedp.Void](`document.getElementById('custom').open = false; document.querySelector('aside').scrollTop = 0`))
	png := b.shot("4-scenario-late-response")
	if p := os.Getenv("POSSIM_STUDIO_SCREENSHOT"); p != "" && png != nil {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.noConsoleErrors()
}

// TestBrowserStream: 1 000 messages/s for a moment; the page keeps a
// bounded window, stays responsive and writes no error.
func TestBrowserStream(t *testing.T) {
	b := newBrowser(t)
	sv := start(t, "")
	b.do("open the page", chromedp.Navigate(sv.URL()))
	b.until("the stream is live", `document.querySelector('#conn.ok') !== null`)
	b.do("stream 1000 messages/s", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`),
		chromedp.SetValue("#msgs", "1000"), chromedp.Click("#stream-start"))
	b.until("the stream runs", `document.getElementById('stream-state').textContent.includes('seen/s') && +document.getElementById('stream-state').textContent.match(/(\d+) done/)[1] > 300`)
	// POSSIM_STUDIO_STREAM_FOR=60s holds the stream that long (the live
	// demo's minute), checking the page once a second.
	if d, err := time.ParseDuration(os.Getenv("POSSIM_STUDIO_STREAM_FOR")); err == nil {
		var worst time.Duration
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Second) {
			t0 := time.Now()
			b.eval(`String(document.querySelectorAll('#ladder .row').length)`)
			worst = max(worst, time.Since(t0))
		}
		t.Logf("%s of stream: the slowest script round trip took %s; %s", d, worst, b.eval(`document.getElementById('stream-state').textContent`))
	}
	t0 := time.Now()
	n := b.eval(`String(document.querySelectorAll('#ladder .row').length)`)
	t.Logf("under the stream: %s rows in the page, a script round trip took %s", n, time.Since(t0))
	if rows, _ := strconv.Atoi(n); rows == 0 || rows > 300+batchMax { // the live window, plus one batch not yet trimmed
		t.Errorf("%s rows in the page under the stream: the window is not bounded", n)
	}
	b.shot("5-stream")
	// A script click: under the stream the page reflows too often for a
	// pointer click to find a still target.
	b.do("stop the stream", chromedp.Evaluate[chromedp.Void](`document.getElementById('stream-stop').click()`))
	b.until("the stream stops", `document.getElementById('stream-state').textContent.startsWith('stopped')`)
	b.noConsoleErrors()
}
