package terminal

import (
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/diagnose"
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
func (t *Terminal) refine(req *iso8583.Message, r link.Result, f diagnose.Finding) diagnose.Finding {
	o := diagnose.ObservationOf(t.cfg.Dialect, req, r, t.cfg.Timeout)
	o.Framing = t.cfg.Dialect.Framing
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
