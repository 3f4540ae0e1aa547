// Package link is the pipeline both sides of possim share: one TCP
// connection carrying framed ISO 8583 messages, many in flight at once,
// matched by key, each request with its own deadline.
//
// Per link there are three goroutines — reader, writer, scheduler — and
// codec work runs on a shared fixed Pool. Nothing is per message and every
// queue is bounded. A link that fails answers every request in flight
// exactly once; nothing waits forever.
//
// An idle link holds no big buffer: read and coalescing buffers come from
// pools while bytes flow and go back when the link is quiet, and the
// tables that remember timed-out keys grow with use. A host with 10 000
// idle terminal links costs little more than their goroutines.
package link

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// Codec turns messages into ISO bytes (MTI onwards) and back. The MAC
// layer wraps the dialect's codec to sign and verify.
type Codec interface {
	Encode(dst []byte, m *iso8583.Message) ([]byte, error)
	// Decode returns what it could read even on error (MTI, fields before
	// the bad one), so a host can still answer RC 30 with the STAN.
	Decode(b []byte) (*iso8583.Message, error)
}

// DialectCodec is plain pack/unpack with a dialect's spec.
type DialectCodec struct{ D *iso.Dialect }

func (c DialectCodec) Encode(dst []byte, m *iso8583.Message) ([]byte, error) {
	b, err := m.Pack()
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func (c DialectCodec) Decode(b []byte) (*iso8583.Message, error) { return c.D.Unpack(b) }

// Inbound is a request (or advice) received from the peer.
type Inbound struct {
	Msg      *iso8583.Message // what could be unpacked; complete when Err is nil
	MTI      string
	Prefix   []byte // TPDU + fixed header as received
	Raw      []byte // the ISO message bytes
	Err      error  // unpack error
	Received time.Time
}

// Handler serves requests from the peer. It runs on the codec pool: it must
// not block; use Link.ReplyAfter for delayed answers.
type Handler interface {
	Handle(l *Link, in *Inbound)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(*Link, *Inbound)

func (f HandlerFunc) Handle(l *Link, in *Inbound) { f(l, in) }

// Result is how a request ended. Exactly one Result is delivered per Send.
type Result struct {
	Req  *iso8583.Message
	Resp *iso8583.Message // set on a response, also with ErrWrongMTI or an unpack error
	Err  error
	Sent time.Time // handed to the writer
	Done time.Time
}

// Config of a link. Zero values get safe defaults.
type Config struct {
	Dialect     *iso.Dialect
	Codec       Codec
	Match       Match
	Handler     Handler
	Observer    func(Event)
	Interceptor Interceptor // message-level faults; nil for none
	Pool        *Pool
	MaxFrame    int           // largest payload accepted; default 16 KiB
	IdleTimeout time.Duration // from the last complete frame until the next one begins; 0 = none
	// FirstFrameTimeout closes a link whose first frame is not complete
	// this long after New (a peer that connects and says nothing); 0 = none.
	FirstFrameTimeout time.Duration
	// FrameTimeout closes a link whose frame is not complete this long
	// after its first byte, however the bytes trickle in (slowloris); 0 = none.
	FrameTimeout time.Duration
	WriteTimeout time.Duration // per write and per wait for queue space; default 10 s
	// QueueLen is how many frames may wait for the writer; default 256,
	// about one 64 KiB coalesced write of POS messages. The queue's slots
	// are allocated up front (24 bytes each), so a switch trunk that
	// needs more says so here rather than every POS link paying for it.
	QueueLen int
	// LateMemory is how many timed-out keys are remembered to classify
	// late responses; default 4096. The memory grows with timeouts and
	// costs nothing on a link that never timed out.
	LateMemory int
	// AnsweredMemory is how many recently answered keys are remembered to
	// tell a second answer to an answered request (a duplicate) from an
	// answer that matches nothing; default 1024, negative: none.
	AnsweredMemory int
}

// Stats are a link's counters.
type Stats struct {
	FramesIn, FramesOut, BytesIn, BytesOut, Writes uint64
	Unmatched, Late, BadMessages, Keepalives       uint64
	Duplicates                                     uint64 // second answers to answered requests
	MaxInflight                                    int
}

// Link is one framed ISO 8583 connection.
type Link struct {
	cfg   Config
	nc    net.Conn
	codec Codec
	fr    iso.Framing
	match Match

	out     chan []byte
	closing chan struct{}
	wg      sync.WaitGroup
	jobs    sync.WaitGroup // frames handed to the pool and not yet processed
	sched   *Scheduler

	mu       sync.Mutex
	inflight map[Key]*pending
	expired  *expiredRing
	answered *expiredRing // nil: AnsweredMemory < 0
	closed   bool
	err      error
	maxInfl  int

	failOnce   sync.Once
	held       atomic.Pointer[[]byte] // a frame an interceptor holds back until the next one
	abortCause atomic.Pointer[error]  // set by AbortAfterWrite

	framesIn, framesOut, bytesIn, bytesOut, writes atomic.Uint64
	unmatched, late, bad, keepalives, dups         atomic.Uint64

	started   time.Time
	writerOn  atomic.Bool  // a writer goroutine is running (see kick)
	lastFrame atomic.Int64 // unix nanoseconds of the last complete frame read (0: none)
	handling  atomic.Int32 // requests read and not yet through the handler
	owedUntil atomic.Int64 // unix nanoseconds until which a delayed answer is scheduled
}

type pending struct {
	key      Key
	mti      string
	req      *iso8583.Message
	done     func(Result)
	sent     time.Time
	deadline time.Time
	t        *Timer
}

// New wraps nc; call Start to run it.
func New(nc net.Conn, cfg Config) *Link {
	if cfg.Codec == nil {
		cfg.Codec = DialectCodec{cfg.Dialect}
	}
	if cfg.Match == (Match{}) {
		cfg.Match = DefaultMatch
	}
	if cfg.Pool == nil {
		cfg.Pool = SharedPool()
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = 16 << 10
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 256
	}
	if cfg.LateMemory <= 0 {
		cfg.LateMemory = 4096
	}
	var answered *expiredRing
	if cfg.AnsweredMemory == 0 {
		cfg.AnsweredMemory = 1024
	}
	if cfg.AnsweredMemory > 0 {
		answered = newExpiredRing(cfg.AnsweredMemory)
	}
	return &Link{
		answered: answered,
		cfg:      cfg, nc: nc, codec: cfg.Codec, fr: cfg.Dialect.Framing, match: cfg.Match,
		out:      make(chan []byte, cfg.QueueLen),
		closing:  make(chan struct{}),
		inflight: make(map[Key]*pending),
		expired:  newExpiredRing(cfg.LateMemory),
		started:  time.Now(),
	}
}

// Started is when the link was made.
func (l *Link) Started() time.Time { return l.started }

// LastActive is when the link last read a complete frame that was not a
// keepalive, or when it was made if it never did.
func (l *Link) LastActive() time.Time {
	if n := l.lastFrame.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return l.started
}

// Busy says whether the link has work in hand: a request of ours waiting
// for its answer, a request of the peer's not yet answered (being handled
// or answered after a delay), or frames waiting for the writer. A host
// never evicts a busy link.
func (l *Link) Busy() bool {
	if l.handling.Load() > 0 || len(l.out) > 0 || time.Now().UnixNano() < l.owedUntil.Load() {
		return true
	}
	return l.Inflight() > 0
}

// Start runs the reader; the writer and the scheduler start when they
// have work.
func (l *Link) Start() *Link {
	l.wg.Add(1)
	go l.readLoop()
	return l
}

// kick makes sure a writer runs after a frame was queued. The writer exits
// when the queue is empty, so an idle link has one goroutine (its reader),
// not two: on a host with 10 000 idle links that is half the goroutines,
// and Go never frees a goroutine's descriptor once it has existed. A
// start costs about a microsecond, a few percent of a transaction. The
// start is under l.mu while the link is up, so l.wg.Add cannot race Close.
func (l *Link) kick() {
	if l.writerOn.Load() {
		return
	}
	l.mu.Lock()
	if !l.closed && l.writerOn.CompareAndSwap(false, true) {
		l.wg.Add(1)
		go l.writeLoop()
	}
	l.mu.Unlock()
}

// scheduler starts the link's scheduler on first use: a host link that
// never delays an answer nor sends a request of its own never needs one,
// and an idle goroutine is most of what an idle link costs. Called with
// l.mu held and the link not closed, so the reader (counted in l.wg) is
// still running and l.wg.Add cannot race Close's Wait.
func (l *Link) scheduler() *Scheduler {
	if l.sched == nil {
		l.sched = newSched(&l.wg)
	}
	return l.sched
}

// Conn is the underlying connection.
func (l *Link) Conn() net.Conn { return l.nc }

// Dialect is the link's dialect.
func (l *Link) Dialect() *iso.Dialect { return l.cfg.Dialect }

// Done is closed when the link has failed or been closed.
func (l *Link) Done() <-chan struct{} { return l.closing }

// Err says why the link ended (a *LinkError), nil while it is up.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close ends the link, answers everything in flight with a LinkError and
// waits for the link's goroutines. Callbacks and handlers run on those
// goroutines or the pool: they must use Abort instead.
func (l *Link) Close() error {
	l.fail(ErrClosedLocally, false)
	l.wg.Wait()
	return nil
}

// Abort ends the link without waiting.
func (l *Link) Abort(cause error) { l.fail(cause, false) }

// AbortAfterWrite ends the link once every frame queued before it is
// written: a terminal that "dies" right after sending a request.
func (l *Link) AbortAfterWrite(cause error) {
	l.abortCause.Store(&cause)
	select {
	case l.out <- nil: // the writer's marker: flush, then fail
		l.kick()
	case <-l.closing:
	}
}

// Inflight is the number of requests waiting for a response.
func (l *Link) Inflight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.inflight)
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	mx := l.maxInfl
	l.mu.Unlock()
	return Stats{
		FramesIn: l.framesIn.Load(), FramesOut: l.framesOut.Load(), BytesIn: l.bytesIn.Load(),
		BytesOut: l.bytesOut.Load(), Writes: l.writes.Load(), Unmatched: l.unmatched.Load(),
		Late: l.late.Load(), BadMessages: l.bad.Load(), Keepalives: l.keepalives.Load(), Duplicates: l.dups.Load(), MaxInflight: mx,
	}
}

func (l *Link) fail(cause error, reading bool) {
	l.failOnce.Do(func() {
		le := &LinkError{Kind: classify(cause, reading), Cause: cause}
		if errors.Is(cause, ErrClosedLocally) {
			le.Cause = nil
		}
		l.mu.Lock()
		l.closed = true
		l.err = le
		pend := l.inflight
		l.inflight = nil
		l.mu.Unlock()
		close(l.closing)
		_ = l.nc.Close()
		if l.sched != nil {
			l.sched.close()
		}
		now := time.Now()
		// Removal from the table under l.mu is what owns a request's answer:
		// we took the whole table, so every one is answered here, once.
		for _, p := range pend {
			p.done(Result{Req: p.req, Err: le, Sent: p.sent, Done: now})
		}
		l.emit(Event{Kind: EvDown, Time: now, Detail: le.Error()})
	})
}

// Send writes req and calls done exactly once: with the response, on
// timeout, or when the link fails. done runs on a link or pool goroutine
// and must not block.
func (l *Link) Send(req *iso8583.Message, timeout time.Duration, done func(Result)) {
	mti, _ := req.GetMTI()
	plan := l.outboundPlan(req)
	out := req
	if plan.Msg != nil {
		out = plan.Msg
	}
	var frame []byte
	if !plan.Drop {
		var err error
		if frame, err = l.encode(out, nil); err != nil {
			now := time.Now()
			done(Result{Req: req, Err: fmt.Errorf("not sent: %w", err), Sent: now, Done: now})
			return
		}
	}
	p := &pending{key: l.match.key(req, mti), mti: mti, req: req, done: done}
	p.sent = time.Now()
	p.deadline = p.sent.Add(timeout)
	l.mu.Lock()
	if l.closed || l.inflight[p.key] != nil {
		err := l.err
		if !l.closed {
			err = ErrDuplicateKey
		}
		l.mu.Unlock()
		if frame != nil {
			putFrame(frame)
		}
		done(Result{Req: req, Err: err, Sent: p.sent, Done: p.sent})
		return
	}
	l.inflight[p.key] = p
	if n := len(l.inflight); n > l.maxInfl {
		l.maxInfl = n
	}
	p.t = l.scheduler().add(p.deadline, func() { l.expire(p) })
	l.mu.Unlock()
	// Emitted before the frame is queued, so that it always precedes the
	// answer's EvReceived; if queuing fails, done says so.
	l.emit(Event{Kind: EvSent, Time: p.sent, Msg: out})
	if err := l.transmit(frame, &plan, true); err != nil {
		if l.take(p) {
			l.sched.cancel(p.t)
			done(Result{Req: req, Err: err, Sent: p.sent, Done: time.Now()})
		}
	}
}

// Call is Send that waits for the Result.
func (l *Link) Call(req *iso8583.Message, timeout time.Duration) Result {
	ch := make(chan Result, 1)
	l.Send(req, timeout, func(r Result) { ch <- r })
	return <-ch
}

// Post writes a message that expects no answer (a response, an advice
// acknowledgement, or a fault's extra frame).
func (l *Link) Post(m *iso8583.Message, prefix []byte) error {
	return l.post(m, prefix, 0)
}

// Reply answers in with resp, echoing the TPDU (swapped) of the request.
func (l *Link) Reply(in *Inbound, resp *iso8583.Message) error {
	return l.post(resp, l.fr.ReplyPrefix(in.Prefix), 0)
}

// ErrNotPlain is ReplyPacked on a link whose answers go through an
// interceptor or a codec wrapper: they need a message, not bytes.
var ErrNotPlain = errors.New("the link's answers need a message (interceptor or codec wrapper)")

// PackedSigner is a codec wrapper whose work on an answer its caller can
// do on the packed bytes (the MAC codec's SignPacked).
type PackedSigner interface {
	SignPacked(packed []byte, tid string) bool
}

// Codec is the link's codec (the dialect's, or a wrapper such as MACs).
func (l *Link) Codec() Codec { return l.codec }

// ReplyPacked answers in with an answer already packed (MTI onwards) —
// and signed, when the link's codec is a PackedSigner — framed like any
// answer. It emits no EvSent (there is no message to show): for callers
// with no observer that needs one (host/answer.go).
func (l *Link) ReplyPacked(in *Inbound, packed []byte) error {
	_, plain := l.codec.(DialectCodec)
	_, signer := l.codec.(PackedSigner)
	if l.cfg.Interceptor != nil || !plain && !signer {
		return ErrNotPlain
	}
	f, err := l.startFrame(l.fr.ReplyPrefix(in.Prefix), len(packed))
	if err != nil {
		return err
	}
	if f, err = l.endFrame(append(f, packed...)); err != nil {
		return err
	}
	return l.enqueue(f, true)
}

// ReplyAfter answers in with resp after d, without holding a goroutine.
func (l *Link) ReplyAfter(d time.Duration, in *Inbound, resp *iso8583.Message) error {
	if d > 0 {
		until := time.Now().Add(d).UnixNano()
		for {
			cur := l.owedUntil.Load()
			if cur >= until || l.owedUntil.CompareAndSwap(cur, until) {
				break
			}
		}
	}
	return l.post(resp, l.fr.ReplyPrefix(in.Prefix), d)
}

func (l *Link) post(m *iso8583.Message, prefix []byte, delay time.Duration) error {
	plan := l.outboundPlan(m)
	if plan.Msg != nil {
		m = plan.Msg
	}
	plan.Delay += delay
	var frame []byte
	if !plan.Drop {
		var err error
		if frame, err = l.encode(m, prefix); err != nil {
			return err
		}
	}
	if plan.Delay == 0 && !plan.Drop { // before queuing: see Send
		l.emit(Event{Kind: EvSent, Time: time.Now(), Msg: m})
	}
	return l.transmit(frame, &plan, true)
}

func (l *Link) outboundPlan(m *iso8583.Message) Plan {
	if l.cfg.Interceptor == nil {
		return Plan{}
	}
	p := l.cfg.Interceptor.Outbound(m)
	if len(p.Fired) > 0 {
		l.emit(Event{Kind: EvFault, Time: time.Now(), Msg: m, Detail: strings.Join(p.Fired, ", ")})
	}
	return p
}

// transmit carries out an outbound plan for an encoded frame.
func (l *Link) transmit(frame []byte, plan *Plan, wait bool) error {
	if plan.zero() {
		return l.enqueue(frame, wait)
	}
	if plan.Drop {
		return nil
	}
	if plan.Frame != nil {
		frame = plan.Frame(frame)
	}
	frames := make([][]byte, 0, 1+plan.Copies)
	frames = append(frames, frame)
	for range plan.Copies {
		frames = append(frames, append(getFrame(len(frame)), frame...))
	}
	if plan.Hold {
		if prev := l.held.Swap(&frame); prev != nil { // two held in a row: the older one goes
			return l.enqueue(*prev, wait)
		}
		return nil
	}
	if plan.Delay > 0 {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed {
			for _, f := range frames {
				putFrame(f)
			}
			return l.err
		}
		l.scheduler().add(time.Now().Add(plan.Delay), func() {
			// The scheduler must not block: a full queue drops the frame
			// (the peer sees a timeout, as with a congested host).
			for _, f := range frames {
				_ = l.enqueue(f, false)
			}
		})
		return nil
	}
	for _, f := range frames {
		if err := l.enqueue(f, wait); err != nil {
			return err
		}
	}
	return nil
}

// WriteRaw queues bytes exactly as given (no framing added): for faults that
// must put malformed data on the wire.
func (l *Link) WriteRaw(b []byte) error {
	f := getFrame(len(b))
	return l.enqueue(append(f, b...), true)
}

func (l *Link) encode(m *iso8583.Message, prefix []byte) ([]byte, error) {
	if m == nil {
		return nil, errors.New("nil message")
	}
	f, err := l.startFrame(prefix, 512)
	if err != nil {
		return nil, err
	}
	if f, err = l.codec.Encode(f, m); err != nil {
		putFrame(f)
		return nil, err
	}
	return l.endFrame(f)
}

// startFrame is a pooled frame holding room for the length header, then
// prefix (nil: the configured TPDU and header), with room for size more.
func (l *Link) startFrame(prefix []byte, size int) ([]byte, error) {
	hs := l.fr.Length.Size()
	if prefix != nil && len(prefix) != l.fr.PrefixLen() {
		return nil, fmt.Errorf("TPDU/header of %d bytes, framing wants %d", len(prefix), l.fr.PrefixLen())
	}
	f := getFrame(hs + l.fr.PrefixLen() + size)[:hs]
	if prefix == nil {
		f = append(f, l.fr.TPDU...)
		return append(f, l.fr.Header...), nil
	}
	return append(f, prefix...), nil
}

// endFrame writes f's length header (the frame goes back to the pool on
// error).
func (l *Link) endFrame(f []byte) ([]byte, error) {
	hs := l.fr.Length.Size()
	n := len(f) - hs
	if !l.fr.LengthCountsPrefix {
		n -= l.fr.PrefixLen()
	}
	if err := l.fr.Length.Put(f[:hs], n); err != nil {
		putFrame(f)
		return nil, err
	}
	return f, nil
}

// enqueue hands a frame to the writer. With wait, it waits up to the write
// timeout for queue space; without, a full queue is an error at once.
func (l *Link) enqueue(frame []byte, wait bool) error {
	select {
	case <-l.closing:
		putFrame(frame)
		return l.Err()
	default:
	}
	defer l.releaseHeld()
	select {
	case l.out <- frame:
		l.kick()
		return nil
	default:
	}
	if !wait {
		putFrame(frame)
		return ErrQueueFull
	}
	l.kick() // a full queue has a writer, but make sure
	t := time.NewTimer(l.cfg.WriteTimeout)
	defer t.Stop()
	select {
	case l.out <- frame:
		l.kick()
		return nil
	case <-l.closing:
		putFrame(frame)
		return l.Err()
	case <-t.C:
		putFrame(frame)
		return ErrQueueFull
	}
}

// releaseHeld writes a frame held back by an interceptor (reorder) right
// after the frame that overtook it.
func (l *Link) releaseHeld() {
	if l.held.Load() == nil {
		return
	}
	if h := l.held.Swap(nil); h != nil {
		select {
		case l.out <- *h:
			l.kick()
		default:
			putFrame(*h)
		}
	}
}

// take removes p from the table; true means the caller now owns p's answer.
func (l *Link) take(p *pending) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight == nil || l.inflight[p.key] != p {
		return false
	}
	delete(l.inflight, p.key)
	return true
}

func (l *Link) expire(p *pending) {
	l.mu.Lock()
	if l.inflight == nil || l.inflight[p.key] != p {
		l.mu.Unlock()
		return
	}
	delete(l.inflight, p.key)
	l.expired.add(p.key, p.deadline)
	l.mu.Unlock()
	p.done(Result{Req: p.req, Err: ErrTimeout, Sent: p.sent, Done: time.Now()})
}

// writeLoop coalesces every frame already queued into one write: under load
// one syscall carries many messages; idle, a frame goes out at once.
//
// A lone frame is written as it is; only when more are queued does the
// writer take a coalescing buffer from a pool, and it gives it back after
// the write, so an idle link holds none.
func (l *Link) writeLoop() {
	defer l.wg.Done()
	const coalesce = 64 << 10
	for {
		var f []byte
		select {
		case f = <-l.out:
		case <-l.closing:
			return
		default:
			// Under load the next frame is a moment away: yield a few
			// times before stopping, so a busy link keeps its writer.
			for i := 0; i < 4 && len(l.out) == 0; i++ {
				runtime.Gosched()
			}
			if len(l.out) > 0 {
				continue
			}
			// Nothing queued: stop. A frame queued after the check above
			// but before the flag dropped did not start a writer (it saw
			// this one), so look once more and carry on if one came.
			l.writerOn.Store(false)
			if len(l.out) == 0 || !l.writerOn.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		abort := f == nil
		frames := uint64(1)
		if abort {
			frames = 0
		}
		buf, pooled := f, (*[]byte)(nil)
	more:
		for len(buf) < coalesce && !abort {
			select {
			case g := <-l.out:
				if g == nil {
					abort = true
					break more
				}
				if pooled == nil {
					pooled = coalescePool.Get().(*[]byte)
					buf = append((*pooled)[:0], f...)
					putFrame(f)
					f = nil
				}
				buf = append(buf, g...)
				putFrame(g)
				frames++
			default:
				break more
			}
		}
		_ = l.nc.SetWriteDeadline(time.Now().Add(l.cfg.WriteTimeout))
		n, err := l.nc.Write(buf)
		l.bytesOut.Add(uint64(n))
		if pooled != nil {
			if cap(buf) <= 2*coalesce {
				*pooled = buf[:0]
				coalescePool.Put(pooled)
			}
		} else {
			putFrame(f)
		}
		if err != nil {
			l.fail(err, false)
			return
		}
		l.writes.Add(1)
		l.framesOut.Add(frames)
		if abort {
			l.fail(*l.abortCause.Load(), false)
			return
		}
	}
}

var coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func (l *Link) readLoop() {
	defer l.wg.Done()
	// A response read just before EOF must be matched before the link fails
	// the requests in flight: otherwise an answered request would be
	// reported as a link failure. So the reader waits for the frames it
	// handed to the pool before it fails the link.
	fail := func(err error) {
		l.jobs.Wait()
		l.fail(err, true)
	}
	fr := NewFrameReader(l.nc, l.fr, l.cfg.MaxFrame)
	fr.created = l.started
	fr.SetTimeouts(l.nc, Timeouts{First: l.cfg.FirstFrameTimeout, Frame: l.cfg.FrameTimeout, Idle: l.cfg.IdleTimeout})
	defer fr.Release()
	for {
		payload, n, err := fr.Next()
		if err != nil {
			var fe *FrameError
			if errors.As(err, &fe) {
				l.badFrame(fe.Reason)
			}
			fail(err)
			return
		}
		if payload == nil {
			l.keepalives.Add(1)
			continue
		}
		l.framesIn.Add(1)
		l.bytesIn.Add(uint64(n))
		now := time.Now()
		l.lastFrame.Store(now.UnixNano())
		l.jobs.Add(1)
		l.handling.Add(1)
		if !l.cfg.Pool.goOr(func() { defer l.jobs.Done(); defer l.handling.Add(-1); l.process(payload, now) }, l.closing) {
			l.handling.Add(-1)
			l.jobs.Done()
			putFrame(payload)
			return
		}
	}
}

func (l *Link) badFrame(reason string) {
	l.bad.Add(1)
	l.emit(Event{Kind: EvBadMessage, Time: time.Now(), Detail: reason})
}

// process runs on the pool: unpack, then match a response or hand a request
// to the handler.
func (l *Link) process(payload []byte, now time.Time) {
	prefix, body, err := l.fr.Split(payload)
	if err != nil {
		l.badFrame(err.Error())
		putFrame(payload)
		return
	}
	msg, derr := l.codec.Decode(body)
	mti := ""
	if msg != nil {
		mti, _ = msg.GetMTI()
	}
	if derr != nil {
		l.bad.Add(1)
		detail := "cannot unpack: " + derr.Error()
		var u interface{ Untrusted() bool }
		if errors.As(derr, &u) && u.Untrusted() {
			detail = derr.Error() // it unpacked, but its MAC failed
		}
		l.emit(Event{Kind: EvBadMessage, Time: now, Msg: msg, Detail: detail})
	} else if l.cfg.Interceptor != nil {
		plan := l.cfg.Interceptor.Inbound(msg)
		if len(plan.Fired) > 0 {
			l.emit(Event{Kind: EvFault, Time: now, Msg: msg, Detail: strings.Join(plan.Fired, ", ")})
		}
		if plan.Drop {
			putFrame(payload)
			return
		}
		if plan.Msg != nil {
			msg = plan.Msg
			mti, _ = msg.GetMTI()
		}
	}
	switch {
	case iso.IsResponse(mti):
		putFrame(payload)
		l.onResponse(msg, mti, derr, now)
	case iso.IsRequest(mti):
		if derr == nil {
			l.emit(Event{Kind: EvReceived, Time: now, Msg: msg})
		}
		in := &Inbound{Msg: msg, MTI: mti, Prefix: append([]byte(nil), prefix...), Raw: body, Err: derr, Received: now}
		if l.cfg.Handler != nil {
			l.cfg.Handler.Handle(l, in)
		} else {
			l.emit(Event{Kind: EvUnmatched, Time: now, Msg: msg, Detail: "request from the peer and no handler"})
		}
	default:
		putFrame(payload)
		if derr == nil {
			l.badFrame(fmt.Sprintf("MTI %q is neither a request nor a response", mti))
		}
	}
}

func (l *Link) onResponse(msg *iso8583.Message, mti string, derr error, now time.Time) {
	if derr == nil {
		l.emit(Event{Kind: EvReceived, Time: now, Msg: msg})
	}
	k := l.match.key(msg, mti)
	l.mu.Lock()
	if l.inflight == nil {
		l.mu.Unlock()
		return
	}
	p, ok := l.inflight[k]
	if !ok {
		deadline, late := l.expired.take(k)
		var answeredAt time.Time
		dup := false
		if !late && l.answered != nil {
			answeredAt, dup = l.answered.at[k]
		}
		var reason string
		if !late && !dup {
			reason = unmatchedReason(k, l.inflight)
		}
		if late && l.answered != nil {
			l.answered.add(k, now) // a copy of the late answer is a duplicate
		}
		l.mu.Unlock()
		if dup {
			l.dups.Add(1)
			since := max(0, now.Sub(answeredAt)) // frames read together are processed in parallel
			l.emit(Event{Kind: EvDuplicate, Time: now, Msg: msg, Late: since,
				Detail: fmt.Sprintf("second answer for %s, %s after the first", k, since.Round(time.Microsecond))})
			return
		}
		if late {
			l.late.Add(1)
			l.emit(Event{Kind: EvLate, Time: now, Msg: msg, Late: now.Sub(deadline),
				Detail: fmt.Sprintf("late response for %s: %s after its deadline", k, now.Sub(deadline).Round(time.Millisecond))})
		} else {
			l.unmatched.Add(1)
			l.emit(Event{Kind: EvUnmatched, Time: now, Msg: msg, Detail: "unmatched response: " + reason})
		}
		return
	}
	delete(l.inflight, k)
	if l.answered != nil {
		l.answered.add(k, now)
	}
	l.mu.Unlock()
	l.sched.cancel(p.t)
	r := Result{Req: p.req, Resp: msg, Sent: p.sent, Done: now, Err: derr}
	if derr == nil && iso.Pair(mti) != iso.Pair(p.mti) {
		r.Err = fmt.Errorf("%w: sent %s, got %s", ErrWrongMTI, p.mti, mti)
	}
	p.done(r)
}
