package diagnose

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

// rawCodec remembers the bytes of every message it decodes, by STAN, so a
// MAC that fails can be checked again with the other padding.
type rawCodec struct {
	inner link.Codec
	mu    sync.Mutex
	raw   map[string][]byte
}

func (c *rawCodec) Encode(dst []byte, m *iso8583.Message) ([]byte, error) {
	return c.inner.Encode(dst, m)
}
func (c *rawCodec) Decode(b []byte) (*iso8583.Message, error) {
	m, err := c.inner.Decode(b)
	if m != nil {
		c.mu.Lock()
		if len(c.raw) > 64 {
			clear(c.raw)
		}
		c.raw[iso.Get(m, 11)] = append([]byte(nil), b...)
		c.mu.Unlock()
	}
	return m, err
}

func (c *rawCodec) bytes(stan string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.raw[stan]
}

// session is a link in the detected framing, with what the probe learnt
// about it so far (round trips, whether it answered), for the rules.
type session struct {
	p     *prober
	d     *iso.Dialect
	l     *link.Link
	codec *rawCodec
	slot  mac.KeySlot
	kek   *mac.KEK
	blk   *mac.KeyBlock
	keyed bool

	signOnRTT, echoRTT time.Duration
	answered           bool
	last               time.Time
	mu                 sync.Mutex
	inAfter            int // frames received (any kind), to tell silence after a timeout
	unmatched, bad     []string
	late               time.Duration // how late the last late answer came (0: none)
	lateCh             chan struct{} // signalled on a late answer
}

func (p *prober) open(ctx context.Context, d *iso.Dialect) (*session, error) {
	nc, _, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	s := &session{p: p, d: d, lateCh: make(chan struct{}, 1)}
	var inner link.Codec = link.DialectCodec{D: d}
	if p.cfg.TMK != nil {
		if s.kek, err = mac.NewKEK(p.cfg.TMK); err != nil {
			nc.Close()
			return nil, err
		}
		mc, err := mac.NewCodec(inner, d, &s.slot, mac.CodecOptions{})
		if err != nil {
			nc.Close()
			return nil, err
		}
		inner = mc
	}
	s.codec = &rawCodec{inner: inner, raw: map[string][]byte{}}
	s.l = link.New(nc, link.Config{Dialect: d, Codec: s.codec, Match: p.cfg.Match,
		Observer: func(e link.Event) {
			switch e.Kind {
			case link.EvReceived, link.EvLate, link.EvUnmatched, link.EvBadMessage, link.EvDuplicate:
				s.mu.Lock()
				s.inAfter++
				switch e.Kind {
				case link.EvUnmatched:
					s.unmatched = append(s.unmatched, e.Detail)
				case link.EvBadMessage:
					s.bad = append(s.bad, e.Detail)
				case link.EvLate:
					s.late = e.Late
					select {
					case s.lateCh <- struct{}{}:
					default:
					}
				}
				s.mu.Unlock()
			}
		},
		// Host-initiated requests (an echo or key change) are answered 00
		// so that the host's view of the probe stays clean.
		Handler: link.HandlerFunc(func(l *link.Link, in *link.Inbound) {
			if in.Err != nil {
				return
			}
			mti, err := iso.ResponseMTI(in.MTI)
			if err != nil {
				return
			}
			r := d.NewMessage()
			r.MTI(mti)
			for _, id := range []int{7, 11, 41, 70} {
				if v := iso.Get(in.Msg, id); v != "" {
					_ = iso.Set(r, id, v)
				}
			}
			_ = iso.Set(r, 39, "00")
			_ = l.Reply(in, r)
		})}).Start()
	s.last = time.Now()
	return s, nil
}

func (s *session) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inAfter
}

// call sends m and waits for its result (bounded by the probe timeout).
func (s *session) call(m *iso8583.Message) link.Result {
	r := s.l.Call(m, s.p.cfg.Timeout)
	s.last = time.Now()
	if r.Err == nil && r.Resp != nil {
		s.answered = true
	}
	return r
}

// failure names the cause of a failed call, with an echo test on the same
// link after a timeout to tell a black hole from a slow host.
// awaitLate waits, bounded, for the timed-out request's answer to come
// late once the probe showed the link alive: a doctor may wait where a
// terminal would not, and a late answer tells a slow issuer from a host
// that never answers.
func (s *session) awaitLate() time.Duration {
	wait := min(max(4*s.p.cfg.Timeout, time.Second), 3*time.Second)
	select {
	case <-s.lateCh:
	case <-time.After(wait):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	late := s.late
	s.late = 0
	return late
}

func (s *session) failure(m *iso8583.Message, r link.Result, idle time.Duration) Finding {
	mti, _ := m.GetMTI()
	o := Observation{MTI: mti, Took: r.Done.Sub(r.Sent), Timeout: s.p.cfg.Timeout, SignOnRTT: s.signOnRTT,
		EchoRTT: s.echoRTT, AnsweredBefore: s.answered, Idle: idle, Framing: s.d.Framing, SentMAC: iso.Has(m, 64) || iso.Has(m, 128)}
	if r.Resp != nil {
		o.RC = s.d.RC(r.Resp)
	}
	var le *link.LinkError
	switch {
	case errors.Is(r.Err, link.ErrTimeout):
		o.Outcome = TimedOut
		s.mu.Lock()
		if n := len(s.unmatched); n > 0 {
			o.Unmatched = s.unmatched[n-1]
			s.unmatched = nil
		}
		if n := len(s.bad); n > 0 {
			o.UnpackErr = s.bad[n-1]
			s.bad = nil
		}
		s.mu.Unlock()
		before := s.received()
		o.EchoRTT = 0 // this link's speed is what the probe below measures
		er := s.call(s.p.echoMsg(s.d, "301"))
		switch {
		case er.Err == nil:
			o.Probe, o.EchoRTT = ProbeAnswered, er.Done.Sub(er.Sent)
		case errors.As(er.Err, &le):
			o.Probe = ProbeLinkDown
		default:
			o.Probe = ProbeUnanswered
		}
		o.BytesAfterTimeout = s.received() > before
		if o.Probe == ProbeAnswered {
			o.SignOnRTT = 0
			o.Late = s.awaitLate()
		}
	case errors.As(r.Err, &le):
		o.Outcome, o.LinkFail, o.LinkErr = LinkFailed, le.Kind, le.Error()
		o.FramesBefore = int(s.l.Stats().FramesIn)
	case r.Err != nil:
		if ve, ok := mac.AsVerifyError(r.Err); ok {
			o.MACVerify = ve
			o.PaddingMismatch = s.otherPaddingVerifies(r.Resp)
		} else if errors.Is(r.Err, link.ErrWrongMTI) {
			return Finding{Cause: ResponseWrongMTI, Detail: r.Err.Error()}
		} else {
			o.UnpackErr = r.Err.Error()
		}
	}
	f, _ := Diagnose(o)
	return f
}

// otherPaddingVerifies checks a response whose MAC failed under the other
// padding method with the same working keys.
func (s *session) otherPaddingVerifies(resp *iso8583.Message) bool {
	if s.blk == nil || resp == nil || s.p.cfg.MACAlg == mac.CMAC {
		return false
	}
	other := mac.Pad2
	if s.p.cfg.MACPad == mac.Pad2 {
		other = mac.Pad1
	}
	w, err := mac.OpenKeys(s.kek, s.p.cfg.MACAlg, other, *s.blk)
	if err != nil {
		return false
	}
	raw := s.codec.bytes(iso.Get(resp, 11))
	if raw == nil {
		return false
	}
	want, err := mac.Expected(w.MAC, s.d, raw)
	if err != nil {
		return false
	}
	_, wire, _ := mac.Span(s.d, raw)
	return macEqual(s.d, wire, want)
}

func macEqual(d *iso.Dialect, wire, want []byte) bool {
	if d.MACWireLen == 16 {
		return fmt.Sprintf("%X", want) == string(upperASCII(wire))
	}
	return string(wire) == string(want)
}

func upperASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func (p *prober) session(ctx context.Context, d *iso.Dialect) {
	s, err := p.open(ctx, d)
	if err != nil {
		id, detail := ConnectCause(err)
		p.add(Check{Name: "sign-on", Status: StatusFail, Summary: "cannot open a link", Findings: []Finding{{Cause: id, Detail: detail}}})
		p.skip(p.remaining("sign-on")...)
		return
	}
	defer s.l.Close()
	if !p.signOn(s) {
		p.skip(p.remaining("sign-on")...)
		return
	}
	if !p.echoes(ctx, s) {
		p.skip(p.remaining("echo")...)
		return
	}
	if p.cfg.Financial {
		p.financial(s)
	}
	if p.cfg.Idle > 0 {
		p.idle(ctx, s)
	}
}

// remaining lists the checks after name that will not run.
func (p *prober) remaining(name string) []string {
	all := []string{"sign-on", "echo"}
	if p.cfg.Financial {
		all = append(all, "financial")
	}
	if p.cfg.Idle > 0 {
		all = append(all, "idle")
	}
	for i, n := range all {
		if n == name {
			return all[i+1:]
		}
	}
	return nil
}

func (p *prober) signOn(s *session) bool {
	if !p.cfg.SignOn {
		p.add(Check{Name: "sign-on", Status: StatusSkipped, Summary: "skipped (--no-sign-on)"})
		return true
	}
	m := p.echoMsg(s.d, "001")
	r := s.call(m)
	c := Check{Name: "sign-on", Took: r.Done.Sub(r.Sent)}
	if r.Err != nil {
		c.Status, c.Summary = StatusFail, "sign-on failed: "+r.Err.Error()
		c.Findings = []Finding{s.failure(m, r, 0)}
		p.add(c)
		return false
	}
	s.signOnRTT = c.Took
	rc := s.d.RC(r.Resp)
	if rc != "00" {
		c.Status, c.Summary = StatusFail, fmt.Sprintf("sign-on answered RC %s (%s)", rc, iso.RCMeaning(rc))
		f, _ := Diagnose(Observation{MTI: s.d.MTI(iso.NetworkRequest), Outcome: Answered, RC: rc, SentMAC: false})
		c.Findings = []Finding{f}
		p.add(c)
		return false
	}
	c.Status, c.Summary = StatusOK, fmt.Sprintf("%s RC 00 for TID %s", s.d.MTI(iso.NetworkResponse), p.cfg.TID)
	if p.cfg.TMK != nil {
		v := iso.Get(r.Resp, mac.KeyBlockField)
		if v == "" {
			c.Status, c.Summary = StatusFail, "the sign-on answer carries no working keys"
			c.Findings = []Finding{{Cause: KeysNotLoaded, Detail: fmt.Sprintf("0810 RC 00 without field %d: the host sent no working keys for TID %s", mac.KeyBlockField, p.cfg.TID)}}
			p.add(c)
			return true
		}
		blk, err := mac.ParseKeyBlock(v)
		if err != nil {
			c.Status, c.Summary = StatusFail, "the key block does not parse"
			c.Findings = []Finding{{Cause: KeysNotLoaded, Detail: fmt.Sprintf("field %d: %v", mac.KeyBlockField, err)}}
			p.add(c)
			return true
		}
		w, err := mac.OpenKeys(s.kek, p.cfg.MACAlg, p.cfg.MACPad, blk)
		if err != nil {
			c.Status, c.Summary = StatusFail, "the working keys do not check"
			var ke *mac.KCVError
			if errors.As(err, &ke) {
				c.Findings = []Finding{{Cause: KeysKCVMismatch, Detail: err.Error() + fmt.Sprintf(" (probe TMK KCV %s)", s.kek.KCV())}}
			} else {
				c.Findings = []Finding{{Cause: KeysNotLoaded, Detail: err.Error()}}
			}
			p.add(c)
			return true
		}
		w.Via, w.Confirmed = "sign-on", true
		s.slot.Install(w)
		s.blk, s.keyed = &blk, true
		c.Details = append(c.Details, fmt.Sprintf("working keys: MAC key KCV %s, PIN key KCV %s (TMK KCV %s) — check values match", w.MACKCV, w.PINKCV, s.kek.KCV()))
	}
	p.add(c)
	return true
}

// RTTStats summarises echo round trips.
type RTTStats struct {
	N                          int
	Min, Median, P99, Max, Jit time.Duration
}

// Stats computes min/median/p99/max and jitter (mean absolute difference of
// consecutive round trips, RFC 3550's idea without its smoothing).
func Stats(rtts []time.Duration) RTTStats {
	st := RTTStats{N: len(rtts)}
	if len(rtts) == 0 {
		return st
	}
	var jit time.Duration
	for i := 1; i < len(rtts); i++ {
		d := rtts[i] - rtts[i-1]
		if d < 0 {
			d = -d
		}
		jit += d
	}
	if len(rtts) > 1 {
		st.Jit = jit / time.Duration(len(rtts)-1)
	}
	s := append([]time.Duration(nil), rtts...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	st.Min, st.Max, st.Median = s[0], s[len(s)-1], s[len(s)/2]
	st.P99 = s[min(len(s)-1, (len(s)*99+99)/100-1)]
	return st
}

func (st RTTStats) String() string {
	return fmt.Sprintf("%d echo tests: min %s, median %s, p99 %s, max %s, jitter %s", st.N, fmtDur(st.Min), fmtDur(st.Median), fmtDur(st.P99), fmtDur(st.Max), fmtDur(st.Jit))
}

func (p *prober) echoes(ctx context.Context, s *session) bool {
	var rtts []time.Duration
	start := time.Now()
	for i := 0; i < p.cfg.Echoes && ctx.Err() == nil; i++ {
		m := p.echoMsg(s.d, "301")
		r := s.call(m)
		if r.Err != nil {
			f := s.failure(m, r, 0)
			p.add(Check{Name: "echo", Status: StatusFail, Took: time.Since(start),
				Summary: fmt.Sprintf("echo test %d of %d failed: %v", i+1, p.cfg.Echoes, r.Err), Findings: []Finding{f}})
			return false
		}
		rtts = append(rtts, r.Done.Sub(r.Sent))
	}
	st := Stats(rtts)
	if len(rtts) > 0 {
		s.echoRTT = st.Median
	}
	c := Check{Name: "echo", Status: StatusOK, Took: time.Since(start), Summary: st.String()}
	if st.Median >= p.cfg.SlowRTT {
		c.Status = StatusFail
		c.Findings = []Finding{{Cause: NetworkSlow,
			Detail: fmt.Sprintf("echo tests, which the host answers without asking any issuer, take %s (median of %d; sign-on %s)", fmtDur(st.Median), st.N, fmtDur(s.signOnRTT)),
			Fix:    fmt.Sprintf("the network, not the issuer, is slow: an echo takes %s — check the signal or the carrier", fmtDur(st.Median))}}
	}
	p.add(c)
	return true
}

// testCard is the card of the test purchase: a Luhn-valid test PAN that
// possim's default rules approve.
const testCard = "4761739001010010"

func (p *prober) financial(s *session) bool {
	m := s.d.NewMessage()
	mti := s.d.MTI(iso.FinancialRequest)
	m.MTI(mti)
	now := time.Now()
	stan := p.nextSTAN()
	fields := []fieldValue{{2, testCard}, {3, "000000"}, {4, "000000000100"}, {7, now.UTC().Format("0102150405")}, {11, stan},
		{12, now.Format("150405")}, {13, now.Format("0102")}, {14, "2812"}, {22, "051"}, {25, "00"},
		{41, p.cfg.TID}, {42, p.cfg.MID}, {49, "978"}}
	if s.d.Version == iso.V1993 {
		// 1993 redefines 12 (local date-time, n12), 13, 22 (POS data code)
		// and 25 (reason code): 12 in its 1993 form, the others left out.
		fields = append(fields[:5:5], fieldValue{12, now.Format("060102150405")}, fieldValue{14, "2812"},
			fieldValue{41, p.cfg.TID}, fieldValue{42, p.cfg.MID}, fieldValue{49, "978"})
	}
	for _, f := range fields {
		_ = iso.Set(m, f.id, f.v)
	}
	r := s.call(m)
	c := Check{Name: "financial", Took: r.Done.Sub(r.Sent)}
	if r.Err != nil {
		c.Status, c.Summary = StatusFail, fmt.Sprintf("test purchase (%s STAN %s, 1.00) failed: %v", mti, stan, r.Err)
		c.Findings = []Finding{s.failure(m, r, 0)}
	} else {
		rc := s.d.RC(r.Resp)
		c.Summary = fmt.Sprintf("test purchase %s STAN %s answered RC %s (%s) in %s", mti, stan, rc, iso.RCMeaning(rc), fmtDur(c.Took))
		var diffs []string
		for _, id := range []int{3, 4, 11, 41, 49} {
			if a, b := iso.Get(m, id), iso.Get(r.Resp, id); b != "" && a != b {
				diffs = append(diffs, fmt.Sprintf("field %d sent %q, answered %q", id, a, b))
			} else if b == "" && (id == 11 || id == 41) {
				diffs = append(diffs, fmt.Sprintf("field %d not echoed", id))
			}
		}
		o := Observation{MTI: mti, Outcome: Answered, RC: rc, SentMAC: iso.Has(m, 64), SignOnRTT: s.signOnRTT, EchoRTT: s.echoRTT}
		switch f, bad := Diagnose(o); {
		case len(diffs) > 0:
			c.Status = StatusFail
			c.Findings = []Finding{{Cause: ResponseFieldMismatch, Detail: fmt.Sprint(diffs)}}
		case bad:
			c.Status = StatusFail
			c.Findings = []Finding{f}
		case !iso.Has(r.Resp, 38):
			c.Status = StatusFail
			c.Findings = []Finding{{Cause: ResponseNoAuthCode, Detail: "RC " + rc + " without field 38"}}
		default:
			c.Status = StatusOK
			c.Details = append(c.Details, "echoed fields 3, 4, 11, 41, 49 match; approval code present")
			if s.keyed {
				c.Details = append(c.Details, "the answer's MAC verifies with the working MAC key")
			}
		}
	}
	// The reversal undoes the test purchase whatever its answer (an unknown
	// outcome is exactly what a reversal is for).
	rv := s.d.NewMessage()
	rv.MTI(s.d.MTI(iso.ReversalRequest))
	for _, f := range fields {
		_ = iso.Set(rv, f.id, iso.Get(m, f.id))
	}
	orig := fmt.Sprintf("%s%s%s%022d", mti, stan, iso.Get(m, 7), 0) // 1987 field 90: MTI, STAN, date-time, acquirer and forwarder ids
	if s.d.Version == iso.V1993 {
		orig = mti + stan + iso.Get(m, 7) // 1993 field 56 (n..35)
	}
	_ = iso.Set(rv, s.d.OriginalDataField(), orig)
	rr := s.call(rv)
	switch {
	case rr.Err != nil:
		c.Status = StatusFail
		c.Details = append(c.Details, "reversal 0400: "+rr.Err.Error())
		f := s.failure(rv, rr, 0)
		if f.Cause == ResponseTimeout || f.Cause == IssuerSlow || f.Cause == ResponseNeverSent {
			f = Finding{Cause: ReversalUnacknowledged, Detail: "the reversal of the test purchase got no answer: " + f.Explanation()}
		}
		c.Findings = append(c.Findings, f)
	case s.d.RC(rr.Resp) != "00":
		c.Status = StatusFail
		c.Findings = append(c.Findings, Finding{Cause: ReversalUnacknowledged, Detail: "the reversal was answered RC " + s.d.RC(rr.Resp)})
	default:
		c.Details = append(c.Details, fmt.Sprintf("reversal %s acknowledged (%s RC 00) in %s", s.d.MTI(iso.ReversalRequest), s.d.MTI(iso.ReversalResponse), fmtDur(rr.Done.Sub(rr.Sent))))
	}
	p.add(c)
	return c.Status == StatusOK
}

// idleMark is what one link said after an idle period: how long it was
// idle and whether its echo was answered.
type idleMark struct {
	idle time.Duration
	ok   bool
}

// watchIdle opens another link, has one echo answered on it, leaves it
// idle until at and echoes again: one point of the bracket of how long an
// idle link survives. false when the link never answered (no evidence).
// first and then are its two echo tests (built by the caller: the
// prober's STANs are not shared between goroutines).
func (p *prober) watchIdle(ctx context.Context, d *iso.Dialect, at time.Time, first, then *iso8583.Message) (idleMark, bool) {
	s, err := p.open(ctx, d)
	if err != nil {
		return idleMark{}, false
	}
	defer s.l.Close()
	if r := s.call(first); r.Err != nil {
		return idleMark{}, false
	}
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return idleMark{}, false
	case <-s.l.Done():
		return idleMark{idle: time.Since(s.last)}, true
	case <-t.C:
	}
	idle := time.Since(s.last)
	r := s.call(then)
	return idleMark{idle: idle, ok: r.Err == nil}, true
}

// idleBracket runs watchIdle on three more links at once, echoing after
// D/4, D/2 and 3D/4 idle (the main link gives D), so that the report says
// how long an idle link survived, not only that D was too long.
func (p *prober) idleBracket(ctx context.Context, d *iso.Dialect, start time.Time) <-chan []idleMark {
	out := make(chan []idleMark, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var marks []idleMark
	for k := 1; k <= 3; k++ {
		wg.Add(1)
		first, then := p.echoMsg(d, "301"), p.echoMsg(d, "301")
		go func(at time.Time) {
			defer wg.Done()
			if m, ok := p.watchIdle(ctx, d, at, first, then); ok {
				mu.Lock()
				marks = append(marks, m)
				mu.Unlock()
			}
		}(start.Add(p.cfg.Idle * time.Duration(k) / 4))
	}
	go func() { wg.Wait(); out <- marks }()
	return out
}

// bracket words the marks: "survived 300 ms idle, dead at 600 ms"; the
// longest idle survived is returned too (0: none).
func bracket(marks []idleMark) (string, time.Duration) {
	sort.Slice(marks, func(i, j int) bool { return marks[i].idle < marks[j].idle })
	var alive, dead time.Duration
	for _, m := range marks {
		if m.ok && dead == 0 {
			alive = m.idle
		}
		if !m.ok && dead == 0 {
			dead = m.idle
		}
	}
	switch {
	case dead == 0:
		return "", alive
	case alive == 0:
		return fmt.Sprintf("dead already at %s idle (the shortest tried)", fmtDur(dead)), 0
	}
	return fmt.Sprintf("survived %s idle, dead at %s", fmtDur(alive), fmtDur(dead)), alive
}

func (p *prober) idle(ctx context.Context, s *session) {
	others := p.idleBracket(ctx, s.d, time.Now())
	c := p.idleCheck(ctx, s)
	for i := range c.Findings {
		if c.Findings[i].Cause == LinkHalfOpen {
			p.bracketFinding(&c.Findings[i], others, c.idle)
		}
	}
	p.add(c.Check)
}

// idleCheck keeps s idle for --idle, then echoes on it.
func (p *prober) idleCheck(ctx context.Context, s *session) idleResult {
	start := time.Now()
	t := time.NewTimer(p.cfg.Idle)
	defer t.Stop()
	c := Check{Name: "idle"}
	select {
	case <-ctx.Done():
		c.Status, c.Summary = StatusSkipped, "interrupted"
		return idleResult{Check: c}
	case <-s.l.Done():
		survived := time.Since(s.last)
		c.Status, c.Took = StatusFail, time.Since(start)
		c.Summary = fmt.Sprintf("the link ended after %s idle: %v", fmtDur(survived), s.l.Err())
		c.Findings = []Finding{{Cause: LinkIdleTimeout, Detail: fmt.Sprintf("the host (or a middlebox) closed the link after %s without traffic", fmtDur(survived)),
			Fix: fmt.Sprintf("send echo tests more often than every %s, or lengthen the idle timeout at the host", fmtDur(survived))}}
		return idleResult{Check: c}
	case <-t.C:
	}
	idle := time.Since(s.last)
	m := p.echoMsg(s.d, "301")
	r := s.call(m)
	c.Took = time.Since(start)
	if r.Err == nil {
		c.Status, c.Summary = StatusOK, fmt.Sprintf("the link survived %s idle; the echo after it took %s", fmtDur(idle), fmtDur(r.Done.Sub(r.Sent)))
		return idleResult{Check: c}
	}
	var le *link.LinkError
	if errors.As(r.Err, &le) {
		c.Status, c.Summary = StatusFail, fmt.Sprintf("after %s idle the link failed: %v", fmtDur(idle), r.Err)
		c.Findings = []Finding{{Cause: LinkClosed, Detail: fmt.Sprintf("the link was closed or reset while idle (noticed at the first echo after %s): %v", fmtDur(idle), r.Err),
			Fix: fmt.Sprintf("send echo tests more often than every %s, or reconnect after an idle period", fmtDur(idle))}}
		return idleResult{Check: c}
	}
	// Unanswered on the idle link: does a fresh connection work?
	fresh := p.try(ctx, s.d)
	c.Status = StatusFail
	c.Summary = fmt.Sprintf("after %s idle the echo went unanswered", fmtDur(idle))
	if fresh.ok {
		c.Details = append(c.Details, "a new connection answers at once: "+fresh.how)
		c.Findings = []Finding{{Cause: LinkHalfOpen,
			Detail: fmt.Sprintf("the link answered before, stayed open through %s idle, then the echo got no answer while a new connection works: the idle session was dropped on the path; it survived less than %s", fmtDur(idle), fmtDur(idle)),
			Fix:    fmt.Sprintf("send echo tests (or TCP keepalives) more often than every %s, or reconnect after an idle period; raise the firewall/NAT idle timeout", fmtDur(idle))}}
	} else {
		c.Details = append(c.Details, "a new connection fails too: "+fresh.how)
		c.Findings = []Finding{{Cause: NetworkBlackhole, Detail: "after the idle period neither the idle link nor a new connection gets answers"}}
	}
	return idleResult{Check: c, idle: idle}
}

// idleResult is the idle check and how long its link was idle.
type idleResult struct {
	Check
	idle time.Duration
}

// bracketFinding adds the bracket of the other links to a half-open
// finding of the main link (idle for idle), with the echo interval to set.
func (p *prober) bracketFinding(f *Finding, others <-chan []idleMark, idle time.Duration) {
	marks := append(<-others, idleMark{idle: idle})
	b, alive := bracket(marks)
	if b == "" {
		return
	}
	f.Detail += "; links opened beside it " + b
	every := "more often than every " + fmtDur(idle)
	if alive > 0 {
		every = "at an interval below " + fmtDur(alive)
	}
	f.Fix = "a firewall or NAT drops idle sessions (" + b + "): enable echo tests or TCP keepalives " + every + ", or raise the middlebox's idle timeout"
}

type fieldValue struct {
	id int
	v  string
}
