package host

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

// answer is what the host answers a request with, before it is a message:
// the request's fields it echoes and the fields it sets (in order: a later
// value for the same field wins).
type answer struct {
	mti   string
	echo  []int
	set   []iso.FieldValue
	delay time.Duration
}

// approvalCode is n as the six digits of field 38, without fmt.
func approvalCode(n uint64) string {
	var b [6]byte
	digits(b[:], int(n))
	return string(b[:])
}

// Fast answers (iso.PackAnswer): the answer's bytes are the request's own
// spans of the echoed fields plus the few new ones, instead of a moov
// message built and packed. They are used only where nothing needs the
// answer as a message — no observer (transcripts, metrics, traces), no
// fault interceptor, no MAC codec — and for answers sent at once. Each
// message shape (request MTI and bitmap, fields set) is checked once
// against moov's own Pack; a shape where the two differ keeps moov.

// shapeKey says which fields a request had and which the answer sets.
type shapeKey struct {
	mti    [4]byte
	bitmap [32]byte // the request's bitmap as on the wire (hex or binary)
	set    [3]uint64
}

type shapeVerdict uint8

const (
	shapeUnseen shapeVerdict = iota
	shapeSame
	shapeDiffers
)

// shapes remembers the verdict per shape.
type shapes struct {
	mu sync.RWMutex
	m  map[shapeKey]shapeVerdict
}

const maxShapes = 4096 // beyond: moov for new shapes (a fuzzing peer must not grow this)

func (s *shapes) get(k shapeKey) shapeVerdict {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[k]
}

func (s *shapes) put(k shapeKey, v shapeVerdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[shapeKey]shapeVerdict{}
	}
	if len(s.m) < maxShapes {
		s.m[k] = v
	}
}

func keyOf(in *link.Inbound, lay *iso.Layout, set []iso.FieldValue) (shapeKey, bool) {
	var k shapeKey
	bm := lay.Span(in.Raw, 1)
	if len(in.MTI) != 4 || len(bm) > len(k.bitmap) {
		return k, false
	}
	copy(k.mti[:], in.MTI)
	copy(k.bitmap[:], bm)
	for _, f := range set {
		k.set[f.Field/64] |= 1 << (f.Field % 64)
	}
	return k, true
}

var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// answer sends a, packed fast where it can be.
func (h *Host) answer(l *link.Link, in *link.Inbound, a *answer, lay *iso.Layout) {
	if h.fastAnswers && a.delay == 0 && lay.OK() {
		bp := answerBufs.Get().(*[]byte)
		defer answerBufs.Put(bp)
		if b, ok := h.packFast((*bp)[:0], l.Codec(), in, a, lay); ok {
			*bp = b
			err := l.ReplyPacked(in, b)
			if err == nil {
				h.answered.Add(1)
				h.fastSent.Add(1)
				return
			}
			if err != link.ErrNotPlain {
				h.drop(fmt.Sprintf("cannot send the answer to %s: %v", iso.Summary(in.Msg), err))
				return
			}
		}
	}
	resp, err := h.message(in, a)
	if err != nil {
		h.drop(fmt.Sprintf("cannot answer %s: %v", iso.Summary(in.Msg), err))
		return
	}
	h.reply(l, in, resp, a.delay)
}

// zeroMAC is the MAC field's placeholder until SignPacked signs it.
var zeroMAC = string(make([]byte, 8))

// packFast packs a from the request's bytes — and signs it, on a link
// with MACs — when its shape is known to give the bytes the link's codec
// gives; a new shape is checked first.
func (h *Host) packFast(dst []byte, codec link.Codec, in *link.Inbound, a *answer, lay *iso.Layout) ([]byte, bool) {
	set := a.set
	var signer *mac.Codec
	switch c := codec.(type) {
	case link.DialectCodec:
	case *mac.Codec:
		id := c.PackedMACField(a.mti, hasSecondary(lay, a))
		if id == 0 {
			return dst, false
		}
		signer = c
		set = append(set[:len(set):len(set)], iso.FieldValue{Field: id, Value: zeroMAC})
	default:
		return dst, false
	}
	k, ok := keyOf(in, lay, set)
	if !ok {
		return dst, false
	}
	v := h.shapes.get(k)
	if v == shapeDiffers {
		return dst, false
	}
	b, err := iso.PackAnswer(dst, h.cfg.Dialect.Spec, a.mti, in.Raw, lay, a.echo, set)
	if err != nil {
		return b, false
	}
	if signer != nil && !signer.SignPacked(b, strings.TrimRight(iso.Get(in.Msg, 41), " ")) {
		return b, false
	}
	if v == shapeSame {
		return b, true
	}
	m, err := h.message(in, a)
	if err != nil {
		return b, false
	}
	want, err := codec.Encode(nil, m)
	if err != nil {
		return b, false
	}
	same := bytes.Equal(b, want)
	if same {
		h.shapes.put(k, shapeSame)
	} else {
		h.shapes.put(k, shapeDiffers)
		h.cfg.Logger.Debug("answer shape packed by moov", "mti", a.mti, "why", "the fast answer's bytes differ from the codec's")
	}
	return b, same
}

// hasSecondary says whether the answer a has a field 65–127.
func hasSecondary(lay *iso.Layout, a *answer) bool {
	for _, id := range a.echo {
		if id > 64 && id < 128 && lay.Has(id) {
			return true
		}
	}
	for _, f := range a.set {
		if f.Field > 64 && f.Field < 128 {
			return true
		}
	}
	return false
}
