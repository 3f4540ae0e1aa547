package link

import (
	"bufio"
	"errors"
	"io"

	"github.com/possim/possim/internal/iso"
)

// FrameReader splits a byte stream into frames of a framing. The link and
// the proxy read with it; it is the one parser of untrusted bytes in front
// of the codec, and has a fuzz target.
type FrameReader struct {
	br  *bufio.Reader
	fr  iso.Framing
	max int
	hdr [4]byte
}

// NewFrameReader reads frames of at most max payload bytes from r.
func NewFrameReader(r io.Reader, fr iso.Framing, max int) *FrameReader {
	return &FrameReader{br: bufio.NewReaderSize(r, 64<<10), fr: fr, max: max}
}

// Next returns the next payload (TPDU/header + message, without the length
// header) in a buffer the caller owns, and the frame's size on the wire. A
// zero-length frame (a keepalive some links send) returns a nil payload.
// A *FrameError means framing is lost: the stream cannot be resynchronised.
func (f *FrameReader) Next() (payload []byte, wire int, err error) {
	hs := f.fr.Length.Size()
	if _, err := io.ReadFull(f.br, f.hdr[:hs]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = frameErr("connection ended inside a length header")
		}
		return nil, 0, err
	}
	n, err := f.fr.Length.Get(f.hdr[:hs])
	if err != nil {
		return nil, 0, &FrameError{Reason: err.Error()}
	}
	if n == 0 {
		return nil, hs, nil
	}
	plen := f.fr.PayloadLen(n)
	if plen > f.max {
		return nil, 0, frameErr("length header says %d bytes, more than the %d-byte limit (wrong length-header format?)", plen, f.max)
	}
	payload = getFrame(plen)[:plen]
	if _, err := io.ReadFull(f.br, payload); err != nil {
		putFrame(payload)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = frameErr("connection ended inside a %d-byte frame (truncated)", plen)
		}
		return nil, 0, err
	}
	return payload, hs + plen, nil
}

// Header returns the raw length header of the last frame (for proxies that
// forward frames byte for byte).
func (f *FrameReader) Header() []byte { return f.hdr[:f.fr.Length.Size()] }
