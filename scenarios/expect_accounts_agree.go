package scenarios

import (
	"fmt"
	"strings"

	"github.com/possim/possim/host"
	"github.com/possim/possim/terminal"
)

// ExAccountsAgree expects the host's and the terminals' accounts to agree
// (or, with false, to disagree).
const ExAccountsAgree ExpectKind = "accounts_agree"

// AccountsAgreeExpectation is an accounts_agree: expectation.
type AccountsAgreeExpectation struct {
	Want bool
}

func init() {
	registerExpect(&expectKind{name: ExAccountsAgree, rank: 10, decode: func(c *expectDec) (ExpectSpec, error) {
		return &AccountsAgreeExpectation{Want: c.o.boolean(c.k, true)}, nil
	}})
}

func (x *AccountsAgreeExpectation) subject() string { return "" }

// accounts compares, transaction by transaction and in totals, what the
// terminals believe with what the host's account holds.
func (x *AccountsAgreeExpectation) check(v *view) Result {
	var mism []string
	termApproved, termDeclined := 0, 0
	for _, o := range v.moneyTx() {
		charged := o.Class == terminal.Approved
		if o.Class == terminal.Approved {
			termApproved++
		}
		if o.Class == terminal.Declined {
			termDeclined++
		}
		hostState := "never received"
		hostCharged := false
		if o.STAN != "" {
			if tx, ok := v.rep.hostTx(o.TID, o.STAN); ok {
				hostState = tx.State.String()
				hostCharged = tx.State == host.Approved
			}
		}
		if charged != hostCharged {
			mism = append(mism, fmt.Sprintf("%s STAN %s on %s: the terminal shows %s, the host's account %s", o.Kind, o.STAN, o.Terminal, o.Class, hostState))
		}
	}
	c := v.rep.Ledger
	net := int(c.Approved) - int(c.Reversed)
	if net != termApproved {
		mism = append(mism, fmt.Sprintf("approved: host %d (%d approved − %d reversed), terminals %d", net, c.Approved, c.Reversed, termApproved))
	}
	if int(c.Declined) != termDeclined {
		mism = append(mism, fmt.Sprintf("declined: host %d, terminals %d", c.Declined, termDeclined))
	}
	agree := len(mism) == 0
	r := Result{Name: "the host's and the terminals' accounts agree (approved, declined, reversed)"}
	if !x.Want {
		r.Name = "the host's and the terminals' accounts disagree"
	}
	r.OK = agree == x.Want
	if !r.OK {
		if agree {
			r.Evidence = fmt.Sprintf("they agree: host %s; terminals approved %d, declined %d", ledgerText(c), termApproved, termDeclined)
		} else {
			r.Evidence = strings.Join(mism, "; ")
		}
	}
	return r
}
