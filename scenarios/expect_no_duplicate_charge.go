package scenarios

import (
	"fmt"
	"strings"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/terminal"
)

// ExNoDuplicateCharge expects no duplicate or hidden charge (or, with
// false, one).
const ExNoDuplicateCharge ExpectKind = "no_duplicate_charge"

// NoDuplicateChargeExpectation is a no_duplicate_charge: expectation.
type NoDuplicateChargeExpectation struct {
	Want bool
}

func init() {
	registerExpect(&expectKind{name: ExNoDuplicateCharge, rank: 11, decode: func(c *expectDec) (ExpectSpec, error) {
		return &NoDuplicateChargeExpectation{Want: c.o.boolean(c.k, true)}, nil
	}})
}

func (x *NoDuplicateChargeExpectation) subject() string { return "" }

// noDuplicate: no request was approved twice by the host, and the host
// holds no charge the merchant does not know of (a charge the terminal
// shows as failed is one the merchant runs again).
func (x *NoDuplicateChargeExpectation) check(v *view) Result {
	var bad []string
	approvals := map[string]int{}
	for _, ev := range v.events {
		if ev.Side == "host" && ev.Kind == EvSent && iso.IsResponse(ev.MTI) && (iso.Class(ev.MTI) == '1' || iso.Class(ev.MTI) == '2') && iso.IsApproval(ev.RC) {
			approvals[ev.TID+" STAN "+ev.STAN]++
		}
	}
	for _, k := range sortedKeys(approvals) {
		if approvals[k] > 1 {
			bad = append(bad, fmt.Sprintf("the host approved TID %s %d times", k, approvals[k]))
		}
	}
	for _, o := range v.moneyTx() {
		if o.Class == terminal.Approved || o.STAN == "" {
			continue
		}
		if tx, ok := v.rep.hostTx(o.TID, o.STAN); ok && tx.State == host.Approved {
			bad = append(bad, fmt.Sprintf("%s STAN %s on %s stands approved at the host but the terminal shows %s: the customer is charged and the merchant will ask again",
				o.Kind, o.STAN, o.Terminal, o.Class))
		}
	}
	ok := len(bad) == 0
	r := Result{Name: "no duplicate charge (nothing approved twice, no charge the terminal does not show)", OK: ok == x.Want}
	if !x.Want {
		r.Name = "a duplicate charge is possible (the host holds a charge the terminal does not show)"
	}
	if !r.OK {
		if ok {
			r.Evidence = "no duplicate or hidden charge found"
		} else {
			r.Evidence = strings.Join(bad, "; ")
		}
	}
	return r
}
