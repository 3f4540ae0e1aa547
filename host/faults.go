package host

import (
	"fmt"
	"net"
	"time"

	"github.com/possim/possim/internal/fault"
)

// Host-level faults: a crash (every link dropped and the listener closed
// for a while) and unsolicited host 0800s. Message and byte faults are
// wired into each link in New; these need the host itself.

// Crash drops every link and closes the listener — terminals get
// "connection refused" — then listens again on the same address after
// down. It returns at once; Up reports when the host is back.
func (h *Host) Crash(down time.Duration) error {
	h.mu.Lock()
	ln := h.ln
	if h.closed || ln == nil {
		h.mu.Unlock()
		return fmt.Errorf("host is not listening")
	}
	h.ln = nil
	h.down = true
	h.mu.Unlock()
	addr := ln.Addr().String()
	ln.Close()
	n := h.DropLinks()
	h.events.add(EventFault, fmt.Sprintf("host crash: %d links dropped, listener closed for %s", n, down))
	h.cfg.Logger.Warn("host crash", "links_dropped", n, "down", down)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		select {
		case <-time.After(down):
		case <-h.stop:
			return
		}
		if err := h.relisten(addr); err != nil {
			h.events.add(EventFault, fmt.Sprintf("host restart failed: %v", err))
			h.cfg.Logger.Error("host restart failed", "err", err)
		}
	}()
	return nil
}

// Restart is a crash with no downtime: links drop, the listener comes back
// at once (a host process restart seen from the terminals).
func (h *Host) Restart() error {
	h.mu.Lock()
	ln := h.ln
	h.mu.Unlock()
	if ln == nil {
		return fmt.Errorf("host is not listening")
	}
	addr := ln.Addr().String()
	h.mu.Lock()
	h.ln, h.down = nil, true
	h.mu.Unlock()
	ln.Close()
	h.DropLinks()
	h.events.add(EventFault, "host restart")
	return h.relisten(addr)
}

// Up reports whether the host is listening.
func (h *Host) Up() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ln != nil && !h.down
}

func (h *Host) relisten(addr string) error {
	var ln net.Listener
	var err error
	// The old socket may linger a moment; retry briefly.
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.down = false
	h.mu.Unlock()
	h.events.add(EventFault, "host back up on "+addr)
	return h.Serve(ln)
}

// faultLoop carries out the crash and unsolicited rules of the host's fault
// set, including rules added at run time through the control API.
func (h *Host) faultLoop(rs *fault.RuleSet) {
	defer h.wg.Done()
	next := map[int]time.Time{} // rule id → when it is due next
	done := map[int]bool{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case now := <-tick.C:
			for _, c := range rs.Crashes() {
				if due, ok := h.due(next, done, c.Rule, c.At, c.Every, c.Until, now); ok && h.Up() && rs.Trigger(c.Rule, nil) {
					_ = due
					_ = h.Crash(c.Down)
				}
			}
			for _, u := range rs.Unsolicited() {
				if _, ok := h.due(next, done, u.Rule, u.At, u.Every, u.Until, now); ok {
					if rs.Trigger(u.Rule, nil) {
						n := h.SendNetwork(u.Code, 10*time.Second)
						h.events.add(EventFault, fmt.Sprintf("unsolicited 0800 %s sent on %d links (%s)", u.Code, n, u.Label))
					}
				}
			}
		}
	}
}

// due says whether rule id is due at now and schedules its next time.
func (h *Host) due(next map[int]time.Time, done map[int]bool, id int, at time.Time, every time.Duration, until time.Time, now time.Time) (time.Time, bool) {
	if done[id] {
		return time.Time{}, false
	}
	t, ok := next[id]
	if !ok {
		t = at
	}
	if now.Before(t) {
		next[id] = t
		return t, false
	}
	if !until.IsZero() && now.After(until) {
		done[id] = true
		return t, false
	}
	if every <= 0 {
		done[id] = true
	} else {
		next[id] = t.Add(every)
		for !next[id].After(now) { // do not fire a burst after a pause
			next[id] = next[id].Add(every)
		}
	}
	return t, true
}
