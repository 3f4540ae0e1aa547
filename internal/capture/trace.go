package capture

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// TraceVersion is the version of the trace format, in its header line.
const TraceVersion = 1

// TraceHeader is the first line of a trace file.
type TraceHeader struct {
	Trace int               `json:"possim_trace"`
	Units map[string]string `json:"units"`
	Start time.Time         `json:"start"`
}

// TraceEvent is one line of a trace: a link event with the message's key
// fields. PANs are masked (first 6 / last 4); keys, PIN blocks, track data
// and MACs never appear.
type TraceEvent struct {
	Time  time.Time `json:"time"`
	Side  string    `json:"side"`           // "host", "terminal", "proxy"
	Conn  string    `json:"conn,omitempty"` // local→remote address of the link
	Event string    `json:"event"`          // link.EventKind's name: sent, received, unmatched, late, bad-message, down, fault
	MTI   string    `json:"mti,omitempty"`
	STAN  string    `json:"stan,omitempty"`
	TID   string    `json:"tid,omitempty"`
	RRN   string    `json:"rrn,omitempty"`
	RC    string    `json:"rc,omitempty"`
	PAN   string    `json:"pan,omitempty"` // masked
	// Amount is field 4; Orig is field 90 (the original of a reversal).
	Amount string  `json:"amount,omitempty"`
	Orig   string  `json:"orig,omitempty"`
	MAC    bool    `json:"mac,omitempty"` // the message carries a MAC (64/128)
	Detail string  `json:"detail,omitempty"`
	Late   float64 `json:"late,omitempty"` // ms, for late responses
}

// Trace writes link events as JSON lines.
type Trace struct {
	mu  sync.Mutex
	w   *bufio.Writer
	f   io.WriteCloser
	err error
}

// CreateTrace creates (truncates) path and writes the header line.
func CreateTrace(path string) (*Trace, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	return NewTrace(f)
}

// NewTrace writes a trace to wc (closed by Close).
func NewTrace(wc io.WriteCloser) (*Trace, error) {
	t := &Trace{w: bufio.NewWriter(wc), f: wc}
	t.line(TraceHeader{Trace: TraceVersion, Units: map[string]string{"durations": "ms"}, Start: time.Now()})
	if t.err != nil {
		wc.Close()
		return nil, t.err
	}
	return t, nil
}

func (t *Trace) line(v any) {
	b, err := json.Marshal(v)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil || t.f == nil {
		return
	}
	if err == nil {
		b = append(b, '\n')
		_, err = t.w.Write(b)
	}
	if err == nil {
		err = t.w.Flush() // a crash must not lose the story so far
	}
	t.err = err
}

// Observer returns a link observer that traces events of one link. conn
// names the link (e.g. local→remote addresses).
func (t *Trace) Observer(side, conn string) func(link.Event) {
	return func(e link.Event) { t.Write(side, conn, e) }
}

// Write traces one event.
func (t *Trace) Write(side, conn string, e link.Event) {
	te := TraceEvent{Time: e.Time, Side: side, Conn: conn, Event: e.Kind.String(), Detail: maskDigits(e.Detail)}
	if e.Late > 0 {
		te.Late = float64(e.Late) / float64(time.Millisecond)
	}
	if m := e.Msg; m != nil {
		te.MTI, _ = m.GetMTI()
		te.STAN, te.TID, te.RRN, te.RC = iso.Get(m, 11), strings.TrimRight(iso.Get(m, 41), " "), iso.Get(m, 37), iso.Get(m, 39)
		if pan := iso.Get(m, 2); pan != "" {
			te.PAN = iso.MaskPAN(pan)
		}
		te.Amount, te.Orig = iso.Get(m, 4), iso.Get(m, 90)
		te.MAC = iso.Has(m, 64) || iso.Has(m, 128)
	}
	t.line(te)
}

// Close flushes and closes the file.
func (t *Trace) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return t.err
	}
	if err := t.w.Flush(); t.err == nil {
		t.err = err
	}
	if err := t.f.Close(); t.err == nil {
		t.err = err
	}
	t.f = nil
	return t.err
}

// panLike is a run of 13 to 19 digits: what a PAN looks like inside an
// error text (an unpack error can quote a field's value).
var panLike = regexp.MustCompile(`\d{13,19}`)

// maskDigits masks anything in s that could be a PAN, first 6 / last 4.
func maskDigits(s string) string {
	if len(s) < 13 {
		return s
	}
	return panLike.ReplaceAllStringFunc(s, iso.MaskPAN)
}
