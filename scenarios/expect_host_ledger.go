package scenarios

import (
	"fmt"
	"strings"
)

// ExHostLedger expects counts of the host's account.
const ExHostLedger ExpectKind = "host_ledger"

// HostLedgerExpectation is a host_ledger: expectation.
type HostLedgerExpectation struct {
	Counts map[string]*Count // by ledgerKeys name
}

func init() {
	registerExpect(&expectKind{name: ExHostLedger, rank: 8, decode: func(c *expectDec) (ExpectSpec, error) {
		counts, err := c.counts(ledgerKeys)
		return &HostLedgerExpectation{Counts: counts}, err
	}})
}

var ledgerKeys = []string{"approved", "declined", "reversed", "reversals_received", "duplicate_reversals",
	"reversals_without_original", "reversals_of_declined", "originals_after_reversal"}

func (x *HostLedgerExpectation) subject() string { return countsSubject(x.Counts) }

func (x *HostLedgerExpectation) check(v *view) Result {
	var want, bad []string
	for _, k := range ledgerKeys {
		c, ok := x.Counts[k]
		if !ok {
			continue
		}
		want = append(want, fmt.Sprintf("%s %s", strings.ReplaceAll(k, "_", " "), c))
		if n := ledgerValue(v.rep.Ledger, k); !c.Has(n) {
			bad = append(bad, fmt.Sprintf("%s: %d, want %s", strings.ReplaceAll(k, "_", " "), n, c))
		}
	}
	r := Result{Name: "host's account: " + strings.Join(want, ", "), OK: len(bad) == 0}
	if !r.OK {
		r.Evidence = strings.Join(bad, "; ") + "; the host's account: " + ledgerText(v.rep.Ledger)
	}
	return r
}
