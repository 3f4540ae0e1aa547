package diagnose

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// traceLine is one line of a possim --trace file (internal/capture writes
// them; the fields are read by name, so this package does not import the
// writer).
type traceLine struct {
	Trace  int       `json:"possim_trace"`
	Time   time.Time `json:"time"`
	Side   string    `json:"side"`
	Conn   string    `json:"conn"`
	Event  string    `json:"event"`
	MTI    string    `json:"mti"`
	STAN   string    `json:"stan"`
	TID    string    `json:"tid"`
	RRN    string    `json:"rrn"`
	RC     string    `json:"rc"`
	Orig   string    `json:"orig"`
	MAC    bool      `json:"mac"`
	Detail string    `json:"detail"`
	Late   float64   `json:"late"`
}

// AnalyzeTraceFile diagnoses a possim --trace file.
func AnalyzeTraceFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the trace: %w", err)
	}
	defer f.Close()
	return AnalyzeTrace(f, path)
}

// AnalyzeTrace diagnoses a trace read from r: per link, the ladder, the
// pairing of requests and answers, and the link's own verdicts (late,
// unmatched, unreadable frames, how it ended), each named with its cause.
func AnalyzeTrace(r io.Reader, name string) (*Report, error) {
	start := time.Now()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	type key struct{ side, conn string }
	streams := map[key]*stream{}
	var order []*stream
	var t0 time.Time
	extra := map[*stream][]Finding{}
	type downAt struct {
		at time.Time
		f  Finding
	}
	downs := map[*stream][]downAt{}
	notes := map[*stream][]string{}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		txt := strings.TrimSpace(sc.Text())
		if txt == "" {
			continue
		}
		var l traceLine
		if err := json.Unmarshal([]byte(txt), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: not a trace line: %v", name, lineNo, err)
		}
		if l.Trace != 0 {
			if l.Trace != 1 {
				return nil, fmt.Errorf("%s:%d: trace format version %d; this possim reads version 1", name, lineNo, l.Trace)
			}
			continue
		}
		if l.Event == "" {
			return nil, fmt.Errorf("%s:%d: a trace line without an event", name, lineNo)
		}
		if t0.IsZero() {
			t0 = l.Time
		}
		k := key{l.Side, l.Conn}
		s := streams[k]
		if s == nil {
			s = &stream{n: len(order) + 1, t0: t0, match: link.DefaultMatch,
				client: &half{addr: l.Side + " " + l.Conn}, server: &half{addr: "peer"}}
			s.d, _ = iso.Lookup("iso87ascii") // only marks the stream as readable
			streams[k] = s
			order = append(order, s)
		}
		// The terminal is the client: on a host's trace, what it sent came
		// from the server.
		hostSide := l.Side == "host"
		switch l.Event {
		case "sent", "received":
			fromClient := (l.Event == "sent") != hostSide
			s.msgs = append(s.msgs, &wmsg{fromClient: fromClient, at: l.Time, mti: l.MTI, stan: l.STAN, tid: l.TID, rrn: l.RRN, rc: l.RC, f90: l.Orig})
		case "late":
			extra[s] = append(extra[s], Finding{Cause: ResponseLate, Detail: fmt.Sprintf("%s %s STAN %s: %s", s.rel(l.Time), l.MTI, l.STAN, l.Detail)})
		case "duplicate":
			extra[s] = append(extra[s], Finding{Cause: ResponseDuplicate, Detail: fmt.Sprintf("%s %s STAN %s: %s", s.rel(l.Time), l.MTI, l.STAN, l.Detail)})
		case "unmatched":
			extra[s] = append(extra[s], Finding{Cause: ResponseUnmatched, Detail: fmt.Sprintf("%s %s STAN %s: %s", s.rel(l.Time), l.MTI, l.STAN, l.Detail)})
		case "bad-message":
			extra[s] = append(extra[s], badMessageFinding(l.Detail, s.rel(l.Time)))
		case "fault":
			notes[s] = append(notes[s], fmt.Sprintf("%s  ⚡ fault %s on %s STAN %s", s.rel(l.Time), l.Detail, l.MTI, l.STAN))
		case "down":
			if f, ok := downFinding(l.Detail); ok {
				f.Detail = s.rel(l.Time) + " " + f.Detail
				downs[s] = append(downs[s], downAt{l.Time, f})
			}
			peer := s.server
			if hostSide {
				peer = s.client
			}
			if strings.Contains(l.Detail, "reset") {
				peer.rst = l.Time
			} else if strings.Contains(l.Detail, "closed by peer") {
				peer.fin = l.Time
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	rep := &Report{Kind: "trace", Target: name, Start: start}
	for _, s := range order {
		sort.SliceStable(s.msgs, func(i, j int) bool { return s.msgs[i].at.Before(s.msgs[j].at) })
		s.pair()
		c := Check{Name: s.name(), Summary: fmt.Sprintf("%s: %d messages", s.client.addr, len(s.msgs))}
		c.Details = append(s.ladder(200), s.stats()...)
		c.Details = append(c.Details, notes[s]...)
		// A link that ends with nothing outstanding ended normally (the
		// peer was done); with a request outstanding, how it ended is the
		// cause.
		for _, d := range downs[s] {
			outstanding := false
			for _, m := range s.msgs {
				if iso.IsRequest(m.mti) && m.resp == nil && m.at.Before(d.at) {
					outstanding = true
				}
			}
			if outstanding {
				extra[s] = append(extra[s], d.f)
			} else {
				c.Details = append(c.Details, "link ended: "+d.f.Detail)
			}
		}
		c.Findings = append(c.Findings, s.unanswered(nil)...)
		c.Findings = append(c.Findings, capFindings(s.late, 5)...)
		c.Findings = append(c.Findings, capFindings(s.dups, 5)...)
		c.Findings = append(c.Findings, capFindings(extra[s], 10)...)
		c.Findings = append(c.Findings, s.rcFindings()...)
		c.Status = StatusOK
		if len(c.Findings) > 0 {
			c.Status = StatusFail
		}
		rep.Checks = append(rep.Checks, c)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%s: no link events in the trace", name)
	}
	rep.Took = time.Since(start)
	return rep, nil
}

func badMessageFinding(detail, at string) Finding {
	switch {
	case strings.Contains(detail, "MAC"):
		return Finding{Cause: MACResponseInvalid, Detail: at + " " + detail}
	case strings.Contains(detail, "cannot unpack"):
		return Finding{Cause: FramingUnreadable, Detail: at + " " + detail}
	}
	return Finding{Cause: FramingLost, Detail: at + " " + detail}
}

// downFinding names how a link ended from the link's own words; a local
// close is not a failure.
func downFinding(detail string) (Finding, bool) {
	switch {
	case strings.HasPrefix(detail, link.FailLocalClose.String()):
		return Finding{}, false
	case strings.HasPrefix(detail, link.FailPeerReset.String()):
		return Finding{Cause: LinkReset, Detail: detail}, true
	case strings.HasPrefix(detail, link.FailPeerClosed.String()):
		return Finding{Cause: LinkClosed, Detail: detail}, true
	case strings.HasPrefix(detail, link.FailIdle.String()):
		return Finding{Cause: LinkIdleTimeout, Detail: detail}, true
	case strings.HasPrefix(detail, link.FailWriteTimeout.String()):
		return Finding{Cause: LinkWriteTimeout, Detail: detail}, true
	case strings.HasPrefix(detail, link.FailFraming.String()):
		return Finding{Cause: FramingLost, Detail: detail}, true
	}
	return Finding{Cause: LinkDown, Detail: detail}, true
}
