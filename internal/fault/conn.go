package fault

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/possim/possim/internal/iso"
)

// connFault is one link-level fault type's behaviour: a shaper (acts on
// every write) or a trigger (acts once, at a point in the byte stream or in
// time).
type connFault interface {
	describe() string
}

// shaper slows writes down.
type shaper interface {
	connFault
	// shape adds this fault to one write's shape; r is the rule (for
	// jitter from its RNG).
	shape(s *shape, r *rule)
}

// triggered acts once on a connection.
type triggered interface {
	connFault
	when() trigger
	// atFrame: act at the start of a frame (truncate), not at any byte.
	atFrame() bool
	// act does it; rest is what is left of the current write (nil from a
	// timer). It returns how much of rest it wrote.
	act(c *faultConn, e *effect, rest []byte) (int, error)
	// undo reverses a lasting effect when the rule is removed.
	undo(c *faultConn)
}

// shape is how one write goes out.
type shape struct {
	pre   time.Duration // wait before the first byte (latency)
	chunk int           // largest piece per socket write (slow-drip); 0 = whole
	gap   time.Duration // wait between pieces (slow-drip)
	rate  int           // bytes per second (bandwidth); 0 = unlimited
}

func (s *shape) zero() bool { return s.pre == 0 && s.chunk == 0 && s.gap == 0 && s.rate == 0 }

// trigger says when a triggered fault acts: after a number of messages
// (frames) or bytes written on the connection since the fault attached, or
// after a time. None set: at once.
type trigger struct {
	frames int // -1: not by frames
	bytes  int64
	after  time.Duration
}

// triggerAttrs are the attributes every triggered link fault takes.
func triggerAttrs() []Attribute {
	return []Attribute{
		{Name: "after", Kind: KindMessagesOrDur, Doc: "act when message N+1 is about to be written on the connection (after=3), or this long after it opened (after=5s); default at once"},
		{Name: "bytes", Kind: KindInt, Doc: "act after this many bytes written on the connection",
			check: func(s string) error {
				if (attrs{"b": s}).int("b") < 0 {
					return fmt.Errorf("must not be negative")
				}
				return nil
			}},
	}
}

func parseTrigger(a attrs) (trigger, error) {
	t := trigger{frames: -1, bytes: -1}
	n, d, set := a.msgsOrDur("after")
	if _, ok := a["bytes"]; ok {
		if set {
			return t, fmt.Errorf("after= and bytes=: give one or the other")
		}
		t.bytes = int64(a.int("bytes"))
		return t, nil
	}
	switch {
	case set && d > 0:
		t.after = d
	case set:
		t.frames = n
	}
	return t, nil
}

func (t trigger) String() string {
	switch {
	case t.frames > 0:
		return fmt.Sprintf("after %d messages", t.frames)
	case t.bytes > 0:
		return fmt.Sprintf("after %d bytes", t.bytes)
	case t.after > 0:
		return "after " + t.after.String()
	}
	return "at once"
}

// ConnError is how a link fault ended a connection: this side's link
// reports it as the cause.
type ConnError struct {
	Label string // the rule
	What  string
}

func (e *ConnError) Error() string { return "fault " + e.Label + ": " + e.What }

// effect is one rule acting on one connection.
type effect struct {
	r          *rule
	sh         shaper
	tr         triggered
	trig       trigger
	baseFrames int64
	baseBytes  int64
	fired      atomic.Bool
	armed      atomic.Bool // atFrame faults: act at the next frame start
	timer      *time.Timer
}

// faultConn applies link faults to one connection. Writes are shaped in
// the writer's own goroutine (no goroutine per write); waits end at Close
// or at the write deadline; timers stop at Close.
type faultConn struct {
	net.Conn
	rs   *RuleSet
	side Side

	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	fault     atomic.Pointer[error] // why a fault ended the connection

	mu       sync.Mutex // effects changes, wake, isClosed
	effects  atomic.Pointer[[]*effect]
	wake     chan struct{} // closed and replaced when halts drops
	isClosed bool

	wmu     sync.Mutex // one write at a time; guards tr
	tr      frameTracker
	written atomic.Int64
	frames  atomic.Int64

	blackholes atomic.Int32
	halts      atomic.Int32
	wdeadline  atomic.Int64 // unix nanoseconds; 0 = none
	// held is what a read already waiting when a half-open fault attached
	// got: kept, as by a socket nobody reads, and delivered once the fault
	// goes. Only the reader touches it (one Read at a time).
	held []byte
}

// WrapConn applies the rule set's link faults to c, a connection of the
// given side (its writes travel side's outbound stream). Link faults are
// decided per connection, now, and again for rules added later while it
// is open. On a nil rule set it returns c.
func (rs *RuleSet) WrapConn(c net.Conn, side Side) net.Conn {
	if rs == nil || c == nil {
		return c
	}
	fr := rs.dialect.Framing
	fc := &faultConn{Conn: c, rs: rs, side: side, closed: make(chan struct{}), wake: make(chan struct{}),
		tr: frameTracker{lh: fr.Length, hs: fr.Length.Size(), fr: fr}}
	fc.effects.Store(&[]*effect{})
	rs.connMu.Lock()
	rs.conns[fc] = struct{}{}
	rs.connMu.Unlock()
	for _, r := range rs.list.Load().conn {
		fc.consider(r)
	}
	return fc
}

// consider decides rule r for this connection and attaches its effect.
func (c *faultConn) consider(r *rule) {
	dir := c.side.out()
	if !r.on(dir, c.side) || !r.active(c.rs.now()) {
		return
	}
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return
	}
	for _, e := range *c.effects.Load() {
		if e.r == r {
			c.mu.Unlock()
			return
		}
	}
	ok, _ := r.decide()
	if !ok {
		c.mu.Unlock()
		return
	}
	e := &effect{r: r, baseFrames: c.frames.Load(), baseBytes: c.written.Load()}
	switch f := r.conn.(type) {
	case shaper:
		e.sh = f
	case triggered:
		e.tr = f
		e.trig = f.when()
	}
	effs := append(append([]*effect(nil), *c.effects.Load()...), e)
	c.effects.Store(&effs)
	now := false
	if e.tr != nil {
		switch {
		case e.trig.after > 0:
			e.timer = time.AfterFunc(e.trig.after, func() { c.onTimer(e) })
		case e.trig.frames <= 0 && e.trig.bytes < 0:
			now = true
		}
	}
	c.mu.Unlock()
	if e.sh != nil {
		c.rs.record(r, dir, nil, r.conn.describe()+" on "+c.addrs())
	}
	if now {
		if e.tr.atFrame() {
			e.armed.Store(true)
		} else {
			_, _ = c.fire(e, nil)
		}
	}
}

func (c *faultConn) addrs() string {
	if c.LocalAddr() == nil || c.RemoteAddr() == nil {
		return "connection"
	}
	return c.LocalAddr().String() + "→" + c.RemoteAddr().String()
}

// detach removes rule r's effect, undoing what lasts.
func (c *faultConn) detach(r *rule) {
	c.mu.Lock()
	var keep []*effect
	var gone *effect
	for _, e := range *c.effects.Load() {
		if e.r == r {
			gone = e
			continue
		}
		keep = append(keep, e)
	}
	if gone == nil {
		c.mu.Unlock()
		return
	}
	c.effects.Store(&keep)
	if gone.timer != nil {
		gone.timer.Stop()
	}
	c.mu.Unlock()
	if gone.tr != nil && gone.fired.Load() {
		gone.tr.undo(c)
	}
}

func (c *faultConn) onTimer(e *effect) {
	select {
	case <-c.closed:
		return
	default:
	}
	if e.tr.atFrame() {
		e.armed.Store(true)
		return
	}
	_, _ = c.fire(e, nil)
}

// fire makes a triggered effect act, once.
func (c *faultConn) fire(e *effect, rest []byte) (int, error) {
	if !e.fired.CompareAndSwap(false, true) {
		return 0, nil
	}
	c.rs.record(e.r, c.side.out(), nil, e.tr.describe()+" "+e.trig.String()+" on "+c.addrs())
	return e.tr.act(c, e, rest)
}

// Write applies the connection's effects to p: it writes up to the point
// where a triggered fault acts, lets it act, and goes on.
func (c *faultConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	for {
		select {
		case <-c.closed:
			return n, c.closedErr()
		default:
		}
		effs := *c.effects.Load()
		cut, which := c.nextCut(p, effs)
		if cut > 0 {
			k, err := c.emit(p[:cut], effs)
			c.advance(p[:k])
			n += k
			if err != nil {
				return n, err
			}
		}
		p = p[cut:]
		if len(which) == 0 {
			return n, nil
		}
		for _, e := range which {
			k, err := c.fire(e, p)
			if k > 0 {
				c.advance(p[:k])
				n += k
				p = p[k:]
			}
			if err != nil {
				return n, err
			}
		}
	}
}

// nextCut finds the first point in p where a triggered effect acts.
func (c *faultConn) nextCut(p []byte, effs []*effect) (int, []*effect) {
	cut := -1
	var which []*effect
	for _, e := range effs {
		if e.tr == nil || e.fired.Load() {
			continue
		}
		o := c.offset(e, p)
		if o < 0 {
			continue
		}
		if cut < 0 || o < cut {
			cut, which = o, which[:0]
		}
		if o == cut {
			which = append(which, e)
		}
	}
	if cut < 0 {
		return len(p), nil
	}
	return cut, which
}

// offset is where in p effect e acts, -1 if not in this write.
func (c *faultConn) offset(e *effect, p []byte) int {
	t := c.tr // look ahead on a copy
	if e.armed.Load() {
		return t.find(p, func(off int, _ int64) bool { return off < len(p) })
	}
	switch {
	case e.trig.bytes >= 0:
		o := int(e.trig.bytes - (c.written.Load() - e.baseBytes))
		if o <= len(p) {
			return max(o, 0)
		}
	case e.trig.frames > 0:
		// The first N messages go out whole; the fault acts as the next
		// one starts (not right after the Nth: a reset then could make the
		// peer's kernel discard the Nth before it is read).
		return t.find(p, func(off int, done int64) bool {
			return done-e.baseFrames >= int64(e.trig.frames) && off < len(p)
		})
	}
	return -1
}

func (c *faultConn) advance(p []byte) {
	c.written.Add(int64(len(p)))
	before := c.tr.done
	c.tr.find(p, nil)
	if d := c.tr.done - before; d > 0 {
		c.frames.Add(d)
	}
}

// emit writes p with the shaping effects; a blackholed connection
// swallows it.
func (c *faultConn) emit(p []byte, effs []*effect) (int, error) {
	if c.blackholes.Load() > 0 {
		return len(p), nil
	}
	var sh shape
	for _, e := range effs {
		if e.sh != nil {
			e.sh.shape(&sh, e.r)
		}
	}
	if sh.zero() {
		return c.Conn.Write(p)
	}
	if sh.pre > 0 {
		if err := c.sleep(sh.pre); err != nil {
			return 0, err
		}
	}
	chunk := len(p)
	if sh.chunk > 0 {
		chunk = min(chunk, sh.chunk)
	}
	if sh.rate > 0 {
		chunk = min(chunk, max(1, sh.rate/20))
	}
	n := 0
	for n < len(p) {
		k := min(chunk, len(p)-n)
		if c.blackholes.Load() > 0 {
			return len(p), nil
		}
		w, err := c.Conn.Write(p[n : n+k])
		n += w
		if err != nil {
			return n, err
		}
		var wait time.Duration
		if sh.rate > 0 {
			wait += time.Duration(int64(k) * int64(time.Second) / int64(sh.rate))
		}
		if n < len(p) {
			wait += sh.gap
		}
		if wait > 0 {
			if err := c.sleep(wait); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// sleep waits d, or less if the connection closes (error) or the write
// deadline passes first (os.ErrDeadlineExceeded, as a slow network would
// give the link's write timeout).
func (c *faultConn) sleep(d time.Duration) error {
	var deadlineErr error
	if dl := c.wdeadline.Load(); dl != 0 {
		if left := time.Until(time.Unix(0, dl)); left < d {
			d, deadlineErr = max(left, 0), os.ErrDeadlineExceeded
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return deadlineErr
	case <-c.closed:
		return c.closedErr()
	}
}

// Read blocks while a half-open fault holds the connection (until Close or
// the rule's removal); otherwise it reads.
func (c *faultConn) Read(b []byte) (int, error) {
	for {
		for c.halts.Load() > 0 {
			c.mu.Lock()
			w := c.wake
			c.mu.Unlock()
			if c.halts.Load() <= 0 {
				break
			}
			select {
			case <-c.closed:
				return 0, c.closedErr()
			case <-w:
			}
		}
		if len(c.held) > 0 {
			n := copy(b, c.held)
			c.held = c.held[n:]
			return n, nil
		}
		n, err := c.Conn.Read(b)
		if n > 0 && c.halts.Load() > 0 {
			// The read was waiting before half-open attached: hold
			// what it got until the fault goes.
			c.held = append(c.held, b[:n]...)
			n = 0
			if err == nil {
				continue
			}
		}
		if err != nil {
			if fe := c.fault.Load(); fe != nil {
				err = *fe
			}
		}
		return n, err
	}
}

func (c *faultConn) signal() {
	c.mu.Lock()
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

func (c *faultConn) SetDeadline(t time.Time) error {
	c.storeWriteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *faultConn) SetWriteDeadline(t time.Time) error {
	c.storeWriteDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *faultConn) storeWriteDeadline(t time.Time) {
	if t.IsZero() {
		c.wdeadline.Store(0)
	} else {
		c.wdeadline.Store(t.UnixNano())
	}
}

// Close is idempotent; it stops the connection's timers and unblocks
// pending reads and writes.
func (c *faultConn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.isClosed = true
		close(c.closed)
		for _, e := range *c.effects.Load() {
			if e.timer != nil {
				e.timer.Stop()
			}
		}
		c.mu.Unlock()
		c.rs.connMu.Lock()
		delete(c.rs.conns, c)
		c.rs.connMu.Unlock()
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// shutdown ends the connection because of a fault: with RST (linger 0) or
// with FIN (write side shut first, so the peer reads EOF even if this side
// had unread data).
func (c *faultConn) shutdown(rst bool, why error) {
	c.fault.CompareAndSwap(nil, &why)
	if rst {
		if l, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
			_ = l.SetLinger(0)
		}
	} else if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.Close()
}

func (c *faultConn) closedErr() error {
	if fe := c.fault.Load(); fe != nil {
		return *fe
	}
	return net.ErrClosed
}

// SetLinger passes through, so wrappers can be stacked.
func (c *faultConn) SetLinger(sec int) error {
	if l, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return l.SetLinger(sec)
	}
	return errors.ErrUnsupported
}

// CloseWrite passes through.
func (c *faultConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// frameTracker follows frame boundaries in the written byte stream.
type frameTracker struct {
	lh   iso.LengthHeader
	hs   int
	fr   iso.Framing
	hdr  [4]byte
	nh   int   // header bytes seen of the current frame
	left int   // payload bytes still to come
	done int64 // frames completed
	lost bool  // a header that does not parse: stop counting
}

// find walks p (advancing the tracker: call it on a copy to look ahead)
// and calls fn at every frame boundary — before p's first byte if it is
// one, after each complete frame — with the offset and frames completed.
// It returns the first offset where fn says true, or -1.
func (t *frameTracker) find(p []byte, fn func(off int, done int64) bool) int {
	i := 0
	for !t.lost {
		if t.nh == 0 && t.left == 0 {
			if fn != nil && fn(i, t.done) {
				return i
			}
		}
		if i == len(p) {
			return -1
		}
		if t.left > 0 {
			k := min(t.left, len(p)-i)
			t.left -= k
			i += k
			if t.left == 0 {
				t.done++
			}
			continue
		}
		k := min(t.hs-t.nh, len(p)-i)
		copy(t.hdr[t.nh:], p[i:i+k])
		t.nh += k
		i += k
		if t.nh == t.hs {
			t.nh = 0
			n, err := t.lh.Get(t.hdr[:t.hs])
			if err != nil {
				t.lost = true
				return -1
			}
			if n == 0 { // keepalive
				t.done++
				continue
			}
			t.left = t.fr.PayloadLen(n)
		}
	}
	return -1
}
