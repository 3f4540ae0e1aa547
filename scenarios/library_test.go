package scenarios

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Every library scenario is a test: it must load, run and meet all its
// expectations. They run in parallel (each has its own host on an
// ephemeral port).
func TestLibrary(t *testing.T) {
	t.Parallel()
	names := LibraryNames()
	// The library the issue asks for, at least.
	for _, want := range []string{"happy-path", "host-down", "host-restart", "network-blackhole", "response-lost",
		"late-response", "link-dropped", "slow-network", "half-open", "bad-mac-terminal", "bad-mac-host",
		"key-desync", "dialect-mismatch", "wrong-bitmap", "duplicate-response", "stan-mismatch",
		"issuer-unavailable", "card-declined", "format-error"} {
		if _, err := Library(want); err != nil {
			t.Errorf("library: %v", err)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := Library(name)
			if err != nil {
				t.Fatal(err)
			}
			// Written for a trainer: the merchant's view, the truth, how to
			// confirm, how to fix, and the usual checklist mapped to it.
			for _, h := range []string{"MERCHANT SEES", "WHAT REALLY HAPPENED", "HOW TO CONFIRM", "HOW TO FIX", "THE USUAL CHECKLIST", "power and cables", "restart", "call support"} {
				if !strings.Contains(sc.Description, h) {
					t.Errorf("description has no %q", h)
				}
			}
			if sc.Title == "" || len(sc.Expect) == 0 {
				t.Error("no title or no end expectations")
			}
			start := time.Now()
			rep := Run(context.Background(), sc, Options{})
			var b strings.Builder
			_ = rep.WriteText(&b)
			if !rep.OK() {
				t.Fatalf("scenario %s failed:\n%s", name, b.String())
			}
			if testing.Verbose() {
				t.Logf("%s passed in %s\n%s", name, time.Since(start).Round(time.Millisecond), b.String())
			}
		})
	}
}
