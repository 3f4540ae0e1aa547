package studio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// pcapSink is the session's capture file: bounded (a full sink refuses
// writes, and the capture writer then stops recording; the links go on),
// and readable while it is written. It follows the pcap record layout so
// that a download ends on a whole packet even while one is being written.
type pcapSink struct {
	mu       sync.Mutex
	f        *os.File
	max      int64
	size     int64 // bytes written
	complete int64 // bytes that end on a whole record (or the file header)
	hdr      []byte
	need     int64 // bytes of the current record still to come
	full     bool
}

const pcapFileHeader = 24

func newPCAPSink(max int64) (*pcapSink, error) {
	f, err := os.CreateTemp("", "possim-studio-*.pcap")
	if err != nil {
		return nil, fmt.Errorf("studio capture: %w", err)
	}
	return &pcapSink{f: f, max: max}, nil
}

var errCaptureFull = errors.New("studio capture is full")

func (s *pcapSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return 0, os.ErrClosed
	}
	if s.size+int64(len(p)) > s.max {
		s.full = true
		return 0, errCaptureFull
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	s.track(p[:n])
	return n, err
}

// track follows the records: the 24-byte file header, then for each packet
// a 16-byte header whose bytes 8..11 say how many bytes follow.
func (s *pcapSink) track(p []byte) {
	for len(p) > 0 {
		switch {
		case s.complete == 0 && s.size-int64(len(p)) < pcapFileHeader:
			// still in the file header
			take := min(int64(len(p)), pcapFileHeader-(s.size-int64(len(p))))
			p = p[take:]
			if s.size-int64(len(p)) >= pcapFileHeader {
				s.complete = pcapFileHeader
			}
		case s.need > 0:
			take := min(int64(len(p)), s.need)
			s.need -= take
			p = p[take:]
			if s.need == 0 {
				s.complete = s.size - int64(len(p))
			}
		default:
			take := min(len(p), 16-len(s.hdr))
			s.hdr = append(s.hdr, p[:take]...)
			p = p[take:]
			if len(s.hdr) == 16 {
				s.need = int64(binary.LittleEndian.Uint32(s.hdr[8:12]))
				s.hdr = s.hdr[:0]
				if s.need == 0 {
					s.complete = s.size - int64(len(p))
				}
			}
		}
	}
}

func (s *pcapSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	err := s.f.Close()
	s.f = nil
	_ = os.Remove(name)
	return err
}

// serve writes the whole records captured so far.
func (s *pcapSink) serve(w http.ResponseWriter) {
	s.mu.Lock()
	if s.f == nil {
		s.mu.Unlock()
		writeErr(w, http.StatusGone, errors.New("the capture is closed"))
		return
	}
	n, full := s.complete, s.full
	r, err := os.Open(s.f.Name())
	s.mu.Unlock()
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err)
		return
	}
	defer r.Close()
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	w.Header().Set("Content-Disposition", `attachment; filename="possim-studio.pcap"`)
	w.Header().Set("Content-Length", fmt.Sprint(n))
	if full {
		w.Header().Set("X-Possim-Capture", fmt.Sprintf("full: recording stopped at %d MB", s.max>>20))
	}
	_, _ = io.CopyN(w, r, n)
}
