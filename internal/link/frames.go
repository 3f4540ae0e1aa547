package link

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/possim/possim/internal/iso"
)

// Read buffers. A link spends almost all its life idle, so an idle link
// must hold no big buffer: the reader waits for bytes with a small buffer
// of its own and takes a big one from a pool only when a read filled the
// small one (more is waiting: a busy link), giving it back as soon as the
// buffer has been drained by a read that did not fill it. A busy link thus
// reads up to 64 KiB per syscall, an idle one costs smallRead bytes.
const (
	smallRead = 512
	bigRead   = 64 << 10
)

var bigPool = sync.Pool{New: func() any { b := make([]byte, bigRead); return &b }}

// Timeouts bound how long a FrameReader waits; zero parts are unbounded.
type Timeouts struct {
	// First: from the reader's creation until its first frame is complete.
	First time.Duration
	// Frame: from a frame's first byte until it is complete, however its
	// bytes trickle in (a slowloris peer renews nothing).
	Frame time.Duration
	// Idle: from the last complete frame until the next one begins.
	Idle time.Duration
}

// deadliner is the part of net.Conn the timeouts need.
type deadliner interface{ SetReadDeadline(time.Time) error }

// TimeoutError says which of the reader's timeouts ended the wait; it
// wraps os.ErrDeadlineExceeded, so the link classifies it as a timeout.
type TimeoutError struct{ Reason string }

func (e *TimeoutError) Error() string { return e.Reason }
func (e *TimeoutError) Unwrap() error { return os.ErrDeadlineExceeded }

// FrameReader splits a byte stream into frames of a framing. The link and
// the proxy read with it; it is the one parser of untrusted bytes in front
// of the codec, and has a fuzz target.
type FrameReader struct {
	r   io.Reader
	fr  iso.Framing
	max int
	hdr [4]byte

	small  [smallRead]byte
	big    *[]byte // from bigPool while busy; nil when quiet
	buf    []byte  // small[:] or *big
	lo, hi int
	busy   bool  // the last read filled the buffer: more is probably waiting
	rerr   error // an error returned with data, reported on the next read

	dl         deadliner // nil: no timeouts
	to         Timeouts
	created    time.Time
	lastDone   time.Time // the last frame completed
	frames     uint64
	frameStart time.Time // first byte of the frame being read; zero between frames
	armed      bool      // the frame deadline is set on dl
}

// NewFrameReader reads frames of at most max payload bytes from r.
func NewFrameReader(r io.Reader, fr iso.Framing, max int) *FrameReader {
	f := &FrameReader{r: r, fr: fr, max: max, created: time.Now()}
	f.buf = f.small[:]
	return f
}

// SetTimeouts bounds the reader's waits with read deadlines on dl (the
// connection r reads from).
func (f *FrameReader) SetTimeouts(dl deadliner, to Timeouts) {
	f.dl, f.to = dl, to
}

// Release gives a pooled buffer back (the reader is done).
func (f *FrameReader) Release() {
	if f.big != nil {
		bigPool.Put(f.big)
		f.big = nil
	}
	f.buf, f.lo, f.hi = f.small[:], 0, 0
}

// Next returns the next payload (TPDU/header + message, without the length
// header) in a buffer the caller owns, and the frame's size on the wire. A
// zero-length frame (a keepalive some links send) returns a nil payload.
// A *FrameError means framing is lost: the stream cannot be resynchronised.
func (f *FrameReader) Next() (payload []byte, wire int, err error) {
	hs := f.fr.Length.Size()
	f.frameStart, f.armed = time.Time{}, false
	if f.hi > f.lo {
		f.frameStart = time.Now()
	} else if err := f.armWait(); err != nil {
		return nil, 0, err
	}
	for f.hi-f.lo < hs {
		if err := f.fill(); err != nil {
			if f.frameStart.IsZero() {
				return nil, 0, f.waitErr(err)
			}
			if errors.Is(err, io.EOF) {
				err = frameErr("connection ended inside a length header")
			}
			return nil, 0, f.frameErr(err)
		}
		if f.frameStart.IsZero() {
			f.frameStart = time.Now()
		}
	}
	copy(f.hdr[:hs], f.buf[f.lo:f.lo+hs])
	f.lo += hs
	n, err := f.fr.Length.Get(f.hdr[:hs])
	if err != nil {
		return nil, 0, &FrameError{Reason: err.Error()}
	}
	if n == 0 {
		f.done()
		return nil, hs, nil
	}
	plen := f.fr.PayloadLen(n)
	if plen > f.max {
		return nil, 0, frameErr("length header says %d bytes, more than the %d-byte limit (wrong length-header format?)", plen, f.max)
	}
	payload = getFrame(plen)[:plen]
	k := copy(payload, f.buf[f.lo:f.hi])
	f.lo += k
	// The rest goes straight into the payload: no copy, and no read past
	// the frame.
	for k < plen {
		if err := f.arm(); err != nil {
			putFrame(payload)
			return nil, 0, err
		}
		var m int
		if f.rerr != nil {
			err, f.rerr = f.rerr, nil
		} else {
			m, err = f.r.Read(payload[k:])
			// Whether more waits after a direct read is unknown: the next
			// wait starts with the small buffer.
			f.busy = false
		}
		k += m
		if err != nil && k < plen {
			putFrame(payload)
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = frameErr("connection ended inside a %d-byte frame (truncated)", plen)
			}
			return nil, 0, f.frameErr(err)
		}
	}
	if f.lo == f.hi {
		f.quiet()
	}
	f.done()
	return payload, hs + plen, nil
}

// Header returns the raw length header of the last frame (for proxies that
// forward frames byte for byte).
func (f *FrameReader) Header() []byte { return f.hdr[:f.fr.Length.Size()] }

// fill reads at least one more byte into the buffer.
func (f *FrameReader) fill() error {
	if f.rerr != nil {
		err := f.rerr
		f.rerr = nil
		return err
	}
	if f.lo == f.hi {
		f.lo, f.hi = 0, 0
		f.quiet()
	}
	if f.hi == len(f.buf) {
		if f.lo > 0 {
			f.hi = copy(f.buf, f.buf[f.lo:f.hi])
			f.lo = 0
		} else {
			f.grow()
		}
	}
	if f.busy && f.big == nil {
		f.grow()
	}
	if err := f.arm(); err != nil {
		return err
	}
	for {
		n, err := f.r.Read(f.buf[f.hi:])
		f.busy = f.hi+n == len(f.buf)
		f.hi += n
		if n > 0 {
			f.rerr = err
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// grow moves the buffered bytes into a big buffer from the pool.
func (f *FrameReader) grow() {
	if f.big != nil {
		return
	}
	f.big = bigPool.Get().(*[]byte)
	b := *f.big
	f.hi = copy(b, f.buf[f.lo:f.hi])
	f.lo = 0
	f.buf = b
}

// quiet gives the big buffer back once it is drained and the last read
// did not fill it: the link has caught up.
func (f *FrameReader) quiet() {
	if f.big == nil || f.busy || f.lo != f.hi {
		return
	}
	bigPool.Put(f.big)
	f.big = nil
	f.buf, f.lo, f.hi = f.small[:], 0, 0
}

func (f *FrameReader) done() {
	f.frames++
	f.lastDone = time.Now()
	f.frameStart, f.armed = time.Time{}, false
}

// armWait sets the deadline for waiting for the next frame's first byte.
func (f *FrameReader) armWait() error {
	if f.dl == nil {
		return nil
	}
	return f.dl.SetReadDeadline(f.waitDeadline())
}

// waitDeadline is when the wait for the next frame ends: the idle timeout
// from the last frame (or from the start), and before the first frame the
// first-frame timeout too, whichever is earlier. Zero: no end.
func (f *FrameReader) waitDeadline() time.Time {
	var at time.Time
	if f.to.Idle > 0 {
		from := f.lastDone
		if from.IsZero() {
			from = f.created
		}
		at = from.Add(f.to.Idle)
	}
	if f.firstPending() {
		if first := f.created.Add(f.to.First); at.IsZero() || first.Before(at) {
			at = first
		}
	}
	return at
}

// firstPending says the first-frame timeout still applies.
func (f *FrameReader) firstPending() bool { return f.frames == 0 && f.to.First > 0 }

// arm sets the frame deadline before the first read inside a frame: a
// frame that arrives whole in one read never pays for it.
func (f *FrameReader) arm() error {
	if f.dl == nil || f.armed || f.frameStart.IsZero() {
		return nil
	}
	f.armed = true
	var at time.Time
	if f.to.Frame > 0 {
		at = f.frameStart.Add(f.to.Frame)
	}
	if f.frames == 0 && f.to.First > 0 {
		if first := f.created.Add(f.to.First); at.IsZero() || first.Before(at) {
			at = first
		}
	}
	return f.dl.SetReadDeadline(at)
}

func isDeadline(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// waitErr explains a deadline that passed between frames.
func (f *FrameReader) waitErr(err error) error {
	if !isDeadline(err) {
		return err
	}
	if f.firstPending() && f.waitDeadline().Equal(f.created.Add(f.to.First)) {
		return &TimeoutError{Reason: fmt.Sprintf("no frame within the %s first-frame timeout", f.to.First)}
	}
	return &TimeoutError{Reason: fmt.Sprintf("no frame for %s (idle timeout)", f.to.Idle)}
}

// frameErr explains a deadline that passed inside a frame.
func (f *FrameReader) frameErr(err error) error {
	if !isDeadline(err) {
		return err
	}
	if f.frames == 0 && f.to.First > 0 && (f.to.Frame <= 0 || f.created.Add(f.to.First).Before(f.frameStart.Add(f.to.Frame))) {
		return &TimeoutError{Reason: fmt.Sprintf("first frame not complete within the %s first-frame timeout", f.to.First)}
	}
	return &TimeoutError{Reason: fmt.Sprintf("frame not complete %s after its first byte (frame timeout: a peer dripping bytes?)", f.to.Frame)}
}
