package link

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// planFor is an interceptor that applies a fixed plan to responses only.
type planFor struct{ plan func(m *iso8583.Message) Plan }

func (p planFor) Outbound(m *iso8583.Message) Plan {
	mti, _ := m.GetMTI()
	if iso.IsResponse(mti) {
		return p.plan(m)
	}
	return Plan{}
}
func (p planFor) Inbound(*iso8583.Message) Plan { return Plan{} }

func hostWith(plan func(m *iso8583.Message) Plan) Config {
	return Config{Handler: echoHandler("00"), Interceptor: planFor{plan}}
}

func TestInterceptDropMeansTimeout(t *testing.T) {
	c, s := pair(t, Config{}, hostWith(func(*iso8583.Message) Plan { return Plan{Drop: true, Fired: []string{"drop"}} }))
	defer s.Close()
	defer c.Close()
	if r := c.Call(req(t, "T1", 1), 50*time.Millisecond); r.Err != ErrTimeout {
		t.Fatalf("got %v", r.Err)
	}
}

// A second answer to an answered request is a duplicate, not an
// unmatched answer; without the answered-keys memory it is unmatched.
func TestInterceptDuplicateIsDuplicate(t *testing.T) {
	for _, mem := range []int{0, -1} {
		ev := make(chan Event, 4)
		cc := Config{AnsweredMemory: mem, Observer: func(e Event) {
			if e.Kind == EvUnmatched || e.Kind == EvDuplicate {
				ev <- e
			}
		}}
		c, s := pair(t, cc, hostWith(func(*iso8583.Message) Plan { return Plan{Copies: 1} }))
		if r := c.Call(req(t, "T1", 1), time.Second); r.Err != nil {
			t.Fatal(r.Err)
		}
		want := EvDuplicate
		if mem < 0 {
			want = EvUnmatched
		}
		select {
		case e := <-ev:
			if e.Kind != want {
				t.Fatalf("memory %d: the copy is %s (%s), want %s", mem, e.Kind, e.Detail, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("memory %d: no event for the copy", mem)
		}
		if mem == 0 && c.Stats().Duplicates != 1 {
			t.Fatalf("stats %+v", c.Stats())
		}
		s.Close()
		c.Close()
	}
}

func TestInterceptHoldSwapsOrder(t *testing.T) {
	var mu sync.Mutex
	n := 0
	// One pool worker: responses are processed in the order they arrive.
	pool := NewPool(1)
	defer pool.Close()
	c, s := pair(t, Config{Pool: pool}, hostWith(func(*iso8583.Message) Plan {
		mu.Lock()
		defer mu.Unlock()
		n++
		return Plan{Hold: n == 1}
	}))
	defer s.Close()
	defer c.Close()
	order := make(chan string, 2)
	c.Send(req(t, "T1", 1), time.Second, func(r Result) { order <- iso.Get(r.Resp, 11) })
	time.Sleep(20 * time.Millisecond) // make sure the first response is held before the second request
	c.Send(req(t, "T1", 2), time.Second, func(r Result) { order <- iso.Get(r.Resp, 11) })
	if a, b := <-order, <-order; a != "000002" || b != "000001" {
		t.Fatalf("order %s, %s", a, b)
	}
}

func TestInterceptDelayAndFrameRewrite(t *testing.T) {
	c, s := pair(t, Config{}, hostWith(func(*iso8583.Message) Plan {
		return Plan{Delay: 30 * time.Millisecond, Frame: func(f []byte) []byte {
			// fields go out in order: ... 39 (RC "00") then 41 ("T1      ")
			i := bytes.Index(f, []byte("00T1"))
			f[i+1] = 'X'
			return f
		}}
	}))
	defer s.Close()
	defer c.Close()
	r := c.Call(req(t, "T1", 1), time.Second)
	if r.Err != nil || r.Done.Sub(r.Sent) < 30*time.Millisecond || iso.Get(r.Resp, 39) != "0X" {
		t.Fatalf("err %v after %v rc %q", r.Err, r.Done.Sub(r.Sent), iso.Get(r.Resp, 39))
	}
}
