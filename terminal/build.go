package terminal

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// Kind is a transaction type a POS offers.
type Kind string

const (
	Purchase Kind = "purchase"
	Preauth  Kind = "preauth"
	Refund   Kind = "refund"
	Void     Kind = "void"
	Balance  Kind = "balance"
	Echo     Kind = "echo"
	SignOn   Kind = "signon"
	SignOff  Kind = "signoff"
)

// Kinds lists the transaction types in CLI order.
var Kinds = []Kind{Purchase, Preauth, Refund, Void, Balance, Echo, SignOn, SignOff}

// ParseKind reads a transaction type name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == strings.ToLower(s) {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown transaction %q: valid are %s", s, strings.Join(names, ", "))
}

// shape is the MTI, processing code and network code of each kind.
type shape struct {
	mti, pc, nmic string
	financial     bool // moves money: reversed when its outcome is unknown
}

var shapes = map[Kind]shape{
	Purchase: {"0200", "000000", "", true},
	Preauth:  {"0100", "000000", "", true},
	Refund:   {"0200", "200000", "", true},
	Void:     {"0200", "020000", "", true},
	Balance:  {"0100", "310000", "", false},
	Echo:     {"0800", "", "301", false},
	SignOn:   {"0800", "", "001", false},
	SignOff:  {"0800", "", "002", false},
}

// Card is what the terminal reads from a card.
type Card struct {
	PAN    string
	Expiry string // YYMM
	// EntryMode is field 22: 051 chip, 021 magstripe, 012 manual.
	EntryMode string
}

// DefaultCard is a test Visa card the default host rules approve.
var DefaultCard = Card{PAN: "4761739001010010", Expiry: "2812", EntryMode: "051"}

// Tx is one transaction to perform.
type Tx struct {
	Kind   Kind
	Amount int64 // minor units
	Card   Card
	// OrigRRN is the RRN of the transaction a void cancels.
	OrigRRN string
}

// ParseAmount reads "12.34" or "1234" (minor units need the dot) into minor
// units.
func ParseAmount(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if dot && len(frac) != 2 {
		return 0, fmt.Errorf("amount %q: want two decimals, e.g. 12.34", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 {
		return 0, fmt.Errorf("amount %q: not a positive number", s)
	}
	f := int64(0)
	if dot {
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil || f < 0 {
			return 0, fmt.Errorf("amount %q: not a positive number", s)
		}
	}
	v := w*100 + f
	if v > 999999999999 {
		return 0, fmt.Errorf("amount %q is larger than field 4 can carry", s)
	}
	return v, nil
}

// build makes the request message for tx with the given STAN.
func (t *Terminal) build(tx Tx, stan string, now time.Time) (*iso8583.Message, error) {
	sh, ok := shapes[tx.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown transaction kind %q", tx.Kind)
	}
	m := t.cfg.Dialect.NewMessage()
	m.MTI(sh.mti)
	utc := now.UTC()
	fields := []kv{{7, utc.Format("0102150405")}, {11, stan}, {41, t.cfg.TID}}
	if sh.nmic != "" {
		fields = append(fields, kv{70, sh.nmic})
	} else {
		card := tx.Card
		if card.PAN == "" {
			card = DefaultCard
		}
		if card.EntryMode == "" {
			card.EntryMode = "051"
		}
		local := now.Local()
		fields = append(fields, kv{2, card.PAN}, kv{3, sh.pc}, kv{12, local.Format("150405")}, kv{13, local.Format("0102")},
			kv{14, card.Expiry}, kv{22, card.EntryMode}, kv{25, "00"}, kv{42, t.cfg.MID}, kv{49, t.cfg.Currency})
		if tx.Kind != Balance { // no amount on a balance inquiry
			fields = append(fields, kv{4, fmt.Sprintf("%012d", tx.Amount)})
		}
		if tx.Kind == Void {
			fields = append(fields, kv{37, tx.OrigRRN})
		}
	}
	for _, f := range fields {
		if f.v == "" {
			continue
		}
		if err := iso.Set(m, f.id, f.v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

type kv struct {
	id int
	v  string
}

// reversalFor builds the 0400 (or 0401 repeat) that reverses orig, with its
// own STAN and field 90 pointing at the original.
func (t *Terminal) reversalFor(orig *iso8583.Message, stan string, repeat bool, now time.Time) (*iso8583.Message, error) {
	m := t.cfg.Dialect.NewMessage()
	if repeat {
		m.MTI("0401")
	} else {
		m.MTI("0400")
	}
	origMTI, _ := orig.GetMTI()
	for _, id := range []int{2, 3, 4, 12, 13, 14, 22, 25, 32, 41, 42, 49} {
		if v := iso.Get(orig, id); v != "" {
			if err := iso.Set(m, id, v); err != nil {
				return nil, err
			}
		}
	}
	if err := iso.Set(m, 7, now.UTC().Format("0102150405")); err != nil {
		return nil, err
	}
	if err := iso.Set(m, 11, stan); err != nil {
		return nil, err
	}
	// 90: original MTI, STAN, transmission date-time, acquirer and forwarder ids.
	f90 := origMTI + iso.Get(orig, 11) + iso.Get(orig, 7) + fmt.Sprintf("%011s%011s", iso.Get(orig, 32), "")
	f90 = strings.ReplaceAll(f90, " ", "0")
	if err := iso.Set(m, 90, f90); err != nil {
		return nil, err
	}
	return m, nil
}
