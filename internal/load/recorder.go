package load

import (
	"runtime"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram parameters shared by every histogram of the package: values in
// microseconds, from 1 µs to 1 h, 3 significant digits (a value is known to
// within 0.1 %). About 184 KiB each, whatever the run length.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
)

// NewHistogram returns an empty histogram with the package's parameters
// (microseconds, 1 µs .. 1 h, 3 significant digits).
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// micros converts a duration to a histogram value, clamped to the
// histogram's range so that recording never fails (and never allocates an
// error): negative → 0, more than an hour → an hour.
func micros(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	us := int64(d / time.Microsecond)
	if us > histHighest {
		return histHighest
	}
	return us
}

// Bounds on the small per-recorder tables, so memory does not grow with the
// run whatever the pipeline feeds in. Beyond them counts go to an overflow
// entry: transaction type [OtherTxType], response code "??".
const (
	maxTxTypes  = 64
	maxOtherRCs = 128
	maxCauses   = 64
)

// OtherCause is where failures of further causes are counted once a
// recorder has seen 63 distinct causes.
const OtherCause = "other"

// OtherTxType is where transactions of further types are counted once a
// recorder has seen 63 distinct types.
const OtherTxType = "other"

// overflowRC collects non-numeric response codes once a recorder has seen
// 128 of them (numeric codes have a fixed table and never overflow).
var overflowRC = RC{'?', '?'}

type txStat struct {
	name     string
	outcomes OutcomeCounts
}

// causeCount is the number of failures with one cause.
type causeCount struct {
	name    string
	n       int64
	example string // the first occurrence in words, kept for the error set
}

// countCause adds n failures of cause name to a bounded table (linear:
// a run sees a handful of causes); the first example given is kept.
func countCause(t *[]causeCount, name string, n int64, example string) {
	for i := range *t {
		if (*t)[i].name == name {
			(*t)[i].n += n
			if (*t)[i].example == "" {
				(*t)[i].example = example
			}
			return
		}
	}
	if len(*t) >= maxCauses-1 && name != OtherCause {
		countCause(t, OtherCause, n, example)
		return
	}
	*t = append(*t, causeCount{name, n, example})
}

// CauseOf is the cause id a failure is counted under: the result's own,
// or the outcome's name when the target gave none. Answered transactions
// have no cause.
func CauseOf(o Outcome, cause string) string {
	if o.Answered() {
		return ""
	}
	if cause != "" {
		return cause
	}
	return o.String()
}

// Recorder accumulates the results of one worker goroutine.
//
// A Recorder is owned by one goroutine: Record takes no lock and is not safe
// for concurrent use with itself or with [Merge]. (One per worker, merged at
// the end, is how the histograms stay contention-free: DESIGN.md §5.) The one
// exception is the per-second window, which a [Collector] on another
// goroutine takes over once a second; that handoff is lock-free on the
// Record side (see collectWindow).
//
// Memory is fixed: two total histograms, two window histograms, and small
// bounded tables.
type Recorder struct {
	start time.Time

	// Totals, touched only by the owner.
	latency  *hdrhistogram.Histogram // Done - Intended, µs
	service  *hdrhistogram.Histogram // Done - Sent, µs
	sendLag  *hdrhistogram.Histogram // Sent - Intended, µs: the generator's own error
	outcomes OutcomeCounts
	late     int64
	rcNum    [100]int64 // "00".."99"
	rcOther  map[RC]int64
	types    []txStat
	causes   []causeCount
	first    time.Duration // earliest Intended
	last     time.Duration // latest Intended
	lastDone time.Duration // latest Done
	n        int64

	// Window handoff. seq is odd while Record is writing into a window;
	// cur is the index of the window Record writes into. Only the owner
	// writes seq, only the collector writes cur.
	seq  atomic.Uint64
	cur  atomic.Uint32
	wseq uint64 // owner's copy of seq
	win  [2]windowBuf
}

// windowBuf is one buffer of the per-second window.
type windowBuf struct {
	latency *hdrhistogram.Histogram
	service *hdrhistogram.Histogram
	sendLag *hdrhistogram.Histogram
	counts  Counts
	causes  []causeCount
	rcNum   [101]int64 // "00".."99", and [100] for any other code
}

func newWindowBuf() windowBuf {
	return windowBuf{latency: NewHistogram(), service: NewHistogram(), sendLag: NewHistogram()}
}

// NewRecorder returns an empty Recorder for a run that started at start.
// Result offsets are relative to start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{
		start:   start,
		latency: NewHistogram(),
		service: NewHistogram(),
		sendLag: NewHistogram(),
		rcOther: make(map[RC]int64),
		types:   make([]txStat, 0, 8),
		win:     [2]windowBuf{newWindowBuf(), newWindowBuf()},
	}
}

// Start returns the start of the run the recorder was created for.
func (r *Recorder) Start() time.Time { return r.start }

// Record adds one result. It takes no lock and does not allocate (except
// the first time a new transaction type or non-numeric RC is seen).
//
// Latency (Done - Intended) and service time (Done - Sent) are recorded for
// every transaction that was sent, timeouts and link failures included, at
// the time it was given up: leaving them out would make a host that drops
// requests look fast. NotSent results have neither clock; they are counted.
// A result with an invalid Outcome is counted as NotSent rather than lost.
//
// Cost: 50–75 ns (three histogram updates, two uncontended atomic
// stores) on the 2-core dev machine, 0 allocations; see BenchmarkRecord.
func (r *Recorder) Record(res Result) {
	o := res.Outcome
	if !o.Valid() {
		o = NotSent // never lose a transaction from the counts
	}
	var lat, svc, lag int64
	sent := o != NotSent
	if sent {
		lat = micros(res.Done - res.Intended)
		svc = micros(res.Done - res.Sent)
		lag = micros(res.Sent - res.Intended)
		_ = r.latency.RecordValue(lat)
		_ = r.service.RecordValue(svc)
		_ = r.sendLag.RecordValue(lag)
	}
	cause := CauseOf(o, res.Cause)
	if cause != "" {
		countCause(&r.causes, cause, 1, res.Example)
	}
	r.outcomes[o]++
	if res.Late {
		r.late++
	}
	if o.Answered() {
		if v, ok := res.RC.numeric(); ok {
			r.rcNum[v]++
		} else {
			r.countOtherRC(res.RC)
		}
	}
	r.countType(res.TxType, o)
	if r.n == 0 || res.Intended < r.first {
		r.first = res.Intended
	}
	if res.Intended > r.last {
		r.last = res.Intended
	}
	if res.Done > r.lastDone {
		r.lastDone = res.Done
	}
	r.n++

	// Window: mark busy (odd), write into the current buffer, mark done
	// (even). The collector swaps cur and then waits for seq to leave the
	// odd value it saw, so it never reads a buffer being written.
	r.wseq++
	r.seq.Store(r.wseq)
	w := &r.win[r.cur.Load()]
	if sent {
		_ = w.latency.RecordValue(lat)
		_ = w.service.RecordValue(svc)
		_ = w.sendLag.RecordValue(lag)
	}
	if cause != "" {
		countCause(&w.causes, cause, 1, "")
	}
	if o.Answered() {
		if v, ok := res.RC.numeric(); ok {
			w.rcNum[v]++
		} else {
			w.rcNum[100]++
		}
	}
	w.counts.Outcomes[o]++
	if res.Late {
		w.counts.Late++
	}
	r.wseq++
	r.seq.Store(r.wseq)
}

// recordUnstarted adds n transactions that were due from first to last
// and never started (not sent, late, type txType), decided at at: what n
// calls of Record would add, in constant time (a run given up far over
// saturation can have millions).
func (r *Recorder) recordUnstarted(n int64, first, last, at time.Duration, txType string) {
	if n <= 0 {
		return
	}
	r.outcomes[NotSent] += n
	r.late += n
	cause := CauseOf(NotSent, "")
	countCause(&r.causes, cause, n, "")
	r.countTypeN(txType, NotSent, n)
	if r.n == 0 || first < r.first {
		r.first = first
	}
	r.last = max(r.last, last)
	r.lastDone = max(r.lastDone, at)
	r.n += n
	r.wseq++
	r.seq.Store(r.wseq)
	w := &r.win[r.cur.Load()]
	countCause(&w.causes, cause, n, "")
	w.counts.Outcomes[NotSent] += n
	w.counts.Late += n
	r.wseq++
	r.seq.Store(r.wseq)
}

func (r *Recorder) countOtherRC(rc RC) {
	if _, ok := r.rcOther[rc]; !ok && len(r.rcOther) >= maxOtherRCs {
		rc = overflowRC
	}
	r.rcOther[rc]++
}

func (r *Recorder) countType(name string, o Outcome) { r.countTypeN(name, o, 1) }

func (r *Recorder) countTypeN(name string, o Outcome, n int64) {
	for i := range r.types {
		if r.types[i].name == name {
			r.types[i].outcomes[o] += n
			return
		}
	}
	if len(r.types) >= maxTxTypes-1 {
		name = OtherTxType
		for i := range r.types {
			if r.types[i].name == name {
				r.types[i].outcomes[o] += n
				return
			}
		}
	}
	r.types = append(r.types, txStat{name: name})
	r.types[len(r.types)-1].outcomes[o] += n
}

// collectWindow hands the window written since the last call to the
// collector: it swaps the buffer Record writes into, waits until no Record
// is still writing into the old one, adds the old one to into (histogram
// merged, counts added), and clears it for reuse. Called by one collector
// goroutine only.
//
// Why this is safe without a lock: Record publishes "busy" (odd seq) before
// it loads cur, and "done" (even seq) after its last write. Go's atomics are
// sequentially consistent, so once the collector has stored the new cur and
// then seen seq even (or move past an odd value), every Record that could
// have loaded the old index has finished, and its writes happen before the
// collector's reads. Record never waits; the collector waits at most for
// one Record (≈100 ns, or until a preempted worker runs again).
func (r *Recorder) collectWindow(into *Window) {
	old := r.cur.Load()
	r.cur.Store(old ^ 1)
	if s := r.seq.Load(); s&1 == 1 {
		for r.seq.Load() == s {
			runtime.Gosched()
		}
	}
	w := &r.win[old]
	for _, h := range [...]struct{ from, into *hdrhistogram.Histogram }{
		{w.latency, into.Latency}, {w.service, into.Service}, {w.sendLag, into.SendLag},
	} {
		if h.from.TotalCount() > 0 {
			h.into.Merge(h.from)
			h.from.Reset()
		}
	}
	into.Counts.Add(&w.counts)
	w.counts = Counts{}
	for v, n := range w.rcNum {
		if n != 0 {
			code := string(overflowRC[:])
			if v < 100 {
				code = string([]byte{byte('0' + v/10), byte('0' + v%10)})
			}
			into.RC[code] += n
			w.rcNum[v] = 0
		}
	}
	for i := range w.causes {
		if w.causes[i].n != 0 {
			into.Causes[w.causes[i].name] += w.causes[i].n
			w.causes[i].n = 0 // keep the entry: no allocation next time
		}
	}
}

// Metrics is the merged account of a run: what [Merge] builds from the
// workers' recorders and [NewReport] turns into a [Report].
type Metrics struct {
	Start    time.Time
	Requests int64                   // results recorded
	Latency  *hdrhistogram.Histogram // intended time → done, µs
	Service  *hdrhistogram.Histogram // write → done, µs
	SendLag  *hdrhistogram.Histogram // intended time → write, µs
	Outcomes OutcomeCounts
	Causes   map[string]int64 // failures (not answered) by cause id
	// Examples are one occurrence per cause, in words (the first seen).
	Examples map[string]string
	Late     int64            // results sent late (in-flight limit)
	RC       map[RC]int64     // answered transactions per response code
	TxTypes  map[string]*OutcomeCounts
	// FirstIntended, LastIntended and LastDone are the earliest and latest
	// intended times and the latest outcome time, as offsets from Start.
	FirstIntended, LastIntended, LastDone time.Duration
}

// NewMetrics returns empty Metrics for a run that started at start.
func NewMetrics(start time.Time) *Metrics {
	return &Metrics{
		Start:   start,
		Latency: NewHistogram(),
		Service: NewHistogram(),
		SendLag: NewHistogram(),
		Causes:   make(map[string]int64),
		Examples: make(map[string]string),
		RC:       make(map[RC]int64),
		TxTypes: make(map[string]*OutcomeCounts),
	}
}

// Merge combines the totals of the given recorders. Call it after every
// worker has stopped recording (for instance after a sync.WaitGroup.Wait):
// it reads the recorders without synchronisation. The result's Start is
// the first recorder's.
func Merge(recs ...*Recorder) *Metrics {
	var start time.Time
	if len(recs) > 0 {
		start = recs[0].start
	}
	m := NewMetrics(start)
	for _, r := range recs {
		m.addRecorder(r)
	}
	return m
}

func (m *Metrics) addRecorder(r *Recorder) {
	if r.n == 0 {
		return
	}
	m.Latency.Merge(r.latency)
	m.Service.Merge(r.service)
	m.SendLag.Merge(r.sendLag)
	for _, c := range r.causes {
		m.Causes[c.name] += c.n
		m.example(c.name, c.example)
	}
	m.Outcomes.Add(&r.outcomes)
	m.Late += r.late
	for v, n := range r.rcNum {
		if n != 0 {
			m.RC[RC{byte('0' + v/10), byte('0' + v%10)}] += n
		}
	}
	for rc, n := range r.rcOther {
		m.RC[rc] += n
	}
	for i := range r.types {
		m.typeCounts(r.types[i].name).Add(&r.types[i].outcomes)
	}
	m.span(r.n, r.first, r.last, r.lastDone)
}

// example keeps the first example of a cause.
func (m *Metrics) example(cause, e string) {
	if e == "" || m.Examples[cause] != "" {
		return
	}
	if m.Examples == nil {
		m.Examples = make(map[string]string)
	}
	m.Examples[cause] = e
}

func (m *Metrics) typeCounts(name string) *OutcomeCounts {
	c := m.TxTypes[name]
	if c == nil {
		c = new(OutcomeCounts)
		m.TxTypes[name] = c
	}
	return c
}

func (m *Metrics) span(n int64, first, last, lastDone time.Duration) {
	if m.Requests == 0 || first < m.FirstIntended {
		m.FirstIntended = first
	}
	if last > m.LastIntended {
		m.LastIntended = last
	}
	if lastDone > m.LastDone {
		m.LastDone = lastDone
	}
	m.Requests += n
}

// Add merges o into m (for combining runs or partial merges).
func (m *Metrics) Add(o *Metrics) {
	if o.Requests == 0 {
		return
	}
	m.Latency.Merge(o.Latency)
	m.Service.Merge(o.Service)
	m.SendLag.Merge(o.SendLag)
	for c, n := range o.Causes {
		m.Causes[c] += n
	}
	for c, e := range o.Examples {
		m.example(c, e)
	}
	m.Outcomes.Add(&o.Outcomes)
	m.Late += o.Late
	for rc, n := range o.RC {
		m.RC[rc] += n
	}
	for name, c := range o.TxTypes {
		m.typeCounts(name).Add(c)
	}
	m.span(o.Requests, o.FirstIntended, o.LastIntended, o.LastDone)
}
