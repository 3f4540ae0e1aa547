package scenarios

import (
	"fmt"
	"strings"

	"github.com/possim/possim/host"
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

// ledgerCounts are the host's account counts a host_ledger: may name, in
// the order reports list them.
var ledgerCounts = []struct {
	key string
	get func(host.Counts) int64
}{
	{"approved", func(c host.Counts) int64 { return int64(c.Approved) }},
	{"declined", func(c host.Counts) int64 { return int64(c.Declined) }},
	{"reversed", func(c host.Counts) int64 { return int64(c.Reversed) }},
	{"reversals_received", func(c host.Counts) int64 { return int64(c.ReversalsReceived) }},
	{"duplicate_reversals", func(c host.Counts) int64 { return int64(c.DuplicateReversals) }},
	{"reversals_without_original", func(c host.Counts) int64 { return int64(c.ReversalsWithoutOriginal) }},
	{"reversals_of_declined", func(c host.Counts) int64 { return int64(c.ReversalsOfDeclined) }},
	{"originals_after_reversal", func(c host.Counts) int64 { return int64(c.OriginalsAfterReversal) }},
}

var ledgerKeys = func() []string {
	out := make([]string, len(ledgerCounts))
	for i, lc := range ledgerCounts {
		out[i] = lc.key
	}
	return out
}()

func (x *HostLedgerExpectation) subject() string { return countsSubject(x.Counts) }

func (x *HostLedgerExpectation) check(v *view) Result {
	var want, bad []string
	for _, lc := range ledgerCounts {
		k := lc.key
		c, ok := x.Counts[k]
		if !ok {
			continue
		}
		want = append(want, fmt.Sprintf("%s %s", strings.ReplaceAll(k, "_", " "), c))
		if n := int(lc.get(v.rep.Ledger)); !c.Has(n) {
			bad = append(bad, fmt.Sprintf("%s: %d, want %s", strings.ReplaceAll(k, "_", " "), n, c))
		}
	}
	r := Result{Name: "host's account: " + strings.Join(want, ", "), OK: len(bad) == 0}
	if !r.OK {
		r.Evidence = strings.Join(bad, "; ") + "; the host's account: " + ledgerText(v.rep.Ledger)
	}
	return r
}
