package link

import (
	"container/heap"
	"sync"
	"time"
)

// Timer is one scheduled callback: a request deadline, a delayed reply, a
// reversal repeat's backoff.
type Timer struct {
	at    time.Time
	fn    func()
	index int // in the heap; -1 once fired or cancelled
}

type timerHeap []*Timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) { t := x.(*Timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// Scheduler runs timed callbacks on one goroutine. Go's time.AfterFunc
// would start a goroutine per expiry; under a blackhole that is one per
// message, which the design forbids. Every link has one for its deadlines;
// the terminal engine uses one (per terminal, or one per fleet) for its
// reversal backoffs.
type Scheduler struct {
	mu   sync.Mutex
	h    timerHeap
	wake chan struct{}
	stop chan struct{}
	once sync.Once
	done chan struct{}
}

// newSched starts the scheduler goroutine, counted in wg.
func newSched(wg *sync.WaitGroup) *Scheduler {
	s := &Scheduler{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(s.done)
		s.run()
	}()
	return s
}

// NewScheduler starts a scheduler; Close stops it.
func NewScheduler() *Scheduler {
	var wg sync.WaitGroup
	return newSched(&wg)
}

// Add schedules fn at at. fn runs on the scheduler goroutine: it must be
// short and must not block. After Close, fn is never run and Add returns
// nil.
func (s *Scheduler) Add(at time.Time, fn func()) *Timer {
	select {
	case <-s.stop:
		return nil
	default:
	}
	return s.add(at, fn)
}

// Cancel removes t; false when it already fired or was cancelled.
func (s *Scheduler) Cancel(t *Timer) bool {
	if t == nil {
		return false
	}
	return s.cancel(t)
}

// Close stops the scheduler and waits for its goroutine (unless called from
// a callback); callbacks not yet due are returned, not run, so that the
// caller can settle them.
func (s *Scheduler) Close() []func() {
	s.close()
	select {
	case <-s.done:
	case <-time.After(time.Second): // called from a callback: do not wait for ourselves
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fns := make([]func(), 0, len(s.h))
	for len(s.h) > 0 {
		fns = append(fns, heap.Pop(&s.h).(*Timer).fn)
	}
	return fns
}

// Closed is closed once the scheduler stops.
func (s *Scheduler) Closed() <-chan struct{} { return s.stop }

// add schedules fn at at. fn runs on the scheduler goroutine: it must be
// short and must not block.
func (s *Scheduler) add(at time.Time, fn func()) *Timer {
	t := &Timer{at: at, fn: fn}
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
func (s *Scheduler) cancel(t *Timer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&s.h, t.index)
	return true
}

func (s *Scheduler) run() {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	var due []*Timer
	for {
		now := time.Now()
		s.mu.Lock()
		for len(s.h) > 0 && !s.h[0].at.After(now) {
			due = append(due, heap.Pop(&s.h).(*Timer))
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
func (s *Scheduler) close() { s.once.Do(func() { close(s.stop) }) }
