package terminal

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// What the terminal can see that tells neighbouring causes apart, handed
// to the catalogue's rules (internal/diagnose Refine): the round trip of
// the sign-on or echo on the same link, whether anything was answered on
// it before, how many frames it read, whether the terminal itself sent a
// MAC.

// linkRTT is the last network-management round trip on one link.
type linkRTT struct {
	l   *link.Link
	rtt time.Duration
}

// noteRTT remembers the round trip of an answered sign-on or echo test.
func (t *Terminal) noteRTT(kind Kind, r link.Result) {
	if (kind != SignOn && kind != Echo) || r.Err != nil || r.Resp == nil {
		return
	}
	t.mu.Lock()
	l := t.l
	t.mu.Unlock()
	t.netRTT.Store(&linkRTT{l: l, rtt: r.Done.Sub(r.Sent)})
}

// refine returns the outcome's finding after the catalogue's rules have
// looked at what the terminal saw.
func (t *Terminal) refine(req *iso8583.Message, r link.Result, f diagnose.Finding, p *linkProbe) diagnose.Finding {
	o := diagnose.ObservationOf(t.cfg.Dialect, req, r, t.cfg.Timeout)
	o.Framing = t.cfg.Dialect.Framing
	observeProbe(&o, p)
	t.mu.Lock()
	l, signedOn := t.l, t.signedOn
	t.mu.Unlock()
	if n := t.netRTT.Load(); n != nil && n.l == l && l != nil {
		o.SignOnRTT = n.rtt
	}
	if l != nil {
		o.FramesBefore = int(l.Stats().FramesIn)
	}
	o.AnsweredBefore = signedOn || o.FramesBefore > 0
	return diagnose.Refine(o, f)
}

// refineUnanswered looks again at a timed-out request whose reversal and
// its repeats all went unanswered on a link that stayed up: they probed
// the link, and nothing came back (a black hole), unless the sign-on
// already said the network is slow.
func (t *Terminal) refineUnanswered(req *iso8583.Message, f diagnose.Finding) diagnose.Finding {
	o := diagnose.ObservationOf(t.cfg.Dialect, req, link.Result{Err: link.ErrTimeout}, t.cfg.Timeout)
	t.mu.Lock()
	l, signedOn := t.l, t.signedOn
	t.mu.Unlock()
	if l == nil {
		return f // the link went down: not a silent one
	}
	select {
	case <-l.Done():
		return f
	default:
	}
	if n := t.netRTT.Load(); n != nil && n.l == l {
		o.SignOnRTT = n.rtt
	}
	o.Probe, o.AnsweredBefore, o.ProbeWhat = diagnose.ProbeUnanswered, signedOn, "its reversal and repeats"
	return diagnose.Refine(o, f)
}

// The echo probe after a timeout: before the engine gives up on a request
// (and before it reverses), it sends one 0800 echo test on the same link,
// bounded by probeBound, and hands the rules what it saw — whether the echo
// was answered, and whether any byte at all arrived on the link since the
// request was written. That tells apart an issuer that is slow or an answer
// lost behind a live host (echo answered), a black hole or a half-open link
// (echo unanswered, not one byte), and lost framing (bytes, no frame). The
// fleet's lean path skips it: a probe per timeout would cost throughput at
// load and, on a shared link, prove nothing about one terminal.

// halfOpenIdle is the idle time before a request above which a silent link
// is called half-open (a middlebox forgot it) rather than a black hole.
const halfOpenIdle = time.Second

// probeBound is how long the echo probe waits: long enough for a slow link
// (three times its last sign-on/echo round trip), short enough not to hold
// the reversal back (at most 2 s, never above the response timeout).
func probeBound(timeout, rtt time.Duration) time.Duration {
	return min(timeout, max(2*time.Second, 3*rtt))
}

// watchConn counts every byte the link reads, whether or not it makes a
// frame, and keeps the last ones: a request's "anything at all since I
// wrote it" and the first bytes of a frame that never completed. It wraps
// the terminal's own links only (not the fleet's).
type watchConn struct {
	net.Conn
	mu   sync.Mutex
	n    uint64
	ring [256]byte
}

func (c *watchConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		for _, b := range p[:n] {
			c.ring[c.n%uint64(len(c.ring))] = b
			c.n++
		}
		c.mu.Unlock()
	}
	return n, err
}

// CloseWrite passes through (a fault under the watch may half-close).
func (c *watchConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// count is how many bytes were read so far.
func (c *watchConn) count() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// since returns how many bytes were read after mark, and those bytes when
// the ring still holds them all.
func (c *watchConn) since(mark uint64) (int, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n - mark
	if n == 0 || n > uint64(len(c.ring)) {
		return int(n), nil
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = c.ring[(mark+uint64(i))%uint64(len(c.ring))]
	}
	return int(n), out
}

func watchOf(l *link.Link) *watchConn {
	if l == nil {
		return nil
	}
	w, _ := l.Conn().(*watchConn)
	return w
}

// linkProbe is what the engine saw of the link after a timeout.
type linkProbe struct {
	result  diagnose.ProbeResult
	echoRTT time.Duration
	bound   time.Duration
	// partial: bytes after the request that made no frame, and the first
	// of them.
	partial int
	head    []byte
	silent  bool          // not one byte arrived after the request
	waited  time.Duration // from the request's write to the probe's end
	idle    time.Duration // the link's idle time before the request
	at      time.Time     // when the probe ended
	what    string        // the probe's end in words (evidence)
	// whatProbed names the probe for the rules ("": an echo test).
	whatProbed string
}

// mark remembers where the link stood when x was written.
func (x *txn) mark(l *link.Link) {
	x.on, x.inMark, x.framesMark = l, 0, 0
	if w := watchOf(l); w != nil {
		x.inMark, x.watched = w.count(), true
	} else {
		x.watched = false
	}
	x.framesMark = l.Stats().FramesIn
	x.idleBefore = time.Since(time.Unix(0, x.t.lastTraffic.Load()))
}

// canProbe: the link x timed out on can be probed — not in the fleet's
// lean path, not when the terminal stops or the link is down, and not for
// network management (an echo would prove nothing more, and the host would
// see an extra 0800).
func (x *txn) canProbe() bool {
	l := x.on
	return !x.lean && x.watched && l != nil && l.Err() == nil && !x.t.stopping.Load() &&
		!(x.sp.MTI != "" && iso.Class(x.sp.MTI) == '8')
}

// reversalProbed takes the first answer to x's reversal as the probe of the
// link: an acknowledgement proves the link and the host alive (as an echo
// would, without an extra message); a timeout sends the echo test now,
// beside the reversal's repeats.
func (x *txn) reversalProbed(r link.Result) {
	l := x.on
	var le *link.LinkError
	switch {
	case acknowledges(r):
		p := x.probeSaw(l, r, r, x.t.cfg.Timeout, diagnose.ProbeAnswered)
		p.whatProbed, p.what = "its reversal", "reversal acknowledged in "+diagnose.Took(p.echoRTT)
		x.probeRes = p
	case errors.As(r.Err, &le):
		p := x.probeSaw(l, x.res, r, x.t.cfg.Timeout, diagnose.ProbeLinkDown)
		p.whatProbed, p.what = "its reversal", "reversal: "+le.Error()
		x.probeRes = p
	default:
		x.startProbe()
	}
}

// startProbe sends the echo test on the link x timed out on; its end
// ends x together with x's own story (joins).
func (x *txn) startProbe() {
	t, l := x.t, x.on
	if l.Err() != nil || t.stopping.Load() {
		return
	}
	var rtt time.Duration
	if n := t.netRTT.Load(); n != nil && n.l == l {
		rtt = n.rtt
	}
	bound := probeBound(t.cfg.Timeout, rtt)
	echo, err := t.build(Tx{Kind: Echo}, t.NextSTAN(), time.Now())
	if err != nil {
		return
	}
	x.evidence(time.Now(), "echo test on the same link (waits "+diagnose.Took(bound)+")")
	x.probing = true
	x.joins.Store(2)
	l.Send(echo, bound, func(er link.Result) {
		var p *linkProbe
		if !t.stopping.Load() { // stopped meanwhile: the probe proves nothing
			var le *link.LinkError
			switch {
			case er.Err == nil && er.Resp != nil:
				p = x.probeSaw(l, x.res, er, bound, diagnose.ProbeAnswered)
				p.what = "echo test answered in " + diagnose.Took(p.echoRTT)
			case errors.As(er.Err, &le):
				p = x.probeSaw(l, x.res, er, bound, diagnose.ProbeLinkDown)
				p.what = "echo test: " + le.Error()
			default:
				p = x.probeSaw(l, x.res, er, bound, diagnose.ProbeUnanswered)
				p.what = "echo test unanswered too"
			}
		}
		x.probeRes = p
		if x.joins.Add(-1) == 0 {
			x.applyProbe()
			x.record()
		}
	})
}

// probeSaw is what the link l carried from x's request r until the probe
// pr ended: the probe's result, and whether any byte arrived and made no
// frame.
func (x *txn) probeSaw(l *link.Link, r, pr link.Result, bound time.Duration, res diagnose.ProbeResult) *linkProbe {
	p := &linkProbe{result: res, bound: bound, idle: x.idleBefore, waited: pr.Done.Sub(r.Sent), at: pr.Done}
	if res == diagnose.ProbeAnswered {
		p.echoRTT = pr.Done.Sub(pr.Sent)
	}
	n, head := watchOf(l).since(x.inMark)
	p.silent = n == 0
	switch {
	case x.partialN > 0: // judged at the timeout (see timedOut)
		p.partial, p.head = x.partialN, x.partialHead
	case n > 0 && l.Stats().FramesIn == x.framesMark:
		p.partial, p.head = n, head
	}
	return p
}

// timedOut remembers the bytes that arrived between x's request and its
// timeout without making a frame: a later answer (the reversal's, the
// echo's) may complete the broken frame, so they are judged now.
func (x *txn) timedOut() {
	l := x.on
	if n, head := watchOf(l).since(x.inMark); n > 0 && l.Stats().FramesIn == x.framesMark {
		x.partialN, x.partialHead = n, head
	}
}

// applyProbe names x's cause again with what the probe saw (the engine's
// own finding and everything seen since as evidence).
func (x *txn) applyProbe() {
	p := x.probeRes
	if p == nil {
		return
	}
	x.evidence(p.at, p.what)
	base := x.base
	base.Evidence = x.o.Cause.Evidence
	x.o.Cause = x.t.refine(x.req, x.res, base, p)
}

// observeProbe adds what the probe saw to o.
func observeProbe(o *diagnose.Observation, p *linkProbe) {
	if p == nil {
		return
	}
	o.Probe, o.ProbeBound, o.Waited, o.ProbeWhat = p.result, p.bound, p.waited, p.whatProbed
	o.BytesAfterTimeout = !p.silent
	o.PartialBytes, o.PartialHead = p.partial, p.head
	if p.result == diagnose.ProbeAnswered {
		o.ProbeRTT = p.echoRTT
		if p.whatProbed == "" { // an echo test: a network-management round trip
			o.EchoRTT = p.echoRTT
		}
	}
	if p.idle >= halfOpenIdle {
		o.Idle = p.idle
	}
}
