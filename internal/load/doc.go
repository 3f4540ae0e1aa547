// Package load is the measurement core of "possim simulate": open-loop
// pacing, honest latency recording, merging, reports and pass/fail
// thresholds.
//
// # Why open loop
//
// A closed-loop load generator (send, wait for the answer, send the next)
// slows down exactly when the system under test slows down, so it stops
// asking while the host is stalled and never records the latency that real
// terminals would have seen during the stall. Gil Tene named this
// "coordinated omission". possim avoids it in two ways:
//
//   - A [Pacer] fixes the schedule up front: transaction i has an intended
//     send time, independent of how fast earlier ones were answered.
//   - Latency is measured from that intended time, not from the moment the
//     request was finally written. A transaction that could not be written on
//     time (the in-flight limit was reached) is sent as soon as possible,
//     flagged Late, and its wait counts against the host. Service time
//     (write → matched response) is recorded too, separately, because it is
//     what the host alone is responsible for; the gap between the two clocks
//     is the queueing the load generator had to do.
//
// # Shape
//
// The pieces are small and independent, in the spirit of vegeta's lib/:
//
//	pacer.go      Pacer, ConstantPacer, StagesPacer, ParseStages
//	outcome.go    Outcome, RC, Result: what one transaction produced
//	recorder.go   Recorder (one per worker, lock-free), Merge → Metrics
//	window.go     per-second windows: Window, Collector
//	status.go     one-line live status and the StatusPrinter
//	report.go     Report: JSON and text, Check that counts add up
//	rc.go         meanings of common ISO 8583 response codes
//	threshold.go  "p99<50ms"-style pass/fail thresholds
//	hdrlog.go     HdrHistogram interval logs
//
// A run looks like this (see the package example):
//
//	start := time.Now()
//	recs := []*load.Recorder{load.NewRecorder(start), ...} // one per worker goroutine
//	coll := load.NewCollector(start, recs...)
//	// worker k, for each transaction: recs[k].Record(load.Result{...})
//	// status goroutine (StatusPrinter), every second:
//	//     w := coll.Collect(now); hdrLog.WriteWindow(w); print FormatStatus(...)
//	// after the workers have stopped:
//	m := load.Merge(recs...)
//	rep := load.NewReport(m, pacer.Duration(), time.Since(start))
//	err := rep.Check() // the counts add up
//	for _, th := range thresholds { ok, actual := th.Eval(rep) }
package load
