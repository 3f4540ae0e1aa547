package link

import (
	"runtime"
	"sync"
)

// Pool runs codec work (unpack, match, handle, pack) on a fixed set of
// goroutines sized to the CPUs, fed by a bounded queue: a burst of frames
// blocks the readers (TCP back-pressure) instead of growing memory or
// spawning a goroutine per message.
type Pool struct {
	jobs chan func()
	wg   sync.WaitGroup
	once sync.Once
}

// NewPool starts n workers (n <= 0: GOMAXPROCS) with a queue of 64 per worker.
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{jobs: make(chan func(), 64*n)}
	p.wg.Add(n)
	for range n {
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				j()
			}
		}()
	}
	return p
}

// Go queues a job, blocking while the queue is full.
func (p *Pool) Go(job func()) { p.jobs <- job }

// Close stops the workers after the queued jobs ran.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.jobs) })
	p.wg.Wait()
}

var (
	sharedOnce sync.Once
	shared     *Pool
)

// SharedPool is the process-wide pool used when a Config names none. It is
// never closed.
func SharedPool() *Pool {
	sharedOnce.Do(func() { shared = NewPool(0) })
	return shared
}

// goOr queues a job unless stop closes first.
func (p *Pool) goOr(job func(), stop <-chan struct{}) bool {
	select {
	case p.jobs <- job:
		return true
	case <-stop:
		return false
	}
}
