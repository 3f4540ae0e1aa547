package link

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/possim/possim/internal/iso"
)

func FuzzReadFrames(f *testing.F) {
	f.Add(uint8(0), []byte{0, 4, 'a', 'b', 'c', 'd', 0, 0, 0, 1, 'x'})
	f.Add(uint8(1), []byte{0x00, 0x12, 1, 2})
	f.Add(uint8(2), []byte("0004abcd0002"))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		fr := ascii.Framing
		fr.Length = iso.LengthHeader(kind % 3)
		r := NewFrameReader(bytes.NewReader(data), fr, 1024)
		total := 0
		for range 1000 {
			p, n, err := r.Next()
			if err != nil {
				var fe *FrameError
				if !errors.Is(err, io.EOF) && !errors.As(err, &fe) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(p) > 1024 {
				t.Fatalf("payload of %d bytes over the limit", len(p))
			}
			total += n
			if total > len(data) {
				t.Fatalf("read %d bytes from %d", total, len(data))
			}
		}
	})
}

func TestFrameReaderKeepaliveAndTruncation(t *testing.T) {
	r := NewFrameReader(bytes.NewReader([]byte{0, 0, 0, 3, 'a', 'b', 'c', 0, 5, 'x'}), ascii.Framing, 100)
	if p, _, err := r.Next(); err != nil || p != nil {
		t.Fatalf("keepalive: %q %v", p, err)
	}
	if p, n, err := r.Next(); err != nil || string(p) != "abc" || n != 5 {
		t.Fatalf("frame: %q %d %v", p, n, err)
	}
	var fe *FrameError
	if _, _, err := r.Next(); !errors.As(err, &fe) {
		t.Fatalf("truncated frame: %v", err)
	}
}
