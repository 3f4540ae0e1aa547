package studio

// session.go is the studio's one adapter to the rest of possim: it builds
// the embedded host and terminal, subscribes to their link events and
// fault firings, drives transactions and plays library scenarios. Every
// use of host/, terminal/ and scenarios/ is in this file, so that when
// those packages change (one transaction engine, one outcome model) only
// this file changes.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/capture"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/outcome"
	"github.com/possim/possim/internal/proxy"
	"github.com/possim/possim/scenarios"
	"github.com/possim/possim/terminal"
)

// Options of a studio session.
type Options struct {
	// Target is "" or "embedded" for a host inside the studio, or the
	// host:port of a host to drive (then only the terminal's side is seen).
	Target  string
	Dialect string        // default iso87ascii
	Timeout time.Duration // the terminal's response timeout; default 3 s
	TID     string        // default POSSIM01
	Seed    uint64        // fault decisions; 0: random
	// Proxy puts possim's ISO-aware proxy between the terminal and the
	// host: a third lane, with faults of its own.
	Proxy  bool
	Logger *slog.Logger
}

type session struct {
	opts  Options
	hub   *hub
	d     *iso.Dialect
	h     *host.Host // nil with an external host
	t     *terminal.Terminal
	px    *proxy.Proxy // nil without --proxy
	pcap  *pcapSink    // what the terminals sent and received, as a pcap
	pw    *capture.Writer
	sides map[string]*fault.RuleSet

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	txSeq    atomic.Int64
	txMu     sync.Mutex
	txs      map[int64]*txEntry
	txOrder  []int64
	manual   atomic.Int64 // manual transactions in progress
	inflight atomic.Int64 // stream transactions in progress
	msgs     atomic.Int64 // messages seen, for the stream's rate

	streamMu   sync.Mutex
	streamStop chan struct{}

	playMu sync.Mutex
	play   *player
}

type txEntry struct {
	view TxView
	done chan struct{}
}

const maxKeptTx = 500

func newSession(opts Options) (*session, error) {
	if opts.Dialect == "" {
		opts.Dialect = "iso87ascii"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	if opts.TID == "" {
		opts.TID = "POSSIM01"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := iso.Lookup(opts.Dialect)
	if err != nil {
		return nil, err
	}
	s := &session{opts: opts, d: d, sides: map[string]*fault.RuleSet{}, txs: map[int64]*txEntry{}}
	if s.pcap, err = newPCAPSink(maxCapture); err != nil {
		return nil, err
	}
	if s.pw, err = capture.NewWriter(s.pcap); err != nil {
		s.pcap.Close()
		return nil, err
	}
	lanes := []string{LaneTerminal, LaneHost}
	if opts.Proxy {
		lanes = []string{LaneTerminal, LaneProxy, LaneHost}
	}
	s.hub = newHub(lanes, max(opts.Timeout, time.Second))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	embedded := opts.Target == "" || opts.Target == "embedded"
	s.hub.proxied, s.hub.hostSeen, s.hub.proxyTID = opts.Proxy, embedded, opts.TID
	target := opts.Target
	if embedded {
		rs, err := fault.New(nil, fault.Options{Seed: opts.Seed, Dialect: d, Side: fault.Host, OnFire: s.onFire(LaneHost)})
		if err != nil {
			s.Close()
			return nil, err
		}
		s.sides[LaneHost] = rs
		s.h, err = host.New(host.Config{Listen: "127.0.0.1:0", Dialect: d, Faults: rs, Logger: opts.Logger,
			Observer: func(_ *link.Link, e link.Event) { s.wire(LaneHost, e, true) }})
		if err != nil {
			s.Close()
			return nil, err
		}
		if err := s.h.Start(); err != nil {
			s.Close()
			return nil, err
		}
		target = s.h.Addr().String()
	}
	if opts.Proxy {
		prs, err := fault.New(nil, fault.Options{Seed: opts.Seed + 2, Dialect: d, Side: fault.ProxyDownstream, OnFire: func(f fault.Firing) {
			if f.MTI == "" { // message faults come with the proxy's line
				s.onFire(LaneProxy)(f)
			}
		}})
		if err != nil {
			s.Close()
			return nil, err
		}
		s.sides[LaneProxy] = prs
		s.px, err = proxy.Start(proxy.Config{Listen: "127.0.0.1:0", Upstream: target, Dialect: d, Faults: prs, Logger: opts.Logger,
			OnLine: func(l proxy.Line) {
				s.hub.ProxyLine(l.Dir == proxy.Upstream, l.Time, l.Msg, l.Summary, l.Fault, l.Dropped)
			}})
		if err != nil {
			s.Close()
			return nil, err
		}
		target = s.px.Addr().String()
	}
	trs, err := fault.New(nil, fault.Options{Seed: opts.Seed + 1, Dialect: d, Side: fault.Terminal, OnFire: s.onFire(LaneTerminal)})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.sides[LaneTerminal] = trs
	s.t, err = terminal.New(terminal.Config{Target: target, Dialect: d, TID: opts.TID, Timeout: opts.Timeout,
		SignOnAtConnect: true, Faults: trs, Logger: opts.Logger, ReversalBackoff: 300 * time.Millisecond,
		WrapConn: s.captureConn(trs),
		Observer: func(e link.Event) { s.wire(LaneTerminal, e, embedded) }})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.hub.setLane(LaneTerminal, opts.TID, d)
	s.hub.setLane(LaneHost, "", d)
	if opts.Proxy {
		s.hub.setLane(LaneProxy, "", d)
	}
	s.hub.update(func(st *State) {
		st.Embedded, st.Mode = embedded, "embedded host"
		if !embedded {
			st.Mode = "host " + opts.Target
		}
		if opts.Proxy {
			st.Mode += " via the proxy"
		}
		st.Sides = s.sideNames()
		st.Units = "times in milliseconds since the session started"
		st.Screen = Screen{Icon: "…", Tone: "info", Line1: "READY", Line2: "insert, tap or swipe a card"}
		st.Counts = map[string]int{}
		st.Capture = true
	})
	// The terminal keeps its link: reconnects, signs on again and sends
	// stored reversals, like a POS left switched on.
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.t.Connect(s.ctx); err != nil {
			s.hub.Note(LaneTerminal, "✖", "bad", "connect: "+err.Error())
		} else {
			s.hub.update(func(st *State) { st.Link = "up" })
		}
		s.t.Run(s.ctx)
	}()
	go s.tick()
	return s, nil
}

func (s *session) sideNames() []string {
	var out []string
	for _, n := range []string{LaneTerminal, LaneProxy, LaneHost} {
		if s.sides[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

func (s *session) wire(lane string, e link.Event, hasPeer bool) {
	if e.Kind == link.EvSent {
		s.msgs.Add(1)
		if lane != LaneHost && e.Msg != nil && s.manual.Load() > 0 {
			if mti, _ := e.Msg.GetMTI(); iso.Class(mti) == '4' {
				s.hub.Reversing()
			}
		}
	}
	s.hub.Wire(lane, e, hasPeer)
}

func (s *session) onFire(lane string) func(fault.Firing) {
	return func(f fault.Firing) {
		s.hub.FaultFired(lane, f.Type, f.Label, f.MTI, f.STAN, f.TID, f.Detail, f.Time)
	}
}

// tick expires messages that never arrived and refreshes the link state
// and the stream's rate once a second.
func (s *session) tick() {
	defer s.wg.Done()
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	last, lastAt := s.msgs.Load(), time.Now()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tk.C:
			s.hub.expire(now)
			n := s.msgs.Load()
			rate := float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			linkState := "up"
			if s.t.Link() == nil {
				linkState = "down"
			}
			up := s.h == nil || s.h.Up()
			s.hub.update(func(st *State) {
				st.Stream.Rate = rate
				st.Link, st.HostUp = linkState, up
			})
		}
	}
}

// Close stops everything the session started.
func (s *session) Close() {
	s.SetStream(0)
	s.stopScenario()
	s.cancel()
	if s.t != nil {
		s.t.Close()
	}
	s.wg.Wait()
	if s.px != nil {
		_ = s.px.Close()
	}
	if s.h != nil {
		s.h.Close()
	}
	if s.pw != nil {
		_ = s.pw.Close() // closes and removes the capture file
	}
}

// maxCapture bounds the session's pcap: at 1 000 messages/s it holds
// about a quarter of an hour; then recording stops (the download says so).
const maxCapture = 256 << 20

// captureConn records a terminal's connection in the session's pcap, under
// its byte faults (if any), so the capture shows what went on the wire.
func (s *session) captureConn(rs *fault.RuleSet) func(net.Conn) net.Conn {
	return func(c net.Conn) net.Conn {
		c = s.pw.Wrap(c, true)
		if rs != nil {
			c = rs.WrapConn(c, fault.Terminal)
		}
		return c
	}
}

// TxRequest is a transaction the trainer starts.
type TxRequest struct {
	Kind   string `json:"kind"`   // purchase, refund, balance, echo, preauth, signon
	Amount string `json:"amount"` // "12.34"
	PAN    string `json:"pan"`    // a test card; "" the default card
}

func parseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" && frac == "" {
		return 0, fmt.Errorf("amount %q: want units with at most 2 decimals, like 12.34", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n < 0 || n > 999_999_999_999 {
		return 0, fmt.Errorf("amount %q: want units with at most 2 decimals, like 12.34", s)
	}
	return n, nil
}

func (s *session) buildTx(req TxRequest) (terminal.Tx, error) {
	k, err := terminal.ParseKind(req.Kind)
	if err != nil {
		return terminal.Tx{}, err
	}
	amt, err := parseAmount(req.Amount)
	if err != nil {
		return terminal.Tx{}, err
	}
	card := terminal.DefaultCard
	if p := strings.TrimSpace(req.PAN); p != "" {
		if len(p) < 12 || len(p) > 19 || strings.Trim(p, "0123456789") != "" {
			return terminal.Tx{}, fmt.Errorf("card %s: a PAN is 12 to 19 digits", iso.MaskPAN(p))
		}
		card.PAN = p
	}
	return terminal.Tx{Kind: k, Amount: amt, Card: card}, nil
}

// Begin starts a transaction and returns its id; the outcome comes on the
// stream (and from Wait).
func (s *session) Begin(req TxRequest) (int64, error) {
	tx, err := s.buildTx(req)
	if err != nil {
		return 0, err
	}
	id := s.start(tx, "manual")
	return id, nil
}

func (s *session) start(tx terminal.Tx, source string) int64 {
	id := s.txSeq.Add(1)
	v := TxView{ID: id, Kind: string(tx.Kind), Source: source, Lane: LaneTerminal,
		Screen: Screen{Icon: "…", Tone: "info", Line1: "PROCESSING", Tx: id}}
	if tx.Amount > 0 {
		v.Amount = fmt.Sprintf("%d.%02d", tx.Amount/100, tx.Amount%100)
	}
	if tx.Card.PAN != "" && tx.Kind != terminal.Echo && tx.Kind != terminal.SignOn && tx.Kind != terminal.SignOff {
		v.Card = iso.MaskPAN(tx.Card.PAN)
	}
	var e *txEntry
	if source != "stream" {
		e = &txEntry{view: v, done: make(chan struct{})}
		s.txMu.Lock()
		s.txs[id] = e
		s.txOrder = append(s.txOrder, id)
		if len(s.txOrder) > maxKeptTx {
			delete(s.txs, s.txOrder[0])
			s.txOrder = s.txOrder[1:]
		}
		s.txMu.Unlock()
		s.manual.Add(1)
	} else {
		s.inflight.Add(1)
	}
	s.hub.TxStarted(v)
	s.t.Begin(tx, func(o terminal.Outcome) {
		fillOutcome(&v, o)
		if e != nil {
			s.manual.Add(-1)
			s.txMu.Lock()
			e.view = v
			s.txMu.Unlock()
			close(e.done)
		} else {
			s.inflight.Add(-1)
		}
		s.hub.TxDone(v)
	})
	return id
}

// fillOutcome copies a terminal outcome into the page's view, with the
// cause from the catalogue.
func fillOutcome(v *TxView, o terminal.Outcome) {
	v.Done = true
	v.Class, v.STAN, v.RC, v.RCMeaning, v.AuthCode = o.Class.String(), o.STAN, o.RC, o.RCMeaning, o.AuthCode
	v.LatencyMS, v.Why = msF(o.Latency), o.Why()
	if r := o.Reversal; r != nil {
		v.Reversal = reversalText(r.STAN, r.Attempts, r.Acked, r.Why)
	}
	if o.Class != outcome.Approved {
		v.Cause = causeView(findingOf(o))
	}
	v.Screen = screenFor(v)
}

func reversalText(stan string, attempts int, acked bool, why string) string {
	state := "acknowledged (0410)"
	if !acked {
		state = "NOT acknowledged — stored to send again"
	}
	t := fmt.Sprintf("reversal STAN %s: %d sent, %s", stan, attempts, state)
	if why != "" {
		t += "; " + why
	}
	return t
}

// findingOf is the cause of a failed transaction: the engine's own
// finding (DESIGN.md §9: the studio does not word failures itself); an
// outcome that carries none is named by its class.
func findingOf(o outcome.Outcome) diagnose.Finding {
	if o.Cause.Cause != "" {
		return o.Cause
	}
	f := diagnose.Finding{Detail: o.Why()}
	switch {
	case o.Class == outcome.Declined:
		f.Cause = diagnose.ForRC(o.RC)
	case o.Class.TimedOut():
		f.Cause = diagnose.ResponseTimeout
	default:
		f.Cause = diagnose.LinkDown
	}
	return f
}

// Wait returns transaction id once it has finished or after d.
func (s *session) Wait(id int64, d time.Duration) (TxView, bool) {
	s.txMu.Lock()
	e := s.txs[id]
	s.txMu.Unlock()
	if e == nil {
		return TxView{}, false
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-e.done:
		case <-t.C:
		case <-s.ctx.Done():
		}
	}
	s.txMu.Lock()
	defer s.txMu.Unlock()
	return e.view, true
}

const maxStreamTPS = 2000
const maxStreamInFlight = 4000

// SetStream starts (tps > 0), changes or stops (0) a stream of purchases:
// each is two messages on the wire, so 500 tps is 1 000 messages/s.
func (s *session) SetStream(tps int) error {
	if tps < 0 || tps > maxStreamTPS {
		return fmt.Errorf("stream rate %d: want 0 (stop) to %d transactions/s", tps, maxStreamTPS)
	}
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	if s.streamStop != nil {
		close(s.streamStop)
		s.streamStop = nil
	}
	s.hub.update(func(st *State) { st.Stream.TPS = tps })
	if tps == 0 {
		return nil
	}
	stop := make(chan struct{})
	s.streamStop = stop
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Open loop: the transactions due by now are started each tick, so
		// a slow tick does not lower the rate.
		const every = 10 * time.Millisecond
		tk := time.NewTicker(every)
		defer tk.Stop()
		begin := time.Now()
		var started, skipped int64
		tx := terminal.Tx{Kind: terminal.Purchase, Amount: 1000, Card: terminal.DefaultCard}
		for {
			select {
			case <-stop:
				return
			case <-s.ctx.Done():
				return
			case now := <-tk.C:
				due := int64(now.Sub(begin).Seconds() * float64(tps))
				for ; started < due; started++ {
					if s.inflight.Load() >= maxStreamInFlight || s.t.Link() == nil {
						skipped++
						continue
					}
					s.start(tx, "stream")
				}
				sent, skip := started-skipped, skipped
				s.hub.update(func(st *State) { st.Stream.Sent, st.Stream.Skipped = sent, skip })
			}
		}
	}()
	return nil
}

// Actions are failures that are not fault rules: the host going away.
var Actions = []ActionInfo{
	{Name: "host_down", Title: "Host down for 10 s", Help: "the host stops listening and drops every link: connects are refused, then it comes back", Embedded: true},
	{Name: "host_restart", Title: "Host restart", Help: "every link drops; the listener is back at once: the terminal reconnects and signs on again", Embedded: true},
	{Name: "drop_link", Title: "Pull the cable", Help: "the terminal's link drops; it reconnects, signs on and sends stored reversals"},
}

// ActionInfo describes one action button.
type ActionInfo struct {
	Name, Title, Help string
	Embedded          bool `json:"embedded_only"`
}

// Action carries out a named action.
func (s *session) Action(name string) error {
	switch name {
	case "host_down", "host_restart":
		if s.h == nil {
			return fmt.Errorf("action %s needs the embedded host (the studio drives an external one)", name)
		}
		s.hub.Note(LaneHost, "✖", "bad", "action: "+name)
		if name == "host_down" {
			return s.h.Crash(10 * time.Second)
		}
		return s.h.Restart()
	case "drop_link":
		s.hub.Note(LaneTerminal, "✂", "bad", "action: the terminal's cable is pulled")
		if l := s.t.Link(); l != nil {
			l.Abort(errors.New("link dropped from the studio (cable pulled at the terminal)"))
			return nil
		}
		return errors.New("the terminal has no link to drop")
	}
	names := make([]string, len(Actions))
	for i, a := range Actions {
		names[i] = a.Name
	}
	return fmt.Errorf("unknown action %q: valid are %s", name, strings.Join(names, ", "))
}

// FailureMode is one failure of the scenario library as a button: the
// fault rules it adds (applied through the control API), or an action, or
// a test card.
type FailureMode struct {
	Name   string     `json:"name"`
	Title  string     `json:"title"`
	Notes  string     `json:"notes"`
	Faults []SideRule `json:"faults,omitempty"`
	Action string     `json:"action,omitempty"`
	Card   string     `json:"card,omitempty"` // the test card (full: it is a public test PAN)
	// Live is false when the failure needs a different setup (dialect,
	// keys): the scenario shows it.
	Live bool   `json:"live"`
	Why  string `json:"why,omitempty"`
}

// SideRule is a fault rule for one side, in the flag grammar.
type SideRule struct {
	Side string `json:"side"`
	Spec string `json:"spec"`
}

// FailureModes derives one button per library scenario.
func (s *session) FailureModes() []FailureMode {
	var out []FailureMode
	for _, name := range scenarios.LibraryNames() {
		sc, err := scenarios.Library(name)
		if err != nil {
			continue
		}
		fm := FailureMode{Name: name, Title: sc.Title, Notes: sc.Description, Live: true}
		keys := false
		for _, r := range sc.Host.Faults {
			fm.Faults = append(fm.Faults, SideRule{LaneHost, r.String()})
		}
		for _, t := range sc.Terminals {
			keys = keys || t.Keys != nil
			for _, r := range t.Faults {
				fm.Faults = append(fm.Faults, SideRule{LaneTerminal, r.String()})
			}
		}
		for _, st := range sc.Steps {
			switch sp := st.Spec.(type) {
			case *scenarios.AddFaultStep:
				side := LaneTerminal
				if sp.On == "host" {
					side = LaneHost
				}
				fm.Faults = append(fm.Faults, SideRule{side, sp.Rule.String()})
			case *scenarios.RestartHostStep:
				fm.Action = "host_restart"
				if sp.Down > 0 {
					fm.Action = "host_down"
				}
			case *scenarios.DropLinkStep:
				fm.Action = "drop_link"
			}
		}
		switch name {
		case "card-declined":
			fm.Card = "4000000000000002"
		case "issuer-unavailable":
			fm.Card = "4000000000000093"
		case "late-response":
			// The scenario's slow issuer, as a fault: the answer comes
			// half a second after the terminal has given up.
			fm.Faults = []SideRule{{LaneHost, fmt.Sprintf("delay:name=slow-issuer,mti=0210,count=1,delay=%s", s.opts.Timeout+500*time.Millisecond)}}
		case "link-dropped":
			fm.Action = "drop_link"
		}
		switch {
		case keys:
			fm.Live, fm.Why = false, "needs MACs and working keys on both sides: play the scenario"
		case sc.Terminals[0].Dialect != sc.Host.Dialect:
			fm.Live, fm.Why = false, "needs a terminal set up differently from the host: play the scenario"
		case len(fm.Faults) == 0 && fm.Action == "" && fm.Card == "":
			fm.Live, fm.Why = false, "nothing to switch on: play the scenario"
		case fm.Action != "" && s.h == nil && fm.Action != "drop_link":
			fm.Live, fm.Why = false, "needs the embedded host"
		}
		if s.h == nil {
			var keep []SideRule
			for _, r := range fm.Faults {
				if r.Side != LaneHost {
					keep = append(keep, r)
				}
			}
			if len(keep) < len(fm.Faults) && fm.Live {
				fm.Live, fm.Why = false, "its faults act on the host: run the studio with the embedded host"
			}
		}
		out = append(out, fm)
	}
	return out
}

// Card is a test card of the host's rules.
type Card struct {
	PAN    string `json:"pan"`
	Answer string `json:"answer"`
}

// Cards lists the built-in host's test cards.
func (s *session) Cards() []Card {
	out := []Card{{PAN: terminal.DefaultCard.PAN, Answer: "approved (the default card)"}}
	for _, r := range host.DefaultRules().Rules() {
		ans := fmt.Sprintf("%s %s", r.Respond.RC, iso.RCMeaning(r.Respond.RC))
		if r.Respond.Delay > 0 {
			ans += " after " + r.Respond.Delay.String()
		}
		for _, p := range r.PAN {
			out = append(out, Card{PAN: p, Answer: ans})
		}
	}
	return out
}

// rules returns the fault rule set of a side, nil if it has none.
func (s *session) rules(side string) *fault.RuleSet { return s.sides[side] }

// --- scenarios on stage ---

// ScenarioInfo lists a library scenario.
type ScenarioInfo struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

func (s *session) Scenarios() []ScenarioInfo {
	var out []ScenarioInfo
	for _, n := range scenarios.LibraryNames() {
		if sc, err := scenarios.Library(n); err == nil {
			out = append(out, ScenarioInfo{n, sc.Title})
		}
	}
	return out
}

// player paces a scenario: pause, single steps and slow motion.
type player struct {
	mu      sync.Mutex
	paused  bool
	credits int // steps to let through while paused
	speed   int
	wake    chan struct{}
	prevAt  time.Duration
	cancel  context.CancelFunc
	done    chan struct{}
}

// stepGap is how long slow motion adds per step and per speed-up: ×5
// holds each step 4 × 400 ms before it starts, besides stretching its
// timeline.
const stepGap = 400 * time.Millisecond

func (p *player) poke() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// gate holds the runner before a step while paused and stretches the
// step timeline by the speed.
func (p *player) gate(ctx context.Context, st *scenarios.Step, show func(func(*ScenarioView))) bool {
	mark := func(now string) {
		show(func(v *ScenarioView) {
			v.Step = st.Index
			for i := range v.Steps {
				switch {
				case v.Steps[i].Index < st.Index:
					v.Steps[i].State = "done"
				case v.Steps[i].Index == st.Index:
					v.Steps[i].State = now
				}
			}
		})
	}
	mark("next")
	for {
		p.mu.Lock()
		if !p.paused || p.credits > 0 {
			if p.paused {
				p.credits--
			}
			speed := p.speed
			prevAt := p.prevAt
			if st.At > 0 {
				p.prevAt = st.At
			}
			p.mu.Unlock()
			mark("now")
			if speed > 1 {
				// Slow motion: the step timeline (at:, wait:) and a gap
				// per step stretched by the speed.
				extra := time.Duration(speed-1) * stepGap
				if st.At > prevAt {
					extra += time.Duration(speed-1) * (st.At - prevAt)
				}
				if w, ok := st.Spec.(*scenarios.WaitStep); ok {
					extra += time.Duration(speed-1) * w.Duration
				}
				t := time.NewTimer(extra)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return false
				}
			}
			return ctx.Err() == nil
		}
		w := p.wake
		p.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return false
		}
	}
}

// Play puts a library scenario on stage and starts it (paused: waits for
// play or step).
func (s *session) Play(name string, speed int, paused bool) error {
	sc, err := scenarios.Library(name)
	if err != nil {
		return err
	}
	if speed == 0 {
		speed = 1
	}
	if speed < 1 || speed > 10 {
		return fmt.Errorf("speed %d: want 1 (real time) to 10 (ten times slower)", speed)
	}
	s.stopScenario()
	view := newScenarioView(sc, speed, paused)
	ctx, cancel := context.WithCancel(s.ctx)
	p := &player{paused: paused, speed: speed, wake: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	s.playMu.Lock()
	s.play = p
	s.playMu.Unlock()
	g := &stage{s: s, name: view.Name}
	if len(sc.Terminals) > 0 {
		g.first = sc.Terminals[0].ID
	}
	s.hub.update(func(st *State) { v := *view; st.Scenario = &v })
	s.hub.Step(fmt.Sprintf("scenario %s — %s", sc.Name, sc.Title))
	opts := g.options(p)
	go func() {
		defer close(p.done)
		defer cancel()
		rep := scenarios.Run(ctx, sc, opts)
		stopped := ctx.Err() != nil
		g.show(func(v *ScenarioView) { finishView(v, rep, stopped) })
		s.hub.Step("end of scenario " + sc.Name)
	}()
	return nil
}

// newScenarioView lists a scenario's steps and expectations, none met yet.
func newScenarioView(sc *scenarios.Scenario, speed int, paused bool) *ScenarioView {
	view := &ScenarioView{Name: sc.Name, Title: sc.Title, Description: sc.Description, Speed: speed, Status: "playing"}
	if paused {
		view.Status = "paused"
	}
	for _, st := range sc.Steps {
		view.Steps = append(view.Steps, StepView{Index: st.Index, Text: st.Describe(), State: "todo"})
		if text, ok := stepExpectText(&st); ok {
			view.Expect = append(view.Expect, ExpectView{Step: st.Index, Text: fmt.Sprintf("step %d: %s", st.Index, text), State: "waiting"})
		}
	}
	for _, e := range sc.Expect {
		view.Expect = append(view.Expect, ExpectView{Text: endExpectText(e), State: "waiting"})
	}
	return view
}

// stage ties one playing scenario to the session's hub: which lane an
// event belongs on, and updates to the scenario's view.
type stage struct {
	s     *session
	name  string // the scenario's; a view of another scenario is left alone
	first string // the first terminal's id, shown on the terminal lane
}

func (g *stage) show(f func(*ScenarioView)) {
	g.s.hub.update(func(st *State) {
		if st.Scenario != nil && st.Scenario.Name == g.name {
			f(st.Scenario)
		}
	})
}

func (g *stage) laneOf(id string) string {
	switch id {
	case "host":
		return LaneHost
	case g.first, "":
		return LaneTerminal
	}
	return id
}

// options are the runner's hooks and the host and terminal changes that
// put their wire traffic on the stage's lanes.
func (g *stage) options(p *player) scenarios.Options {
	s := g.s
	hooks := &scenarios.Hooks{
		Gate:     func(ctx context.Context, st *scenarios.Step) bool { return p.gate(ctx, st, g.show) },
		OnEvent:  g.event,
		OnResult: g.result,
		OnOutcome: func(o scenarios.OutcomeRec) {
			v := TxView{ID: s.txSeq.Add(1), Kind: string(o.Kind), Source: "scenario", Lane: g.laneOf(o.Terminal), Done: true,
				Class: o.Class.String(), STAN: o.STAN, RC: o.RC, RCMeaning: o.RCMeaning, LatencyMS: msF(o.Latency), Why: o.Why}
			if r := o.Reversal; r != nil {
				v.Reversal = reversalText(r.STAN, r.Attempts, r.Acked, r.Why)
			}
			if o.Class != outcome.Approved {
				v.Cause = causeView(findingOf(o.Outcome))
			}
			s.hub.TxDone(v)
		},
	}
	return scenarios.Options{Hooks: hooks,
		ModifyHost: func(hc *host.Config) {
			prev := hc.Observer
			s.hub.setLane(LaneHost, "", hc.Dialect)
			hc.Observer = func(l *link.Link, e link.Event) {
				if prev != nil {
					prev(l, e)
				}
				s.hub.Wire(LaneHost, e, true)
			}
		},
		ModifyTerminal: func(id string, tc *terminal.Config) {
			if tc.WrapConn == nil {
				tc.WrapConn = s.captureConn(tc.Faults)
			}
			prev := tc.Observer
			lane := g.laneOf(id)
			tid := tc.TID
			if tid == "" {
				tid = "POSSIM01"
			}
			s.hub.setLane(lane, tid, tc.Dialect)
			tc.Observer = func(e link.Event) {
				if prev != nil {
					prev(e)
				}
				s.hub.Wire(lane, e, true)
			}
		},
	}
}

func (g *stage) event(e scenarios.Event) {
	hub := g.s.hub
	switch e.Kind {
	case scenarios.EvFault:
		hub.FaultFired(g.laneOf(e.Side), e.Type, e.Rule, e.MTI, e.STAN, e.TID, e.Detail, e.Time)
	case scenarios.EvStep:
		hub.Step(fmt.Sprintf("step %d: %s", e.Step, e.Detail))
	case scenarios.EvNote:
		hub.Note(LaneTerminal, "ℹ", "info", e.Detail)
	case scenarios.EvConnect, scenarios.EvLog:
		hub.Note(g.laneOf(e.Side), "·", "info", e.Detail)
	}
}

// result marks a step's expectation met or failed as soon as it is judged.
func (g *stage) result(r scenarios.Result) {
	g.show(func(v *ScenarioView) {
		for i := range v.Expect {
			if x := &v.Expect[i]; x.Step == r.Step && r.Step != 0 && x.State == "waiting" {
				x.Text, x.State, x.Evidence = r.Name, okState(r.OK), r.Evidence
				return
			}
		}
	})
}

// finishView writes the end-of-scenario expectations and the verdict.
func finishView(v *ScenarioView, rep *scenarios.Report, stopped bool) {
	var ends []scenarios.Result
	for _, r := range rep.Results {
		if r.Step == 0 {
			ends = append(ends, r)
		}
	}
	k := 0
	for i := range v.Expect {
		x := &v.Expect[i]
		if x.Step == 0 && k < len(ends) {
			x.Text, x.State, x.Evidence = ends[k].Name, okState(ends[k].OK), ends[k].Evidence
			k++
		}
	}
	for _, r := range ends[k:] { // set-up failures and the like
		v.Expect = append(v.Expect, ExpectView{Text: r.Name, State: okState(r.OK), Evidence: r.Evidence})
	}
	for i := range v.Steps {
		if v.Steps[i].State != "todo" || !stopped {
			v.Steps[i].State = "done"
		}
	}
	passed := rep.OK()
	v.Passed = &passed
	met := len(rep.Results) - rep.Failed()
	v.Verdict = fmt.Sprintf("%s: %d of %d expectations met in %s", map[bool]string{true: "PASS", false: "FAIL"}[passed],
		met, len(rep.Results), rep.Duration.Round(time.Millisecond))
	v.Status = "done"
	if stopped {
		v.Status, v.Verdict = "stopped", "stopped by the trainer"
	}
}

func okState(ok bool) string {
	if ok {
		return "met"
	}
	return "failed"
}

func expectText(e *scenarios.StepExpect) string {
	var parts []string
	for _, o := range e.Outcome {
		parts = append(parts, string(o))
	}
	t := "outcome " + strings.Join(parts, " or ")
	if len(parts) == 0 {
		t = "as expected"
	}
	if len(e.RC) > 0 {
		t += ", RC " + strings.Join(e.RC, " or ")
	}
	return t
}

// stepExpectText is a step's expectation in a few words, and whether it
// has one: on its transaction's outcome, or its kind's own.
func stepExpectText(st *scenarios.Step) (string, bool) {
	switch sp := st.Spec.(type) {
	case *scenarios.ConnectStep:
		if sp.Expect == nil {
			return "", false
		}
		if sp.Expect.Connected == nil {
			return "as expected", true
		}
		return map[bool]string{true: "connects", false: "does not connect"}[*sp.Expect.Connected], true
	case *scenarios.RotateKeysStep:
		return "as expected", sp.ExpectPos != ""
	}
	if st.Expect == nil {
		return "", false
	}
	return expectText(st.Expect), true
}

func endExpectText(e scenarios.Expectation) string {
	return "at the end: " + e.Summary()
}

// Control pauses, plays, steps or stops the scenario on stage, or
// changes its speed.
func (s *session) Control(cmd string, speed int) error {
	s.playMu.Lock()
	p := s.play
	s.playMu.Unlock()
	if p == nil {
		return errors.New("no scenario on stage: pick one and press play")
	}
	select {
	case <-p.done:
		if cmd != "stop" {
			return errors.New("the scenario has ended: press play to run it again")
		}
		return nil
	default:
	}
	p.mu.Lock()
	status := ""
	switch cmd {
	case "pause":
		p.paused, p.credits, status = true, 0, "paused"
	case "play":
		p.paused, status = false, "playing"
	case "step":
		p.paused, status = true, "paused"
		p.credits++
	case "speed":
		if speed < 1 || speed > 10 {
			p.mu.Unlock()
			return fmt.Errorf("speed %d: want 1 to 10", speed)
		}
		p.speed = speed
	case "stop":
		p.mu.Unlock()
		s.stopScenario()
		return nil
	default:
		p.mu.Unlock()
		return fmt.Errorf("unknown scenario command %q: valid are play, pause, step, speed, stop", cmd)
	}
	p.poke()
	sp := p.speed
	p.mu.Unlock()
	s.hub.update(func(st *State) {
		if st.Scenario != nil {
			if status != "" {
				st.Scenario.Status = status
			}
			st.Scenario.Speed = sp
		}
	})
	return nil
}

func (s *session) stopScenario() {
	s.playMu.Lock()
	p := s.play
	s.playMu.Unlock()
	if p == nil {
		return
	}
	p.cancel()
	<-p.done
}
