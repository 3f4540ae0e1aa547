package diagnose

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

// CaptureConfig says how to read a capture.
type CaptureConfig struct {
	// Port is the host's TCP port; 0: every stream that carries ISO 8583.
	Port int
	// Dialect, when set, is the dialect and framing to read the streams
	// with; nil: detected per stream among those possim speaks.
	Dialect *iso.Dialect
	Match   link.Match
	// TMK, when set, opens the working keys of sign-on answers in the
	// capture and checks every MAC.
	TMK    []byte
	MACAlg mac.Algorithm
	MACPad mac.Padding
	// MaxLadder bounds the ladder lines per stream; default 200.
	MaxLadder int
}

// AnalyzeCaptureFile diagnoses the capture at path.
func AnalyzeCaptureFile(path string, cfg CaptureConfig) (*Report, error) {
	f, err := openCapture(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, err := AnalyzeCapture(f, path, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// AnalyzeCapture diagnoses a pcap or pcapng read from r.
func AnalyzeCapture(r io.Reader, name string, cfg CaptureConfig) (*Report, error) {
	start := time.Now()
	if cfg.Match == (link.Match{}) {
		cfg.Match = link.DefaultMatch
	}
	if cfg.MaxLadder <= 0 {
		cfg.MaxLadder = 200
	}
	if cfg.MACAlg == "" {
		cfg.MACAlg = mac.Alg3
	}
	if cfg.MACPad == 0 && cfg.MACAlg != mac.CMAC {
		cfg.MACPad = mac.Pad1
	}
	conns, packets, err := readCapture(r)
	if err != nil {
		return nil, err
	}
	rep := &Report{Kind: "capture", Target: name, Start: start}
	var t0 time.Time
	for _, c := range conns {
		if t0.IsZero() || c.first.Before(t0) {
			t0 = c.first
		}
	}
	// Every stream is framed (the next-hop correlation looks at all of
	// them); --port selects the ones reported.
	var all, streams []*stream
	auto := cfg
	auto.Port = 0
	for _, c := range conns {
		s := newStream(c, auto, t0)
		onPort := cfg.Port != 0 && (strings.HasSuffix(c.key.a, fmt.Sprintf(":%d", cfg.Port)) || strings.HasSuffix(c.key.b, fmt.Sprintf(":%d", cfg.Port)))
		if onPort && (s == nil || int(s.server.port) != cfg.Port) {
			s = newStream(c, cfg, t0) // oriented by the port, or a stream without data
		}
		if s == nil {
			continue
		}
		s.n = len(all) + 1
		all = append(all, s)
		if cfg.Port == 0 || onPort {
			streams = append(streams, s)
		}
	}
	for _, s := range all {
		s.pair()
	}
	for _, s := range streams {
		rep.Checks = append(rep.Checks, s.check(all, cfg))
	}
	if len(streams) == 0 {
		what := "no TCP stream carries ISO 8583"
		if cfg.Port != 0 {
			what = fmt.Sprintf("no TCP stream to or from port %d", cfg.Port)
		}
		rep.Checks = append(rep.Checks, Check{Name: "capture", Status: StatusFail,
			Summary: fmt.Sprintf("%s (%d packets, %d TCP connections read)", what, packets, len(conns)),
			Findings: []Finding{{Cause: FramingLost, Detail: what + " that possim can frame",
				Fix: "check --port, and capture on the interface the terminal's traffic crosses (tshark -i lo -f 'tcp port 8583' -w FILE)"}}})
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// wmsg is one message of a stream.
type wmsg struct {
	fromClient bool
	at         time.Time
	off, end   int
	mti        string
	stan, tid  string
	rrn, rc    string
	f90        string
	raw        []byte
	msg        *iso8583.Message
	// for requests:
	resp     *wmsg
	repeats  int
	dupResps int
	revOf    *wmsg // a reversal's original
	repeatOf *wmsg // a repeat (0401) or resend of an earlier request
	reversal *wmsg // the reversal of this request
}

func (m *wmsg) key(match link.Match) string {
	var b strings.Builder
	if match.TID {
		b.WriteString(m.tid)
	}
	b.WriteByte('|')
	if match.STAN {
		b.WriteString(m.stan)
	}
	b.WriteByte('|')
	if match.RRN {
		b.WriteString(m.rrn)
	}
	b.WriteByte('|')
	req := m.mti
	if iso.IsResponse(m.mti) {
		req = iso.Pair(m.mti)
	} else if len(req) == 4 {
		req = req[:3] + "0"
	}
	b.WriteString(req)
	return b.String()
}

// stream is one TCP connection with its messages.
type stream struct {
	n              int
	c              *tcpConn
	client, server *half
	d              *iso.Dialect
	detected       string // how the dialect was chosen
	msgs           []*wmsg
	t0             time.Time
	lostFraming    []Finding
	match          link.Match
	unmatched      []Finding
	dups           []Finding
	late           []Finding
	notes          []string
}

func sideWord(fromClient bool) string {
	if fromClient {
		return "terminal"
	}
	return "host"
}

// truncatedAtEnd says whether b is a valid length header (and prefix) whose
// frame is longer than the bytes left.
func truncatedAtEnd(b []byte, fr iso.Framing) bool {
	hs := fr.Length.Size()
	if len(b) < hs {
		return len(b) > 0
	}
	n, err := fr.Length.Get(b)
	return err == nil && n > 0 && hs+fr.PayloadLen(n) > len(b) && fr.PayloadLen(n) <= 16<<10
}

func (s *stream) name() string {
	return fmt.Sprintf("stream %d", s.n)
}

func (s *stream) rel(t time.Time) string {
	return fmt.Sprintf("+%.3fs", t.Sub(s.t0).Seconds())
}

// newStream frames a connection; nil when it carries nothing possim can
// read (and no port filter asks for it).
func newStream(c *tcpConn, cfg CaptureConfig, t0 time.Time) *stream {
	if len(c.order) == 0 {
		return nil
	}
	s := &stream{c: c, t0: t0, match: cfg.Match}
	var halves []*half
	for _, a := range c.order {
		halves = append(halves, c.dir[a])
	}
	if !s.pickSides(halves, cfg.Port) {
		return nil
	}
	if len(s.client.data) == 0 && len(s.server.data) == 0 && cfg.Port == 0 {
		return nil
	}
	s.d, s.detected = detectDialect(s.client.data, s.server.data, cfg.Dialect)
	if s.d == nil && cfg.Port == 0 && s.client.rst.IsZero() && s.server.rst.IsZero() {
		// Not ISO 8583 as possim frames it, nor a refused connect: some
		// other protocol on an unfiltered capture.
		if !looksLikeISO(s.client.data) {
			return nil
		}
	}
	if s.d != nil {
		s.frame(s.client, true)
		s.frame(s.server, false)
		sort.SliceStable(s.msgs, func(i, j int) bool { return s.msgs[i].at.Before(s.msgs[j].at) })
	}
	return s
}

// pickSides says which half is the client (the side that sent the SYN;
// else the side that is not on port; else the side with the higher port)
// and which the server; false when port is given and is neither side's.
func (s *stream) pickSides(halves []*half, port int) bool {
	for _, h := range halves {
		if h.synNoAck {
			s.client = h
		}
	}
	if port != 0 {
		found := false
		for _, h := range halves {
			if int(h.port) == port {
				s.server, found = h, true
			}
		}
		if !found && (len(halves) < 2 || int(halves[0].port) != port) {
			if s.client == nil || int(s.client.port) != port {
				// The port may belong to a side that never sent anything.
				other := strings.HasSuffix(s.c.key.a, fmt.Sprintf(":%d", port)) || strings.HasSuffix(s.c.key.b, fmt.Sprintf(":%d", port))
				if !other {
					return false
				}
			}
		}
		if found && s.client == s.server {
			s.client = nil
		}
	}
	for _, h := range halves {
		switch {
		case s.client == nil && h != s.server && (s.server != nil || len(halves) == 1):
			s.client = h
		}
	}
	if s.client == nil {
		s.client = halves[0]
		if len(halves) > 1 && halves[1].port > halves[0].port {
			s.client = halves[1]
		}
	}
	if s.server == nil {
		for _, h := range halves {
			if h != s.client {
				s.server = h
			}
		}
	}
	if s.server == nil {
		s.server = &half{}
	}
	return true
}

// looksLikeISO says whether bytes could be an ISO 8583 frame in a framing
// possim does not match (for a capture filtered by nothing).
func looksLikeISO(b []byte) bool {
	sn := Sniff(clip(b, 64))
	return sn.Length != nil && (sn.ASCIIMTI || sn.TPDU)
}

// detectDialect picks the dialect and framing under which the most frames
// of both directions unpack, the configured one when given.
func detectDialect(cli, srv []byte, conf *iso.Dialect) (*iso.Dialect, string) {
	base := conf
	if base == nil {
		base, _ = iso.Lookup("iso87ascii")
	}
	best, bestN := (*iso.Dialect)(nil), 0
	confN := -1
	for _, d := range Candidates(base) {
		n := countFrames(cli, d, 20) + countFrames(srv, d, 20)
		if d == base {
			confN = n
		}
		if n > bestN {
			best, bestN = d, n
		}
	}
	switch {
	case best == nil:
		return nil, ""
	case conf != nil && confN == bestN:
		return conf, "as configured"
	case conf != nil:
		return best, fmt.Sprintf("detected (%d frames unpack), not the configured %s (%d frames)", bestN, DescribeDialect(conf), confN)
	}
	return best, fmt.Sprintf("detected: %d frames unpack", bestN)
}

func countFrames(b []byte, d *iso.Dialect, max int) int {
	fr := link.NewFrameReader(bytes.NewReader(b), d.Framing, 16<<10)
	n := 0
	for n < max {
		payload, _, err := fr.Next()
		if err != nil {
			return n
		}
		if payload == nil {
			continue
		}
		_, body, err := d.Framing.Split(payload)
		if err != nil {
			return n
		}
		m, err := d.Unpack(body)
		if err != nil {
			return n
		}
		mti, _ := m.GetMTI()
		if !iso.IsRequest(mti) && !iso.IsResponse(mti) {
			return n
		}
		n++
	}
	return n
}

// frame splits one direction into messages.
func (s *stream) frame(h *half, fromClient bool) {
	if len(h.data) == 0 {
		return
	}
	off := 0
	frames := 0
	// One reader for the whole direction: the wire size of each frame says
	// where the next one starts.
	fr := link.NewFrameReader(bytes.NewReader(h.data), s.d.Framing, 16<<10)
	for off < len(h.data) {
		rest := h.data[off:]
		payload, wire, err := fr.Next()
		if err != nil && truncatedAtEnd(rest, s.d.Framing) {
			// The data ends inside a frame whose header is fine: the
			// capture (or the connection) ended mid-frame, the framing is
			// not lost.
			s.notes = append(s.notes, fmt.Sprintf("the %s's last %d bytes are the start of a frame that the capture does not hold whole", sideWord(fromClient), len(rest)))
			return
		}
		if err != nil {
			who := "terminal"
			if !fromClient {
				who = "host"
			}
			f := FrameFinding(clip(rest, 64), frames, s.d.Framing, err.Error())
			f.Detail = fmt.Sprintf("%s → at byte %d of the %s's stream (%s): %s", who, off, who, s.rel(h.at(off)), f.Detail)
			s.lostFraming = append(s.lostFraming, f)
			return
		}
		end := off + wire
		if payload != nil {
			m := &wmsg{fromClient: fromClient, at: h.at(end - 1), off: off, end: end}
			if _, body, err := s.d.Framing.Split(payload); err == nil {
				m.raw = append([]byte(nil), body...)
				msg, uerr := s.d.Unpack(body)
				if msg != nil {
					m.msg = msg
					m.mti, _ = msg.GetMTI()
					m.stan, m.tid, m.rrn, m.rc, m.f90 = iso.Get(msg, 11), strings.TrimRight(iso.Get(msg, 41), " "), iso.Get(msg, 37), s.d.RC(msg), iso.Get(msg, s.d.OriginalDataField())
				}
				if uerr != nil && m.mti == "" {
					m.mti = "????"
				}
			}
			s.msgs = append(s.msgs, m)
			frames++
		}
		off = end
	}
}

// pair matches responses to requests within the stream.
func (s *stream) pair() {
	reqs := map[string]*wmsg{}
	var order []*wmsg
	for _, m := range s.msgs {
		switch {
		case iso.IsRequest(m.mti):
			k := m.key(s.match)
			if prev := reqs[k]; prev != nil && prev.fromClient == m.fromClient && (m.mti[3] == '1' || prev.resp == nil) {
				prev.repeats++ // a repeat (0401) or a retransmitted request
				m.repeatOf = prev
				continue
			}
			reqs[k] = m
			order = append(order, m)
			if iso.Class(m.mti) == '4' {
				s.linkReversal(m, order)
			}
		case iso.IsResponse(m.mti):
			k := m.key(s.match)
			req := reqs[k]
			if req == nil || req.fromClient == m.fromClient {
				s.unmatched = append(s.unmatched, Finding{Cause: ResponseUnmatched,
					Detail: fmt.Sprintf("%s %s %s STAN %s TID %s matches no request on the stream: %s", s.rel(m.at), s.dirWord(m), m.mti, m.stan, m.tid, s.unmatchedWhy(m, order))})
				continue
			}
			if req.resp != nil {
				req.dupResps++
				s.dups = append(s.dups, Finding{Cause: ResponseDuplicate,
					Detail: fmt.Sprintf("a second %s for STAN %s TID %s at %s (the first at %s)", m.mti, m.stan, m.tid, s.rel(m.at), s.rel(req.resp.at))})
				continue
			}
			req.resp = m
			if rv := req.reversal; rv != nil && rv.at.Before(m.at) {
				s.late = append(s.late, Finding{Cause: ResponseAfterReversal,
					Detail: fmt.Sprintf("the %s for the %s STAN %s came %s after the request and %s after its reversal (%s at %s)",
						m.mti, req.mti, req.stan, fmtDur(m.at.Sub(req.at)), fmtDur(m.at.Sub(rv.at)), rv.mti, s.rel(rv.at))})
			}
		}
	}
}

// linkReversal ties a reversal to its original (field 90's STAN, else the
// same STAN and TID).
func (s *stream) linkReversal(rv *wmsg, order []*wmsg) {
	origSTAN := rv.stan
	if len(rv.f90) >= 10 {
		origSTAN = rv.f90[4:10]
	}
	for i := len(order) - 1; i >= 0; i-- {
		o := order[i]
		if o != rv && iso.Class(o.mti) != '4' && iso.Class(o.mti) != '8' && o.stan == origSTAN && o.tid == rv.tid {
			rv.revOf, o.reversal = o, rv
			return
		}
	}
}

func (s *stream) unmatchedWhy(m *wmsg, order []*wmsg) string {
	for i := len(order) - 1; i >= 0; i-- {
		o := order[i]
		if o.resp != nil || o.fromClient == m.fromClient {
			continue
		}
		if o.tid == m.tid && o.stan != m.stan && iso.Class(o.mti) == iso.Class(m.mti) {
			return fmt.Sprintf("STAN differs: %s is outstanding for TID %s (%s at %s), the answer says STAN %s", o.stan, o.tid, o.mti, s.rel(o.at), m.stan)
		}
		if o.stan == m.stan && o.tid != m.tid {
			return fmt.Sprintf("TID differs: STAN %s is outstanding for TID %q, the answer says TID %q", o.stan, o.tid, m.tid)
		}
	}
	return fmt.Sprintf("no request with TID %s and STAN %s was sent on this stream", m.tid, m.stan)
}

func (s *stream) dirWord(m *wmsg) string {
	if m.fromClient {
		return "T→H"
	}
	return "H→T"
}

// check reports the stream: ladder, statistics and findings.
func (s *stream) check(all []*stream, cfg CaptureConfig) Check {
	c := Check{Name: s.name(), Summary: fmt.Sprintf("%s ⇄ %s", s.client.addr, s.server.addr)}
	if s.d == nil {
		c.Status = StatusFail
		c.Findings = append(c.Findings, s.noFraming())
		return c
	}
	c.Summary += fmt.Sprintf(": %d messages, %s (%s)", len(s.msgs), DescribeDialect(s.d), s.detected)
	c.Details = s.ladder(cfg.MaxLadder)
	c.Details = append(c.Details, s.stats()...)
	c.Details = append(c.Details, s.notes...)
	c.Findings = append(c.Findings, s.lostFraming...)
	c.Findings = append(c.Findings, s.unanswered(all)...)
	c.Findings = append(c.Findings, capFindings(s.late, 5)...)
	c.Findings = append(c.Findings, capFindings(s.dups, 5)...)
	c.Findings = append(c.Findings, capFindings(s.unmatched, 5)...)
	c.Findings = append(c.Findings, s.tcpFindings()...)
	c.Findings = append(c.Findings, s.rcFindings()...)
	if cfg.TMK != nil {
		c.Findings = append(c.Findings, s.macFindings(cfg)...)
	}
	if strings.HasPrefix(s.detected, "detected (") {
		c.Findings = append(c.Findings, Finding{Cause: FramingLengthHeader,
			Detail: "the capture's frames are " + DescribeDialect(s.d) + ": " + s.detected,
			Fix:    "read the capture with the detected framing, and check that the terminal and host are both configured with it"})
	}
	c.Status = StatusOK
	if len(c.Findings) > 0 {
		c.Status = StatusFail
	}
	return c
}

// capFindings keeps the first n findings and counts the rest in the last.
func capFindings(fs []Finding, n int) []Finding {
	if len(fs) <= n {
		return fs
	}
	out := append([]Finding(nil), fs[:n]...)
	out[n-1].Detail += fmt.Sprintf(" (and %d more like it)", len(fs)-n)
	return out
}

// noFraming explains a stream no framing reads: a refused connect, or
// bytes in an unknown framing.
func (s *stream) noFraming() Finding {
	switch {
	case len(s.client.data) == 0 && !s.server.rst.IsZero():
		return Finding{Cause: HostRefused, Detail: fmt.Sprintf("the connection attempt at %s was answered with a reset", s.rel(s.server.rst))}
	case len(s.client.data) == 0 && len(s.server.acks) == 0:
		return Finding{Cause: HostUnreachable, Detail: "the SYNs got no answer in the capture"}
	case len(s.client.data) == 0:
		return Finding{Cause: LinkDown, Detail: "the connection carried no data"}
	}
	f := FrameFinding(clip(s.client.data, 64), 0, iso.Framing{Length: iso.Binary2}, "no framing possim speaks reads this stream")
	if len(s.server.data) == 0 && (!s.server.fin.IsZero() || !s.server.rst.IsZero()) {
		f.Cause = FramingLengthHeader
		sn := Sniff(clip(s.client.data, 64))
		f.Detail = fmt.Sprintf("the terminal's first bytes (% X) look like %s; the host answered nothing and closed the connection: it does not accept this framing", clip(s.client.data, 6), sn.lengthName())
		f.Fix = "set the terminal's length header and TPDU to the host's (possim diagnose --target HOST:PORT detects them)"
	}
	return f
}

func (s FrameSniff) lengthName() string {
	if s.Length == nil {
		return "no length header possim knows"
	}
	return "a " + s.Length.String() + " length header (" + s.Describe() + ")"
}

func (s *stream) ladder(max int) []string {
	var out []string
	for i, m := range s.msgs {
		if i == max {
			out = append(out, fmt.Sprintf("… %d more messages", len(s.msgs)-max))
			break
		}
		line := fmt.Sprintf("%s  %s  %s STAN %s TID %s", s.rel(m.at), s.dirWord(m), m.mti, m.stan, m.tid)
		if m.rc != "" {
			line += fmt.Sprintf(" RC %s (%s)", m.rc, iso.RCMeaning(m.rc))
		}
		if iso.IsResponse(m.mti) {
			if req := s.requestOf(m); req != nil {
				line += "  " + fmtDur(m.at.Sub(req.at))
			}
		}
		if m.repeatOf != nil {
			line += "  (repeat)"
		} else if iso.IsRequest(m.mti) && m.resp == nil {
			line += "  (no answer)"
		}
		if m.repeats > 0 {
			line += fmt.Sprintf("  (+%d repeat(s))", m.repeats)
		}
		out = append(out, line)
	}
	return out
}

func (s *stream) requestOf(resp *wmsg) *wmsg {
	for _, m := range s.msgs {
		if m.resp == resp {
			return m
		}
	}
	return nil
}

func (s *stream) stats() []string {
	rcs := map[string]int{}
	var lat []time.Duration
	for _, m := range s.msgs {
		if iso.IsRequest(m.mti) && m.resp != nil {
			lat = append(lat, m.resp.at.Sub(m.at))
			if m.resp.rc != "" {
				rcs[m.resp.rc]++
			}
		}
	}
	var out []string
	if len(rcs) > 0 {
		keys := make([]string, 0, len(rcs))
		for k := range rcs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s×%d", k, rcs[k]))
		}
		out = append(out, "response codes: "+strings.Join(parts, ", "))
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p int) time.Duration { return lat[min(len(lat)-1, (len(lat)*p+99)/100-1)] }
		out = append(out, fmt.Sprintf("latency of %d answered requests: p50 %s, p90 %s, p99 %s, max %s", len(lat), fmtDur(pct(50)), fmtDur(pct(90)), fmtDur(pct(99)), fmtDur(lat[len(lat)-1])))
	}
	return out
}

// unanswered names why each request without an answer got none: the link
// ended, the bytes were never acknowledged, or the next hop tells.
func (s *stream) unanswered(all []*stream) []Finding {
	var outs []Finding
	byCause := map[ID]int{}
	for _, m := range s.msgs {
		if !iso.IsRequest(m.mti) || m.resp != nil || !m.fromClient || m.repeatOf != nil {
			continue
		}
		var f Finding
		sender, receiver := s.client, s.server
		what := fmt.Sprintf("%s STAN %s TID %s sent at %s", m.mti, m.stan, m.tid, s.rel(m.at))
		ackAt, acked, known := sender.ackedAt(receiver, m.end)
		firstAndSilent := len(receiver.data) == 0 && (after(receiver.rst, m.at) || after(receiver.fin, m.at))
		switch {
		case firstAndSilent:
			// The terminal-side rule: a host that hangs up at the first
			// message without ever answering rejects the framing.
			fail := link.FailPeerClosed
			if after(receiver.rst, m.at) {
				fail = link.FailPeerReset
			}
			f, _ = Diagnose(Observation{MTI: m.mti, Outcome: LinkFailed, LinkFail: link.FailPeerClosed, Framing: s.d.Framing})
			f.Detail = fmt.Sprintf("%s: the host %s the connection without ever answering anything; the terminal frames with %s: the host does not accept this framing",
				what, map[link.FailKind]string{link.FailPeerClosed: "closed", link.FailPeerReset: "reset"}[fail], DescribeDialect(s.d))
			f.Fix = fmt.Sprintf("set the terminal's framing to the host's: the terminal sends %s; find the host's length header and TPDU with possim diagnose --target HOST:PORT", DescribeDialect(s.d))
		case after(receiver.rst, m.at):
			f = Finding{Cause: LinkReset, Detail: fmt.Sprintf("%s: the host side reset the connection at %s with it outstanding", what, s.rel(receiver.rst))}
		case after(sender.rst, m.at):
			f = Finding{Cause: LinkReset, Detail: fmt.Sprintf("%s: the terminal side reset the connection at %s with it outstanding", what, s.rel(sender.rst))}
		case after(receiver.fin, m.at):
			f = Finding{Cause: LinkClosed, Detail: fmt.Sprintf("%s: the host closed the connection at %s without answering it", what, s.rel(receiver.fin))}
		default:
			if hop := s.nextHop(m, all); hop != nil {
				f = *hop
				break
			}
			switch {
			case known && acked:
				f = Finding{Cause: ResponseNeverSent, Detail: fmt.Sprintf("%s: TCP acknowledged it at %s, so it reached the host's machine; no answer came back on this stream", what, s.rel(ackAt))}
			case known:
				f = Finding{Cause: RequestNeverArrived, Detail: fmt.Sprintf("%s: TCP never acknowledged its bytes, so it never reached the host's machine", what)}
			default:
				f = Finding{Cause: ResponseTimeout, Detail: what + ": no answer on the stream (the capture holds no acknowledgements from the host to tell whether it arrived)"}
			}
		}
		if m.reversal != nil {
			f.Detail += fmt.Sprintf("; the terminal reversed it (%s at %s)", m.reversal.mti, s.rel(m.reversal.at))
		}
		if iso.Class(m.mti) == '4' {
			f = Finding{Cause: ReversalUnacknowledged, Detail: fmt.Sprintf("%s (reversal of STAN %s) got no 0410: %s", what, origSTAN(m), f.Explanation())}
		}
		byCause[f.Cause]++
		if byCause[f.Cause] <= 5 {
			outs = append(outs, f)
		} else if byCause[f.Cause] == 6 {
			for i := range outs {
				if outs[i].Cause == f.Cause {
					outs[i].Detail += " (more like it on this stream)"
					break
				}
			}
		}
	}
	return outs
}

func origSTAN(rv *wmsg) string {
	if len(rv.f90) >= 10 {
		return rv.f90[4:10]
	}
	return rv.stan
}

func after(t, ref time.Time) bool { return !t.IsZero() && !t.Before(ref) }

// nextHop looks for the same request on the capture's other streams (a
// proxy or switch in between): answered there means the answer was lost
// on the way back; absent where the same terminal's traffic continues
// means the request never got there.
func (s *stream) nextHop(m *wmsg, all []*stream) *Finding {
	k := m.key(s.match)
	hopCarriesTID := false
	for _, o := range all {
		// A next hop leads elsewhere (another server address) and carries
		// this terminal's traffic while the request is outstanding; a
		// reconnection of the same terminal to the same host is not one.
		if o == s || o.d == nil || o.server.addr == s.server.addr || !o.activeAround(m.at) {
			continue
		}
		for _, om := range o.msgs {
			if om.tid == m.tid && om.fromClient {
				hopCarriesTID = true
			}
			if om.fromClient && iso.IsRequest(om.mti) && om.key(o.match) == k && !om.at.Before(m.at) {
				if om.resp != nil {
					return &Finding{Cause: ResponseLostOnPath, Detail: fmt.Sprintf("%s STAN %s: forwarded on %s at %s and answered there (%s RC %s at %s), but the answer never arrived on %s",
						m.mti, m.stan, o.name(), o.rel(om.at), om.resp.mti, om.resp.rc, o.rel(om.resp.at), s.name())}
				}
				return &Finding{Cause: ResponseNeverSent, Detail: fmt.Sprintf("%s STAN %s: forwarded on %s at %s, unanswered there too: the host never answered", m.mti, m.stan, o.name(), o.rel(om.at))}
			}
		}
	}
	if hopCarriesTID {
		return &Finding{Cause: RequestNeverArrived, Detail: fmt.Sprintf("%s STAN %s TID %s sent at %s on %s never appears on the stream that carries this terminal's other requests onwards: it was lost between the two",
			m.mti, m.stan, m.tid, s.rel(m.at), s.name())}
	}
	return nil
}

func (s *stream) tcpFindings() []Finding {
	var out []Finding
	for _, h := range []*half{s.client, s.server} {
		who := "terminal"
		if h == s.server {
			who = "host"
		}
		if h.retrans > 0 {
			out = append(out, Finding{Cause: NetworkPacketLoss, Detail: fmt.Sprintf("%d retransmitted segment(s) from the %s side, the first at %s", h.retrans, who, s.rel(h.retransAt))})
		}
		if h.zeroWin > 0 {
			out = append(out, Finding{Cause: NetworkZeroWindow, Detail: fmt.Sprintf("the %s side advertised a zero window %d time(s), the first at %s: it stopped reading", who, h.zeroWin, s.rel(h.zeroAt))})
		}
		if h.gaps > 0 {
			out = append(out, Finding{Cause: NetworkPacketLoss, Detail: fmt.Sprintf("bytes from the %s side are missing from the capture and were never retransmitted in it: its stream after the hole is not analysed", who)})
		}
	}
	return out
}

// rcFindings names the causes of declines that are a problem of the link
// or the terminal (format errors, MAC rejections), not of a card.
func (s *stream) rcFindings() []Finding {
	var out []Finding
	seen := map[string]bool{}
	for _, m := range s.msgs {
		if m.resp == nil || m.resp.rc == "" || seen[m.resp.rc] {
			continue
		}
		switch m.resp.rc {
		case "30", "63", "96", "91":
			seen[m.resp.rc] = true
			o := Observation{MTI: m.mti, Outcome: Answered, RC: m.resp.rc, SentMAC: m.msg != nil && (iso.Has(m.msg, 64) || iso.Has(m.msg, 128))}
			if f, bad := Diagnose(o); bad {
				f.Detail = fmt.Sprintf("%s STAN %s at %s: %s", m.mti, m.stan, s.rel(m.at), f.Explanation())
				out = append(out, f)
			}
		}
	}
	return out
}

// macFindings opens the working keys of sign-on answers with the TMK and
// checks the MAC of every message after them.
func (s *stream) macFindings(cfg CaptureConfig) []Finding {
	kek, err := mac.NewKEK(cfg.TMK)
	if err != nil {
		return []Finding{{Cause: KeysNotLoaded, Detail: "--tmk: " + err.Error()}}
	}
	type keys struct{ w, other *mac.WorkingKeys }
	byTID := map[string]keys{}
	var out []Finding
	for _, m := range s.msgs {
		if m.msg == nil {
			continue
		}
		if m.mti == "0810" && iso.Get(m.msg, 70) == "001" || iso.Has(m.msg, mac.KeyBlockField) && iso.Class(m.mti) == '8' {
			blk, err := mac.ParseKeyBlock(iso.Get(m.msg, mac.KeyBlockField))
			if err != nil {
				continue
			}
			w, err := mac.OpenKeys(kek, cfg.MACAlg, cfg.MACPad, blk)
			if err != nil {
				out = append(out, Finding{Cause: KeysKCVMismatch, Detail: fmt.Sprintf("%s at %s: %v", m.mti, s.rel(m.at), err)})
				continue
			}
			other := mac.Pad2
			if cfg.MACPad == mac.Pad2 {
				other = mac.Pad1
			}
			wo, _ := mac.OpenKeys(kek, cfg.MACAlg, other, blk)
			byTID[m.tid] = keys{w, wo}
			continue
		}
		k, ok := byTID[m.tid]
		if !ok || !(iso.Has(m.msg, 64) || iso.Has(m.msg, 128)) {
			continue
		}
		want, err := mac.Expected(k.w.MAC, s.d, m.raw)
		if err != nil {
			continue
		}
		_, wire, _ := mac.Span(s.d, m.raw)
		if macEqual(s.d, wire, want) {
			continue
		}
		who := "terminal"
		if !m.fromClient {
			who = "host"
		}
		what := fmt.Sprintf("the MAC of the %s's %s STAN %s at %s does not verify with the working MAC key (KCV %s)", who, m.mti, m.stan, s.rel(m.at), k.w.MACKCV)
		if k.other != nil {
			if w2, err := mac.Expected(k.other.MAC, s.d, m.raw); err == nil && macEqual(s.d, wire, w2) {
				out = append(out, Finding{Cause: MACPaddingMismatch, Detail: what + "; it does with the other padding"})
				continue
			}
		}
		if d := macBits(s.d, wire, want); d > 0 && d <= 4 {
			out = append(out, Finding{Cause: MACCorrupted, Detail: fmt.Sprintf("%s: %d bit(s) differ", what, d)})
			continue
		}
		out = append(out, Finding{Cause: MACWrongKey, Detail: what})
	}
	return capFindings(out, 5)
}

func macBits(d *iso.Dialect, wire, want []byte) int {
	w := wire
	if d.MACWireLen == 16 {
		b, err := hex.DecodeString(string(wire))
		if err != nil {
			return -1
		}
		w = b
	}
	if len(w) != len(want) {
		return -1
	}
	n := 0
	for i := range w {
		n += bits.OnesCount8(w[i] ^ want[i])
	}
	return n
}

// activeAround says whether the stream carried messages both before and
// after t (it was up while a request of another stream was outstanding).
func (s *stream) activeAround(t time.Time) bool {
	before, afterT := false, false
	for _, m := range s.msgs {
		if !m.at.After(t) {
			before = true
		} else {
			afterT = true
		}
	}
	return before && afterT
}
