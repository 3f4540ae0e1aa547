package link

import (
	"container/heap"
	"sync"
	"time"
)

// timer is one scheduled callback: a request deadline or a delayed reply.
type timer struct {
	at    time.Time
	fn    func()
	index int // in the heap; -1 once fired or cancelled
}

type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) { t := x.(*timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// sched runs timed callbacks on one goroutine per link. Go's time.AfterFunc
// would start a goroutine per expiry; under a blackhole that is one per
// message, which the design forbids.
type sched struct {
	mu   sync.Mutex
	h    timerHeap
	wake chan struct{}
	stop chan struct{}
	once sync.Once
}

// newSched starts the scheduler goroutine, counted in wg.
func newSched(wg *sync.WaitGroup) *sched {
	s := &sched{wake: make(chan struct{}, 1), stop: make(chan struct{})}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.run()
	}()
	return s
}

// add schedules fn at at. fn runs on the scheduler goroutine: it must be
// short and must not block.
func (s *sched) add(at time.Time, fn func()) *timer {
	t := &timer{at: at, fn: fn}
	s.mu.Lock()
	heap.Push(&s.h, t)
	first := t.index == 0
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return t
}

// cancel removes t; it reports false when t already fired or was cancelled.
func (s *sched) cancel(t *timer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&s.h, t.index)
	return true
}

func (s *sched) run() {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	var due []*timer
	for {
		now := time.Now()
		s.mu.Lock()
		for len(s.h) > 0 && !s.h[0].at.After(now) {
			due = append(due, heap.Pop(&s.h).(*timer))
		}
		next := time.Hour
		if len(s.h) > 0 {
			next = s.h[0].at.Sub(now)
		}
		s.mu.Unlock()
		for i, t := range due {
			t.fn()
			due[i] = nil
		}
		due = due[:0]
		tm.Reset(next)
		select {
		case <-tm.C:
		case <-s.wake:
		case <-s.stop:
			return
		}
	}
}

// close tells the goroutine to stop without waiting for it (close may be
// called from a callback); callbacks not yet due are dropped: the link
// answers its pending requests itself.
func (s *sched) close() { s.once.Do(func() { close(s.stop) }) }
