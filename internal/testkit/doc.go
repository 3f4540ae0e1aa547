// Package testkit holds the helpers possim's tests share: a server started
// on an ephemeral loopback port, the goleak TestMain set-up, the 2-byte
// length header moov-io's iso8583-connection expects, raw frame reads,
// loopback connection pairs, raw TCP peers (Peer) and refused addresses, a
// log buffer safe for link goroutines, temp files, and the possim binary
// built once per test process.
//
// Two sub-packages hold the set-ups that need possim's own packages:
// isokit (hand-built messages; imports internal/iso only, so link, fault
// and host tests can use it) and hostkit (a host with rules or faults;
// for tests outside package host).
//
// It is for _test.go files only: every file here is named testkit_*.go and
// TestNoProductionImports fails if a non-test file in the module imports it.
// It imports nothing from possim itself so that any package's internal
// tests (package host, package fault …) can use it without an import cycle.
//
// Typical use:
//
//	func TestMain(m *testing.M) { testkit.VerifyMain(m, testkit.IgnoreMoovReader) }
//
//	h, err := host.New(host.Config{Listen: testkit.Loopback, Dialect: d})
//	h = testkit.Serve(t, h, err) // started, closed at the end of the test
//	c := testkit.Dial(t, h.Addr().String())
//	_, _ = c.Write(testkit.Frame(packed))
//	answer := testkit.ReadFrame(t, c) // the body, header stripped
package testkit
