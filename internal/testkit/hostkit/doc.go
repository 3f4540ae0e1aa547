// Package hostkit holds the test set-ups that need possim's own packages:
// a host started on loopback with rules or faults, parsed the way the
// command line parses them. It is the half of the kit that imports host and
// fault, so that package testkit itself can stay free of possim imports
// (package host's internal tests use testkit); package host's own tests
// cannot use hostkit.
//
// Like testkit it is for _test.go files only (TestNoProductionImports):
//
//	h := hostkit.Start(t, host.Config{Faults: hostkit.Faults(t, d, "drop:mti=0210")})
//	h = hostkit.Start(t, host.Config{Rules: hostkit.Rules(t, rulesYAML, true)})
package hostkit
