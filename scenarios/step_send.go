package scenarios

import (
	"context"
	"strings"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/terminal"
)

// ActSend sends a transaction from a terminal.
const ActSend Action = "send"

// SendStep is a send: step. The transaction is the step's Tx, from its
// Terminal.
type SendStep struct {
	RRNOf string // the original's RRN is the answer to this step id's transaction
	Async bool   // do not wait for the outcome (a later await: does)
}

func init() {
	registerStep(&stepKind{name: ActSend, rank: 1,
		keys:   []string{"terminal", "amount", "card", "expiry", "entry_mode", "rrn", "rrn_of", "async", "expect"},
		decode: decodeSend})
}

var financialKinds = map[terminal.Kind]bool{terminal.Purchase: true, terminal.Preauth: true, terminal.Refund: true, terminal.Void: true}

func decodeSend(c *stepDec) (StepSpec, error) {
	o, st := c.o, c.st
	kindS, _ := o.scalar(c.act())
	kind, err := terminal.ParseKind(kindS)
	if err != nil {
		o.fail(c.act(), "%v", err)
	}
	st.Tx.Kind = kind
	st.Terminal = c.termRef("terminal", o.str("terminal", ""))
	st.Tx.Amount = sendAmount(o, kind)
	sendCard(o, &st.Tx)
	if r, ok := o.scalar("rrn"); ok {
		st.Tx.OrigRRN = r
	}
	sp := &SendStep{RRNOf: o.str("rrn_of", "")}
	if ks, _ := terminal.Spec(kind); (st.Tx.OrigRRN != "" || sp.RRNOf != "") && (ks == nil || ks.Original == terminal.NoOriginal) {
		o.fail("rrn", "%s names no original: rrn and rrn_of are for void and completion", kind)
	}
	sp.Async = o.boolean("async", false)
	if sp.Async && st.ID == "" && o.err == nil {
		return nil, c.d.errf(o.key("async"), "%s: an async send needs an id, so that a later await: can name it", c.what)
	}
	return sp, c.outcomeExpect()
}

// sendAmount reads amount: (currency units); a financial send without one
// is 10.00.
func sendAmount(o *obj, kind terminal.Kind) int64 {
	if a, ok := o.scalar("amount"); ok {
		v, err := terminal.ParseAmount(a)
		if err != nil {
			o.fail("amount", "%v (amounts are in currency units: \"12.34\")", err)
		}
		return v
	}
	if financialKinds[kind] {
		return 1000
	}
	return 0
}

func allDigits(s string) bool { return strings.Trim(s, "0123456789") == "" }

// sendCard reads card:, expiry: and entry_mode: (the test card when only
// the expiry or the entry mode is given).
func sendCard(o *obj, tx *terminal.Tx) {
	if pan, ok := o.scalar("card"); ok {
		if len(pan) < 12 || len(pan) > 19 || !allDigits(pan) {
			o.fail("card", "want a PAN of 12 to 19 digits")
		}
		tx.Card.PAN = pan
		tx.Card.Expiry = "2812"
	}
	if e, ok := o.scalar("expiry"); ok {
		if len(e) != 4 || !allDigits(e) {
			o.fail("expiry", "want YYMM")
		}
		if tx.Card.PAN == "" {
			tx.Card = terminal.DefaultCard
		}
		tx.Card.Expiry = e
	}
	if e, ok := o.scalar("entry_mode"); ok {
		if len(e) != 3 || !allDigits(e) {
			o.fail("entry_mode", "want 3 digits (051 chip, 021 magstripe, 012 manual)")
		}
		if tx.Card.PAN == "" {
			tx.Card = terminal.DefaultCard
		}
		tx.Card.EntryMode = e
	}
}

func (sp *SendStep) run(ctx context.Context, rn *runner, st *Step) {
	rn.runTx(ctx, st, sp.RRNOf, sp.Async)
}

func (sp *SendStep) describe(st *Step) string {
	d := "send " + string(st.Tx.Kind)
	if st.Tx.Amount > 0 {
		d += " " + formatAmount(st.Tx.Amount)
	}
	if st.Tx.Card.PAN != "" {
		d += " card " + iso.MaskPAN(st.Tx.Card.PAN)
	}
	d += " on " + st.Terminal
	if sp.Async {
		d += " (not waiting)"
	}
	return d
}
