// Package fault is possim's fault catalogue: one small type per fault,
// registered by name, and the rules that say when each one fires.
//
// The shape is Shopify/toxiproxy's toxics made message-aware. A Rule is
//
//	{type, stream, match {mti, pc, field values, tid, nth, every},
//	 probability, count, after/until, attributes}
//
// and is decided per message (toxiproxy decides per connection, which is
// wrong for long-lived links that multiplex many transactions). Every random
// choice comes from the rule set's seed: the same seed and the same message
// sequence give the same decisions, and reports print the seed.
//
// Faults act at four levels:
//
//   - message: a link.Interceptor (RuleSet.Interceptor) turns each message
//     into a link.Plan — drop, delay, duplicate, reorder, rewrite a field,
//     rewrite the encoded frame (bad MAC, lying length header, garbage).
//   - link: RuleSet.WrapConn wraps the net.Conn (latency, bandwidth,
//     blackhole, reset, close, half-open, slow-drip, truncate) and
//     RuleSet.WrapListener wraps the listener (refuse). Link faults are
//     decided per connection, when it is wrapped (or when the rule is added
//     at run time, for the connections already open).
//   - host: actions the host carries out itself — RuleSet.Unsolicited
//     (host-initiated 0800) and RuleSet.Crashes (drop every link, close the
//     listener, come back).
//   - terminal: RuleSet.Dies, which the terminal checks for each request.
//
// Streams: downstream is host → terminal (responses, host-initiated 0800),
// upstream is terminal → host. A rule set is attached to one side (Side):
// a host's outbound messages are downstream, a terminal's are upstream, and
// a proxy has one link each way. Attach a rule set to one end of a link
// only: attached to both ends it decides each message twice.
//
// Rules are written as flags (ParseSpec: "delay:mti=0210,p=0.1,delay=35s"),
// in YAML (ParseYAML, DecodeYAML) or JSON (the control API), and can be
// changed while links use them (NewControl): the rule list is copy-on-write
// behind an atomic pointer, so the per-message path takes no lock to read it.
package fault

// Wiring, for the host, the terminal and a proxy:
//
//	rs, err := fault.Parse(specs, fault.Options{Seed: seed, Dialect: d}) // same dialect as the links
//	link.Config{Interceptor: rs.Interceptor(fault.Host), ...}             // message faults
//	nc = rs.WrapConn(nc, fault.Host)                                      // link faults, per connection
//	ln = rs.WrapListener(ln)                                              // refuse
//	rs.Unsolicited(), rs.Crashes(), rs.Trigger(id, msg)                   // host actions (the host sends/crashes)
//	rs.Dies(req)                                                          // terminal: die after sending req
//	srv, addr, err := fault.ListenControl("127.0.0.1:0", token, rs)       // runtime control
//	rs.Seed(), rs.Stats(), rs.Fired()                                     // reports
//
// A nil *RuleSet is "no faults": Interceptor returns nil, WrapConn and
// WrapListener return their argument, the decisions say no, the lists are
// empty (Add returns an error). Only NewControl needs a real one.
