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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/possim/possim/internal/tlsconf"

	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/outcome"
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
	SignOnAgain      bool          // Run: sign on again after the host signed the terminal off
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

	// Store keeps the STAN counter, the transactions and the reversals to
	// send (store-and-forward): a Journal on disk, or nil for memory only.
	// The terminal continues the store's STANs when it is after STANStart.
	Store Store
	// Scheduler runs reversal backoffs; nil: the terminal starts its own
	// (a fleet shares one among its terminals).
	Scheduler *link.Scheduler
	// OnFlush is told of each stored reversal that store-and-forward got
	// acknowledged.
	OnFlush func(*Record)

	// TLS, when set, runs a TLS handshake on every connection (a failed
	// one is named by internal/tlsconf); nil: plain TCP.
	TLS *tls.Config
	// TLSServerNameFromTarget checks each alternate host's certificate
	// against its own address (set when no --tls-server-name is given).
	TLSServerNameFromTarget bool

	// EntryMode (field 22) and POSCondition (field 25) override what the
	// card's read mode gives; Fields override any request field last
	// (--field N=VALUE, "" removes it).
	EntryMode, POSCondition string
	Fields                  []FieldValue
}

// Terminal is one POS with its own TID and STAN sequence.
type Terminal struct {
	cfg      Config
	stan     atomic.Uint32
	store    Store
	sched    *link.Scheduler
	ownSched bool
	stopping atomic.Bool

	targetIdx  int    // which of the --target list is in use
	switchOver string // the last switch-over to an alternate host
	mu         sync.Mutex
	l          *link.Link
	lastErr    string
	lastWhy    diagnose.ID
	signedOn   bool
	flushing   bool
	inFlush    int // stored reversals a flush has taken and not yet settled
	// recent answers seen after their request ended, by STAN: duplicates
	// and late answers (bounded: cleared when it grows past recentMax).
	dups map[string]int
	late map[string]*LateAnswer
	// live are the reversal stories of this process's outcomes waiting in
	// store-and-forward, by reversal STAN: a flush updates them.
	live map[string]*ReversalResult

	lastTraffic atomic.Int64            // unix nanos
	netRTT      atomic.Pointer[linkRTT] // last sign-on/echo round trip (diagnose.go)

	*termKeys // MACs and working keys (keys.go); nil when off
}

// LateAnswer is an answer that came after its request timed out.
type LateAnswer = outcome.LateAnswer

const recentMax = 1024

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
	if err := CheckTID(cfg.TID); err != nil {
		return nil, err
	}
	if cfg.MID == "" {
		cfg.MID = "POSSIM-MERCHANT"
	}
	if err := CheckMID(cfg.MID); err != nil {
		return nil, err
	}
	if cfg.Currency == "" {
		cfg.Currency = "978"
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.ConnectAttempts <= 0 {
		cfg.ConnectAttempts = 3
	}
	recoveryDefaults(&cfg.Timeout, &cfg.ReconnectBackoff, &cfg.ReversalAttempts, &cfg.ReversalBackoff)
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
	t := &Terminal{cfg: cfg, store: cfg.Store, sched: cfg.Scheduler}
	if t.store == nil {
		t.store = newMemStore()
	}
	start := cfg.STANStart
	if start == 0 {
		start = 1
	}
	last := start - 1
	if js := t.store.LastSTAN(); js > last {
		last = js // STANs continue across runs
	}
	t.stan.Store(last % 999999)
	var err error
	if t.termKeys, err = newTermKeys(t, cfg.Security); err != nil {
		return nil, err
	}
	if t.sched == nil {
		t.sched, t.ownSched = link.NewScheduler(), true
	}
	return t, nil
}

// recoveryDefaults are the defaults of the response timeout, reconnect
// backoff and reversal repeats, for a terminal and a fleet alike.
func recoveryDefaults(timeout, reconnect *time.Duration, revAttempts *int, revBackoff *time.Duration) {
	if *timeout <= 0 {
		*timeout = 10 * time.Second
	}
	if *reconnect <= 0 {
		*reconnect = 200 * time.Millisecond
	}
	if *revAttempts <= 0 {
		*revAttempts = 3
	}
	if *revBackoff <= 0 {
		*revBackoff = time.Second
	}
}

// TID is the terminal's id.
func (t *Terminal) TID() string { return t.cfg.TID }

// Store is the terminal's store (journal or memory).
func (t *Terminal) Store() Store { return t.store }

// nextSTAN is the one STAN allocator: 1..999999, wrapping.
func (t *Terminal) nextSTAN() uint32 {
	for {
		old := t.stan.Load()
		n := old%999999 + 1
		if t.stan.CompareAndSwap(old, n) {
			return n
		}
	}
}

// NextSTAN allocates the next STAN as six digits.
func (t *Terminal) NextSTAN() string {
	var b [6]byte
	t.nextSTANInto(&b)
	return string(b[:])
}

// nextSTANInto allocates the next STAN, written into b without fmt.
func (t *Terminal) nextSTANInto(b *[6]byte) {
	n := t.nextSTAN()
	for i := 5; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
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
	return redial(ctx, t.cfg.ConnectAttempts, t.cfg.ReconnectBackoff, func() error { return t.connectOnce(ctx) }, nil)
}

// ConnectError is a failed connect with its cause.
type ConnectError struct {
	Cause diagnose.ID
	Why   string
}

func (e *ConnectError) Error() string { return e.Why }

func (t *Terminal) connectOnce(ctx context.Context) error {
	if t.Link() != nil {
		return nil
	}
	l, err := t.openWatched(ctx, link.Config{Handler: link.HandlerFunc(t.handleHost), Interceptor: t.cfg.Interceptor, Observer: t.observe})
	if err != nil {
		return err
	}
	t.attach(l)
	t.cfg.Logger.Info("link up", "tid", t.cfg.TID, "target", t.cfg.Target)
	if t.cfg.SignOnAtConnect {
		o := t.Do(SignOnTx())
		if o.Class != Approved {
			why := fmt.Sprintf("sign-on failed: %s %s", o.Class, firstNonEmpty(o.Why(), o.RC+" "+o.RCMeaning))
			t.setErr(why, o.Cause.Cause)
			// A link without a sign-on is no use: drop it, so that the next
			// attempt starts over instead of finding it "connected".
			t.mu.Lock()
			if t.l == l {
				t.l = nil
			}
			t.mu.Unlock()
			l.Close()
			return &ConnectError{Cause: o.Cause.Cause, Why: why}
		}
	}
	t.flushSAF()
	return nil
}

// openLink dials the host and starts a link on the connection: the one
// dial of the terminal and the fleet (lc brings the handler, observer,
// interceptor and a codec of its own; the rest comes from t's config).
func (t *Terminal) openLink(ctx context.Context, lc link.Config) (*link.Link, error) {
	return t.dialLink(ctx, lc, false)
}

// openWatched is openLink for the terminal's own link: its bytes are
// counted for the echo probe after a timeout (diagnose.go).
func (t *Terminal) openWatched(ctx context.Context, lc link.Config) (*link.Link, error) {
	return t.dialLink(ctx, lc, true)
}

func (t *Terminal) dialLink(ctx context.Context, lc link.Config, watch bool) (*link.Link, error) {
	nc, err := t.dialTargets(ctx) // the host or its alternates, TLS included
	if err != nil {
		return nil, err
	}
	if t.cfg.WrapConn != nil {
		nc = t.cfg.WrapConn(nc)
	}
	if watch { // outermost: the bytes the link itself reads
		nc = &watchConn{Conn: nc}
	}
	lc.Dialect, lc.Match, lc.Pool = t.cfg.Dialect, t.cfg.Match, t.cfg.Pool
	if lc.Codec == nil && t.cfg.Codec != nil {
		lc.Codec = t.cfg.Codec(link.DialectCodec{D: t.cfg.Dialect})
	}
	return link.New(nc, lc).Start(), nil
}

// attach makes l the terminal's link (the fleet attaches its shared links).
func (t *Terminal) attach(l *link.Link) {
	t.mu.Lock()
	old := t.l
	t.l, t.signedOn = l, false
	t.mu.Unlock()
	if old != nil && old != l {
		old.Abort(link.ErrClosedLocally)
	}
	t.touch()
}

// SignOnTx is the sign-on transaction.
func SignOnTx() Tx { return Tx{Kind: SignOn} }

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

func (t *Terminal) setErr(s string, cause diagnose.ID) {
	t.mu.Lock()
	t.lastErr, t.lastWhy = s, cause
	t.mu.Unlock()
}

func (t *Terminal) observe(e link.Event) {
	switch e.Kind {
	case link.EvReceived:
		t.touch()
	case link.EvDuplicate, link.EvLate:
		t.noteRecent(e)
	}
	if t.cfg.Observer != nil {
		t.cfg.Observer(e)
	}
}

// noteRecent remembers a duplicate or late answer for Settle.
func (t *Terminal) noteRecent(e link.Event) {
	if e.Msg == nil {
		return
	}
	stan := str(e.Msg, 11)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dups == nil || len(t.dups)+len(t.late) > recentMax {
		t.dups, t.late = map[string]int{}, map[string]*LateAnswer{}
	}
	if e.Kind == link.EvDuplicate {
		t.dups[stan]++
	} else {
		t.late[stan] = &LateAnswer{After: e.Late, RC: t.cfg.Dialect.RC(e.Msg)}
	}
}

// Settle waits up to d for what may still come for o after it ended — a
// late answer to a timed-out request, a duplicate of an answer — and adds
// it to o. It returns early once the link has nothing in flight and a late
// answer (when o timed out) has been seen.
func (t *Terminal) Settle(o *Outcome, d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		t.mu.Lock()
		n, late := t.dups[o.STAN], t.late[o.STAN]
		t.mu.Unlock()
		o.Duplicates, o.Late = n, late
		if time.Now().After(deadline) || late != nil || t.stopping.Load() || t.Link() == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (t *Terminal) touch() { t.lastTraffic.Store(time.Now().UnixNano()) }

// handleHost answers host-initiated network management: echo, sign-off, key
// change.
func (t *Terminal) handleHost(l *link.Link, in *link.Inbound) {
	if in.Err != nil || iso.Class(in.MTI) != '8' {
		return
	}
	d := t.cfg.Dialect
	code := d.NetworkCode(in.Msg)
	rc := "00"
	if code == "101" {
		rc = t.keyChange(in.Msg) // new working keys in field 62
	}
	if code == "002" {
		t.mu.Lock()
		t.signedOn = false
		t.mu.Unlock()
	}
	resp := d.NewMessage()
	mti, _ := iso.ResponseMTI(in.MTI)
	resp.MTI(mti)
	for _, id := range []int{7, 11, 41, d.NetworkField()} {
		if v := iso.Get(in.Msg, id); v != "" {
			_ = iso.Set(resp, id, v)
		}
	}
	_ = d.SetRC(resp, rc)
	_ = l.Reply(in, resp)
	t.cfg.Logger.Info("host network management answered", "code", code, "rc", rc)
}

// SetSignOnAgain makes Run sign on again after a host sign-off.
func (t *Terminal) SetSignOnAgain(on bool) { t.cfg.SignOnAgain = on }

// SignedOn reports whether the terminal is signed on (a host sign-off
// clears it).
func (t *Terminal) SignedOn() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.signedOn
}

// Stop makes the terminal give up on what is in progress: no more
// reversal repeats (each is stored at once), the link is closed (requests
// in flight end, reversals in flight are stored). Safe to call from a
// signal handler's goroutine; Close still has to be called.
func (t *Terminal) Stop() {
	if t.stopping.Swap(true) {
		return
	}
	if t.ownSched {
		for _, fn := range t.sched.Close() {
			fn() // each sees stopping and stores its reversal
		}
	}
	if l := t.Link(); l != nil {
		l.Abort(link.ErrClosedLocally)
	}
}

// Close drops the link and stops the terminal's scheduler. Stored
// reversals stay in the store (on disk with a journal).
func (t *Terminal) Close() error {
	t.Hangup()
	if t.ownSched {
		t.stopping.Store(true)
		for _, fn := range t.sched.Close() {
			fn()
		}
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
	sp, ok := kindIndex[tx.Kind]
	x := &txn{finish: func(x *txn) { done(x.o) }}
	if !ok {
		sp = &KindSpec{Kind: tx.Kind}
		x.reset(t, sp)
		x.notSent(diagnose.RequestFormatError, fmt.Sprintf("unknown transaction kind %q", tx.Kind))
		return
	}
	x.reset(t, sp)
	l := t.Link()
	if l == nil || t.stopping.Load() {
		t.mu.Lock()
		dead, lastErr, lastWhy := t.l, t.lastErr, t.lastWhy
		t.mu.Unlock()
		why, cause := "no link to the host", diagnose.LinkDown
		var le *link.LinkError
		if dead != nil && errors.As(dead.Err(), &le) && le.Kind != link.FailLocalClose {
			// The link died before this request (a TLS 1.3 alert read
			// before the sign-on was written, a reset): its failure is
			// the cause, not "no link".
			why, cause = "the link failed: "+le.Error(), diagnose.LinkCause(le.Kind, le.Error())
		} else if lastErr != "" {
			why += ": " + lastErr
			if lastWhy != "" {
				cause = lastWhy
			}
		}
		if t.stopping.Load() {
			why, cause = "the terminal is stopping", diagnose.TerminalInterrupted
		}
		x.notSent(cause, why)
		return
	}
	x.o.STAN = t.NextSTAN()
	req, err := t.build(tx, x.o.STAN, time.Now())
	if err != nil {
		x.notSent(diagnose.RequestFormatError, "cannot build the request: "+err.Error())
		return
	}
	x.req = req
	x.send(l)
}

// PendingReversals is how many reversals wait in store-and-forward.
func (t *Terminal) PendingReversals() int {
	due, _ := t.store.Due()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.flushing {
		return max(len(due), t.inFlush)
	}
	return len(due)
}

// FlushSAF sends the stored reversals now (the terminal must be
// connected); it returns how many are still pending.
func (t *Terminal) FlushSAF() int {
	t.flushSAF()
	return t.PendingReversals()
}

// Run keeps the terminal connected until ctx ends: reconnects with backoff
// when the link drops (signing on and flushing stored reversals) and sends
// an echo test after EchoIdle without traffic; a failed echo drops the link
// (how a half-open link is found).
func (t *Terminal) Run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if t.stopping.Load() {
			return
		}
		l := t.Link()
		if l == nil {
			_ = redial(ctx, 0, t.cfg.ReconnectBackoff, func() error {
				if t.stopping.Load() {
					return nil
				}
				return t.connectOnce(ctx)
			}, func(err error, wait time.Duration) {
				t.cfg.Logger.Warn("reconnect failed", "tid", t.cfg.TID, "why", err.Error(), "retry_in", wait)
			})
			continue
		}
		if t.cfg.SignOnAgain && t.cfg.SignOnAtConnect && !t.SignedOn() {
			// The host signed the terminal off: sign on again before the
			// next transaction, as a POS does.
			if o := t.Do(SignOnTx()); o.Class != Approved {
				t.cfg.Logger.Warn("sign-on failed: dropping the link", "tid", t.cfg.TID, "why", o.Why())
				l.Abort(fmt.Errorf("sign-on failed: %s", o.Why()))
				continue
			}
		}
		if t.PendingReversals() > 0 {
			t.flushSAF()
		}
		idle := time.Since(time.Unix(0, t.lastTraffic.Load()))
		if t.cfg.EchoIdle > 0 && idle >= t.cfg.EchoIdle {
			o := t.Do(Tx{Kind: Echo})
			if o.Class != Approved {
				t.cfg.Logger.Warn("echo test failed: dropping the link", "tid", t.cfg.TID, "why", o.Why())
				l.Abort(fmt.Errorf("echo test failed: %s", o.Why()))
			}
		}
	}
}

// Targets splits a --target list ("a:p,b:p"): the host and its alternates,
// tried in order.
func Targets(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// dialTargets connects to the current host or, when it fails, to its
// alternates in order (the TLS handshake included), as a POS with a backup
// host does; a switch-over is logged, reported to the observer and kept
// for SwitchOver. The last failure's cause is the one returned.
func (t *Terminal) dialTargets(ctx context.Context) (net.Conn, error) {
	targets := Targets(t.cfg.Target)
	if len(targets) == 0 {
		targets = []string{t.cfg.Target}
	}
	t.mu.Lock()
	start := t.targetIdx
	t.mu.Unlock()
	var last error
	var failed []string
	for i := range targets {
		idx := (start + i) % len(targets)
		addr := targets[idx]
		nc, err := t.dialOne(ctx, addr)
		if err != nil {
			last = err
			failed = append(failed, addr+" ("+err.Error()+")")
			continue
		}
		if idx != start || len(failed) > 0 {
			msg := fmt.Sprintf("switched over to %s after %s", addr, strings.Join(failed, "; "))
			t.mu.Lock()
			t.targetIdx, t.switchOver = idx, msg
			t.mu.Unlock()
			t.cfg.Logger.Warn("host switch-over", "to", addr, "after", strings.Join(failed, "; "))
		}
		return nc, nil
	}
	return nil, last
}

// dialOne connects to one host address, with the TLS handshake when on.
func (t *Terminal) dialOne(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: t.cfg.ConnectTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		why, cause := dialCause(addr, err)
		t.setErr(why, cause)
		return nil, &ConnectError{Cause: cause, Why: why}
	}
	if t.cfg.TLS == nil {
		return nc, nil
	}
	cfg := t.cfg.TLS
	if host, _, err := net.SplitHostPort(addr); err == nil && cfg.ServerName != host && len(Targets(t.cfg.Target)) > 1 && t.cfg.TLSServerNameFromTarget {
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc, err := tlsconf.Handshake(ctx, nc, cfg, t.cfg.ConnectTimeout)
	if err != nil {
		cause := diagnose.TLSHandshakeFailed
		var he *tlsconf.HandshakeError
		if errors.As(err, &he) {
			cause = he.Finding.Cause
		}
		t.setErr(err.Error(), cause)
		return nil, &ConnectError{Cause: cause, Why: err.Error()}
	}
	return tc, nil
}

// SwitchOver says the last switch to an alternate host ("" if none).
func (t *Terminal) SwitchOver() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.switchOver
}

// Hangup drops the link and keeps everything else (scheduler, stored
// reversals, keys): the end of a per-transaction connection; the next
// Connect dials again.
func (t *Terminal) Hangup() {
	t.mu.Lock()
	l := t.l
	t.l = nil
	t.mu.Unlock()
	if l != nil {
		l.Close()
	}
}
