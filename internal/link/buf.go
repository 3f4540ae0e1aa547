package link

import "sync"

// Frame buffers are recycled: at tens of thousands of messages per second,
// a fresh buffer per frame is most of the garbage the link would make.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getFrame(n int) []byte {
	bp := framePool.Get().(*[]byte)
	b := (*bp)[:0]
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	return b
}

func putFrame(b []byte) {
	if cap(b) == 0 || cap(b) > 64<<10 {
		return
	}
	b = b[:0]
	framePool.Put(&b)
}
