// Package terminal is possim's fake POS: it signs on, sends transactions,
// and recovers like a real terminal when the link misbehaves — response
// timeout → reversal (0400, repeated as 0401 with backoff), reversals kept
// and sent again after a reconnect (store-and-forward), echo test after
// idle, reconnect with backoff.
package terminal

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/tlsconf"
)

// Config of a terminal. Zero values get defaults.
type Config struct {
	Target   string // host:port, default 127.0.0.1:8583
	Dialect  *iso.Dialect
	TID      string // field 41, default POSSIM01
	MID      string // field 42, default POSSIM-MERCHANT
	Currency string // field 49, default 978

	Timeout        time.Duration // response timeout, default 10 s
	ConnectTimeout time.Duration // default 5 s
	// ConnectAttempts is how many times Connect tries before giving up
	// (backoff between tries doubles from ReconnectBackoff).
	ConnectAttempts  int           // default 3
	ReconnectBackoff time.Duration // default 200 ms, doubling up to 5 s

	SignOnAtConnect  bool          // send 0800/001 when the link comes up
	EchoIdle         time.Duration // echo test after this long idle (Run only); 0: never
	ReversalAttempts int           // 0400 + 0401 repeats before the reversal is stored; default 3
	ReversalBackoff  time.Duration // wait before a repeat, doubling; default 1 s

	Match    link.Match
	Observer func(link.Event)
	// Faults are the terminal's fault rules (for testing someone else's
	// host): message faults on its requests, byte faults on its
	// connection, and die. nil: none.
	Faults      *fault.RuleSet
	Interceptor link.Interceptor
	WrapConn    func(net.Conn) net.Conn
	Codec       func(link.Codec) link.Codec
	Pool        *link.Pool
	Logger      *slog.Logger
	// STANStart is the first STAN (default 1); STANs wrap at 999999.
	STANStart uint32

	// Security turns on MACs and working keys (keys.go); nil: off.
	Security *Security

	// TLS, when set, runs a TLS handshake on every connection (a failed
	// one is named by internal/tlsconf); nil: plain TCP.
	TLS *tls.Config
}

// Terminal is one POS with its own TID and STAN sequence.
type Terminal struct {
	cfg  Config
	stan atomic.Uint32

	mu       sync.Mutex
	l        *link.Link
	lastErr  string
	signedOn bool
	saf      []*pendingReversal
	flushing bool
	inFlush  int // stored reversals a flush has taken out of saf and not yet settled

	lastTraffic atomic.Int64 // unix nanos

	*termKeys // MACs and working keys (keys.go); nil when off
}

type pendingReversal struct {
	orig   *iso8583.Message
	stan   string
	result *ReversalResult
}

// New returns a terminal; it connects on Connect.
func New(cfg Config) (*Terminal, error) {
	if cfg.Target == "" {
		cfg.Target = "127.0.0.1:8583"
	}
	if cfg.Dialect == nil {
		d, err := iso.Lookup("iso87ascii")
		if err != nil {
			return nil, err
		}
		cfg.Dialect = d
	}
	if cfg.TID == "" {
		cfg.TID = "POSSIM01"
	}
	if len(cfg.TID) > 8 {
		return nil, fmt.Errorf("TID %q is longer than 8 characters (field 41)", cfg.TID)
	}
	if cfg.MID == "" {
		cfg.MID = "POSSIM-MERCHANT"
	}
	if len(cfg.MID) > 15 {
		return nil, fmt.Errorf("MID %q is longer than 15 characters (field 42)", cfg.MID)
	}
	if cfg.Currency == "" {
		cfg.Currency = "978"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.ConnectAttempts <= 0 {
		cfg.ConnectAttempts = 3
	}
	if cfg.ReconnectBackoff <= 0 {
		cfg.ReconnectBackoff = 200 * time.Millisecond
	}
	if cfg.ReversalAttempts <= 0 {
		cfg.ReversalAttempts = 3
	}
	if cfg.ReversalBackoff <= 0 {
		cfg.ReversalBackoff = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if rs := cfg.Faults; rs != nil {
		if cfg.Interceptor == nil {
			cfg.Interceptor = rs.Interceptor(fault.Terminal)
		}
		if cfg.WrapConn == nil {
			cfg.WrapConn = func(c net.Conn) net.Conn { return rs.WrapConn(c, fault.Terminal) }
		}
	}
	t := &Terminal{cfg: cfg}
	start := cfg.STANStart
	if start == 0 {
		start = 1
	}
	t.stan.Store(start - 1)
	var err error
	if t.termKeys, err = newTermKeys(t, cfg.Security); err != nil {
		return nil, err
	}
	return t, nil
}

// TID is the terminal's id.
func (t *Terminal) TID() string { return t.cfg.TID }

// NextSTAN allocates the next STAN (000001..999999, wrapping).
func (t *Terminal) NextSTAN() string {
	for {
		old := t.stan.Load()
		n := old%999999 + 1
		if t.stan.CompareAndSwap(old, n) {
			return fmt.Sprintf("%06d", n)
		}
	}
}

// Link returns the current link, nil when down.
func (t *Terminal) Link() *link.Link {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.l != nil {
		select {
		case <-t.l.Done():
			return nil
		default:
		}
	}
	return t.l
}

// Connect dials the host (retrying with backoff), signs on when configured
// and sends stored reversals. It returns the classified reason on failure.
func (t *Terminal) Connect(ctx context.Context) error {
	backoff := t.cfg.ReconnectBackoff
	var last error
	for attempt := 1; attempt <= t.cfg.ConnectAttempts; attempt++ {
		if err := t.connectOnce(ctx); err == nil {
			return nil
		} else {
			last = err
		}
		if attempt == t.cfg.ConnectAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return last
}

func (t *Terminal) connectOnce(ctx context.Context) error {
	if t.Link() != nil {
		return nil
	}
	d := net.Dialer{Timeout: t.cfg.ConnectTimeout}
	nc, err := d.DialContext(ctx, "tcp", t.cfg.Target)
	if err != nil {
		why := DialError(t.cfg.Target, err)
		t.setErr(why)
		return errors.New(why)
	}
	if t.cfg.TLS != nil {
		tc, err := tlsconf.Handshake(ctx, nc, t.cfg.TLS, t.cfg.ConnectTimeout)
		if err != nil {
			t.setErr(err.Error())
			return err
		}
		nc = tc
	}
	if t.cfg.WrapConn != nil {
		nc = t.cfg.WrapConn(nc)
	}
	lc := link.Config{
		Dialect:     t.cfg.Dialect,
		Match:       t.cfg.Match,
		Handler:     link.HandlerFunc(t.handleHost),
		Interceptor: t.cfg.Interceptor,
		Pool:        t.cfg.Pool,
		Observer:    t.observe,
	}
	if t.cfg.Codec != nil {
		lc.Codec = t.cfg.Codec(link.DialectCodec{D: t.cfg.Dialect})
	}
	l := link.New(nc, lc).Start()
	t.mu.Lock()
	old := t.l
	t.l = l
	t.signedOn = false
	t.mu.Unlock()
	if old != nil {
		old.Close()
	}
	t.touch()
	t.cfg.Logger.Info("link up", "tid", t.cfg.TID, "target", t.cfg.Target)
	if t.cfg.SignOnAtConnect {
		o := t.Do(SignOnTx())
		if o.Class != Approved {
			why := fmt.Sprintf("sign-on failed: %s %s", o.Class, firstNonEmpty(o.Why, o.RC+" "+o.RCMeaning))
			t.setErr(why)
			// A link without a sign-on is no use: drop it, so that the next
			// attempt starts over instead of finding it "connected".
			t.mu.Lock()
			if t.l == l {
				t.l = nil
			}
			t.mu.Unlock()
			l.Close()
			return errors.New(why)
		}
	}
	t.flushSAF()
	return nil
}

// SignOnTx is the sign-on transaction.
func SignOnTx() Tx { return Tx{Kind: SignOn} }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (t *Terminal) setErr(s string) {
	t.mu.Lock()
	t.lastErr = s
	t.mu.Unlock()
}

func (t *Terminal) observe(e link.Event) {
	if e.Kind == link.EvReceived {
		t.touch()
	}
	if t.cfg.Observer != nil {
		t.cfg.Observer(e)
	}
}

func (t *Terminal) touch() { t.lastTraffic.Store(time.Now().UnixNano()) }

// handleHost answers host-initiated network management: echo, sign-off, key
// change.
func (t *Terminal) handleHost(l *link.Link, in *link.Inbound) {
	if in.Err != nil || iso.Class(in.MTI) != '8' {
		return
	}
	code := iso.Get(in.Msg, 70)
	rc := "00"
	if code == "101" {
		rc = t.keyChange(in.Msg) // new working keys in field 62
	}
	if code == "002" {
		t.mu.Lock()
		t.signedOn = false
		t.mu.Unlock()
	}
	resp := t.cfg.Dialect.NewMessage()
	mti, _ := iso.ResponseMTI(in.MTI)
	resp.MTI(mti)
	for _, id := range []int{7, 11, 41, 70} {
		if v := iso.Get(in.Msg, id); v != "" {
			_ = iso.Set(resp, id, v)
		}
	}
	_ = iso.Set(resp, 39, rc)
	_ = l.Reply(in, resp)
}

// Close drops the link. Stored reversals stay in memory.
func (t *Terminal) Close() error {
	t.mu.Lock()
	l := t.l
	t.l = nil
	t.mu.Unlock()
	if l != nil {
		l.Close()
	}
	return nil
}

// Do performs tx and waits for its outcome.
func (t *Terminal) Do(tx Tx) Outcome {
	ch := make(chan Outcome, 1)
	t.Begin(tx, func(o Outcome) { ch <- o })
	return <-ch
}

// Begin starts tx and calls done exactly once with its outcome, from a link
// goroutine (done must not block).
func (t *Terminal) Begin(tx Tx, done func(Outcome)) {
	o := Outcome{Kind: tx.Kind}
	l := t.Link()
	if l == nil {
		o.Class = NotSent
		t.mu.Lock()
		o.Why = "no link to the host"
		if t.lastErr != "" {
			o.Why += ": " + t.lastErr
		}
		t.mu.Unlock()
		done(o)
		return
	}
	o.STAN = t.NextSTAN()
	req, err := t.build(tx, o.STAN, time.Now())
	if err != nil {
		o.Class, o.Why = NotSent, "cannot build the request: "+err.Error()
		done(o)
		return
	}
	o.Req = req
	t.touch()
	died := t.cfg.Faults.Dies(req)
	l.Send(req, t.cfg.Timeout, func(r link.Result) {
		o.Latency = r.Done.Sub(r.Sent)
		if died {
			o.Class = LinkFailed
			o.Why = "terminal died after sending (fault die): no answer awaited, nothing reversed"
			if r.Err == nil {
				fill(&o, r.Resp)
			}
			done(o)
			return
		}
		if r.Err == nil {
			fill(&o, r.Resp)
			o.Class = Declined
			if iso.IsApproval(o.RC) {
				o.Class = Approved
				if tx.Kind == SignOn {
					if err := t.installKeys(r.Resp); err != nil { // KCV mismatch...
						o.Class, o.Why = Declined, err.Error()
						done(o)
						return
					}
					t.mu.Lock()
					t.signedOn = true
					t.mu.Unlock()
				}
			}
			done(o)
			return
		}
		if r.Resp != nil {
			fill(&o, r.Resp)
		}
		o.Why = explain(r, t.cfg.Timeout)
		if why := macWhy(r.Err); why != "" {
			o.Why = why // an answer whose MAC failed: not trusted
		}
		var le *link.LinkError
		linkFailed := errors.As(r.Err, &le)
		switch {
		case !linkFailed && (errors.Is(r.Err, link.ErrQueueFull) || errors.Is(r.Err, link.ErrDuplicateKey) || r.Resp == nil && !errors.Is(r.Err, link.ErrTimeout)):
			o.Class = NotSent
			done(o)
		case !shapes[tx.Kind].financial:
			o.Class = TimedOut
			if linkFailed {
				o.Class = LinkFailed
			}
			done(o)
		case linkFailed:
			// The host may or may not have the request: reverse it once a
			// link is back (store-and-forward).
			o.Class = LinkFailed
			o.Reversal = t.store(req, "link failed before the answer; reversal stored for the next connection")
			done(o)
		default:
			// Timeout, or an answer that cannot be trusted (bad MAC, wrong
			// MTI, unreadable): the terminal reverses.
			t.reverse(req, func(rr *ReversalResult) {
				o.Reversal = rr
				o.Class = Reversed
				if !rr.Acked {
					o.Class = ReversalPending
				}
				done(o)
			})
		}
	})
	if died {
		l.AbortAfterWrite(errors.New("terminal died (fault die)"))
	}
}

// reverse sends 0400 then 0401 repeats with backoff until a 0410 arrives or
// the attempts run out; then the reversal is stored.
func (t *Terminal) reverse(orig *iso8583.Message, done func(*ReversalResult)) {
	rr := &ReversalResult{STAN: t.NextSTAN()}
	backoff := t.cfg.ReversalBackoff
	var try func()
	try = func() {
		l := t.Link()
		if l == nil {
			done(t.storeResult(orig, rr, "no link for the reversal"))
			return
		}
		rev, err := t.reversalFor(orig, rr.STAN, rr.Attempts > 0, time.Now())
		if err != nil {
			rr.Why = "cannot build reversal: " + err.Error()
			done(rr)
			return
		}
		rr.Attempts++
		l.Send(rev, t.cfg.Timeout, func(r link.Result) {
			if acknowledges(r) {
				rr.Acked = true
				done(rr)
				return
			}
			var le *link.LinkError
			if errors.As(r.Err, &le) {
				done(t.storeResult(orig, rr, "link failed during the reversal: "+le.Error()))
				return
			}
			if rr.Attempts >= t.cfg.ReversalAttempts {
				done(t.storeResult(orig, rr, fmt.Sprintf("no 0410 after %d attempts", rr.Attempts)))
				return
			}
			wait := backoff
			backoff *= 2
			time.AfterFunc(wait, try)
		})
	}
	try()
}

func (t *Terminal) storeResult(orig *iso8583.Message, rr *ReversalResult, why string) *ReversalResult {
	rr.Pending, rr.Why = true, why
	t.mu.Lock()
	t.saf = append(t.saf, &pendingReversal{orig: orig, stan: rr.STAN, result: rr})
	t.mu.Unlock()
	return rr
}

func (t *Terminal) store(orig *iso8583.Message, why string) *ReversalResult {
	return t.storeResult(orig, &ReversalResult{STAN: t.NextSTAN()}, why)
}

// PendingReversals is how many reversals wait in store-and-forward.
func (t *Terminal) PendingReversals() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.saf) + t.inFlush
}

// flushSAF sends stored reversals (as 0401 repeats) one by one; those
// acknowledged leave the store.
func (t *Terminal) flushSAF() {
	t.mu.Lock()
	if t.flushing || len(t.saf) == 0 {
		t.mu.Unlock()
		return
	}
	t.flushing = true
	queue := t.saf
	t.saf = nil
	t.inFlush = len(queue) // still pending for PendingReversals while they are sent
	t.mu.Unlock()
	var keep []*pendingReversal
	for _, p := range queue {
		l := t.Link()
		if l == nil {
			keep = append(keep, p)
			continue
		}
		rev, err := t.reversalFor(p.orig, p.stan, true, time.Now())
		if err != nil {
			keep = append(keep, p)
			continue
		}
		t.mu.Lock()
		p.result.Attempts++
		t.mu.Unlock()
		r := l.Call(rev, t.cfg.Timeout)
		if acknowledges(r) {
			t.mu.Lock()
			p.result.Acked, p.result.Pending = true, false
			p.result.Why = "sent from store-and-forward after reconnect"
			t.inFlush--
			t.mu.Unlock()
			t.cfg.Logger.Info("stored reversal acknowledged", "stan", p.stan)
			continue
		}
		keep = append(keep, p)
	}
	t.mu.Lock()
	t.saf = append(keep, t.saf...)
	t.inFlush = 0
	t.flushing = false
	t.mu.Unlock()
}

// Run keeps the terminal connected until ctx ends: reconnects with backoff
// when the link drops (signing on and flushing stored reversals) and sends
// an echo test after EchoIdle without traffic; a failed echo drops the link
// (how a half-open link is found).
func (t *Terminal) Run(ctx context.Context) {
	backoff := t.cfg.ReconnectBackoff
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		l := t.Link()
		if l == nil {
			if err := t.connectOnce(ctx); err != nil {
				t.cfg.Logger.Warn("reconnect failed", "tid", t.cfg.TID, "why", err.Error(), "retry_in", backoff)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = t.cfg.ReconnectBackoff
			continue
		}
		if t.PendingReversals() > 0 {
			t.flushSAF()
		}
		idle := time.Since(time.Unix(0, t.lastTraffic.Load()))
		if t.cfg.EchoIdle > 0 && idle >= t.cfg.EchoIdle {
			o := t.Do(Tx{Kind: Echo})
			if o.Class != Approved {
				t.cfg.Logger.Warn("echo test failed: dropping the link", "tid", t.cfg.TID, "why", o.Why)
				l.Abort(fmt.Errorf("echo test failed: %s", o.Why))
			}
		}
	}
}

// acknowledges: any 04x0 answer means the host has the reversal, even one
// whose other fields are odd.
func acknowledges(r link.Result) bool {
	if r.Resp == nil || untrusted(r.Err) { // a 0410 whose MAC fails proves nothing
		return false
	}
	mti, _ := r.Resp.GetMTI()
	return iso.Class(mti) == '4' && iso.IsResponse(mti)
}
