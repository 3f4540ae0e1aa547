package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/spf13/pflag"
)

// dialectFlags are the wire-format flags every networked command takes.
type dialectFlags struct {
	name, lengthHeader, tpdu, header, match string
	spec, dialectFile                       string
	fs                                      *pflag.FlagSet
}

func (d *dialectFlags) add(fs *pflag.FlagSet) {
	d.fs = fs
	fs.StringVar(&d.name, "dialect", "iso87ascii", "message dialect: "+strings.Join(iso.Names(), ", "))
	fs.StringVar(&d.lengthHeader, "length-header", "", "override the length header: binary2, bcd2, ascii4")
	fs.StringVar(&d.tpdu, "tpdu", "", "override the TPDU (10 hex digits, e.g. 6000030000) or 'none'")
	fs.StringVar(&d.header, "header", "", "override the fixed header after the TPDU (hex) or 'none'")
	fs.StringVar(&d.match, "match", "tid,stan", "fields that pair a response with its request: tid, stan, rrn, mti")
	fs.StringVar(&d.spec, "spec", "", "your message spec (moov-io JSON, see possim dialects export), framed as --dialect")
	fs.StringVar(&d.dialectFile, "dialect-file", "", "a dialect file (YAML): spec + framing + version + match + MAC field")
}

func (d *dialectFlags) build() (*iso.Dialect, link.Match, error) {
	if d.spec != "" && d.dialectFile != "" {
		return nil, link.Match{}, errors.New("--spec and --dialect-file: give one (a dialect file names its spec)")
	}
	opts := iso.Options{LengthHeader: d.lengthHeader, TPDU: d.tpdu, Header: d.header}
	var dl *iso.Dialect
	var ws []iso.Warning
	var err error
	if d.dialectFile != "" {
		dl, ws, err = iso.LoadDialectFile(d.dialectFile)
		if err == nil {
			dl, err = dl.WithOptions(opts)
		}
	} else {
		dl, err = iso.Build(d.name, opts)
		if err == nil && d.spec != "" {
			dl, ws, err = iso.FromSpecFile(dl, d.spec)
		}
	}
	if err != nil {
		return nil, link.Match{}, err
	}
	for _, w := range ws { // DESIGN §3 departures: said, never silent
		fmt.Fprintf(d.fs.Output(), "warning: %s\n", w)
	}
	match := d.match
	if dl.Match != "" && !d.fs.Changed("match") {
		match = dl.Match
	}
	m, err := link.ParseMatch(match)
	if err != nil {
		return nil, link.Match{}, fmt.Errorf("--match: %w", err)
	}
	return dl, m, nil
}

// wiring is how a side meets its links: the wire format (dialect, framing,
// length header, TPDU, header), the match keys, and the faults this side
// carries out. Every networked command builds it here from its flags, so
// the checks and their wording are the same for host, proxy and terminal.
// (MAC and TLS have their own flag sets: what they build differs per side
// — host or terminal keys, server or client TLS.)
type wiring struct {
	Dialect *iso.Dialect
	Match   link.Match
	Faults  *fault.RuleSet // nil: no faults
}

// buildWiring checks the dialect flags, then the fault flags against that
// dialect; ff nil: a command without faults.
func buildWiring(df *dialectFlags, ff *faultFlags) (wiring, error) {
	dl, match, err := df.build()
	if err != nil {
		return wiring{}, err
	}
	w := wiring{Dialect: dl, Match: match}
	if ff != nil {
		if w.Faults, err = ff.build(dl); err != nil {
			return wiring{}, err
		}
	}
	return w, nil
}

// transcript prints link events as readable lines: time, direction, a
// masked one-line summary; with dump, masked field-by-field describes.
type transcript struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	dump  bool
	// local and peer name the two ends ("terminal", "host").
	local, peer string
}

func newTranscript(w io.Writer, local, peer string, dump bool) *transcript {
	return &transcript{w: w, start: time.Now(), dump: dump, local: local, peer: peer}
}

func (t *transcript) event(e link.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := e.Time.Format("15:04:05.000")
	arrow := ""
	switch e.Kind {
	case link.EvSent:
		arrow = fmt.Sprintf("%s → %s", t.local, t.peer)
	case link.EvReceived:
		arrow = fmt.Sprintf("%s ← %s", t.local, t.peer)
	case link.EvFault:
		fmt.Fprintf(t.w, "%s  %-20s ⚡ fault %s on %s\n", ts, "", e.Detail, iso.Summary(e.Msg))
		return
	case link.EvDown:
		if e.Detail == link.FailLocalClose.String() {
			return // we hung up: not news
		}
		fmt.Fprintf(t.w, "%s  %-20s ! %s: %s\n", ts, t.local, e.Kind, e.Detail)
		return
	default:
		fmt.Fprintf(t.w, "%s  %-20s ! %s: %s\n", ts, t.local, e.Kind, e.Detail)
		return
	}
	fmt.Fprintf(t.w, "%s  %-20s %s%s\n", ts, arrow, iso.Summary(e.Msg), rcText(e.Msg))
	if t.dump && e.Msg != nil {
		var b strings.Builder
		_ = iso.Describe(&b, e.Msg)
		fmt.Fprintln(t.w, indent(b.String(), "      "))
	}
}

func rcText(m *iso8583.Message) string {
	rc := iso.RCOf(m) // a 1993 action code means what its 1987 RC means
	if rc == "" {
		return ""
	}
	return " (" + iso.RCMeaning(rc) + ")"
}
