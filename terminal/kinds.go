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
	Purchase   Kind = "purchase"
	Preauth    Kind = "preauth"
	Completion Kind = "completion"
	Refund     Kind = "refund"
	Void       Kind = "void"
	Balance    Kind = "balance"
	Echo       Kind = "echo"
	SignOn     Kind = "signon"
	SignOff    Kind = "signoff"
	Reversal   Kind = "reversal"
)

// Original says which earlier transaction a kind refers to.
type Original uint8

const (
	NoOriginal Original = iota
	// ByRRN: field 37 carries the original's RRN (void).
	ByRRN
	// ByRRNAnd90: field 37 and field 90 (original MTI, STAN, date-time) name
	// the original (completion of a pre-authorisation).
	ByRRNAnd90
	// ByReversal: the message is a reversal of the original (field 90).
	ByReversal
)

// KindSpec is one entry of the table of transaction kinds: everything the
// engine needs to build, check and recover a kind. Adding a kind is adding
// an entry here (and, when our host must answer it, a case in host/).
type KindSpec struct {
	Kind Kind
	MTI  string // the request's MTI
	PC   string // processing code (field 3); "" for network management
	NMIC string // network management code (field 70) for 08xx
	// Card: the request carries the card (2, 14, 22, 25) and merchant
	// (42, 49) fields; Amount: field 4.
	Card, Amount bool
	Original     Original
	// Reversible: the kind moves money, so when its outcome is unknown or
	// its answer cannot be trusted the terminal reverses it (store-and-
	// forward when the reversal is not acknowledged).
	Reversible bool
	// ReversalMTI is the MTI of its reversal (0400 or, for an advice,
	// 0420); the repeat is the same with last digit 1.
	ReversalMTI string
	// Mix: the kind may be part of a load mix (it needs no original and
	// does not change the terminal's state).
	Mix  bool
	Help string
}

// kindTable is the one table of transaction kinds, in CLI order.
var kindTable = []KindSpec{
	{Kind: Purchase, MTI: "0200", PC: "000000", Card: true, Amount: true, Reversible: true, ReversalMTI: "0400", Mix: true, Help: "a sale"},
	{Kind: Preauth, MTI: "0100", PC: "000000", Card: true, Amount: true, Reversible: true, ReversalMTI: "0400", Mix: true, Help: "a pre-authorisation (hotel, car rental)"},
	{Kind: Completion, MTI: "0220", PC: "000000", Card: true, Amount: true, Original: ByRRNAnd90, Reversible: true, ReversalMTI: "0420", Help: "completion of a pre-authorisation (advice naming it by RRN and field 90)"},
	{Kind: Refund, MTI: "0200", PC: "200000", Card: true, Amount: true, Reversible: true, ReversalMTI: "0400", Mix: true, Help: "money back to the card"},
	{Kind: Void, MTI: "0200", PC: "020000", Card: true, Amount: true, Original: ByRRN, Reversible: true, ReversalMTI: "0400", Help: "cancel an earlier sale (by RRN; default the last approved sale in the journal)"},
	{Kind: Balance, MTI: "0100", PC: "310000", Card: true, Mix: true, Help: "balance inquiry (moves no money)"},
	{Kind: Echo, MTI: "0800", NMIC: "301", Mix: true, Help: "echo test"},
	{Kind: SignOn, MTI: "0800", NMIC: "001", Help: "sign-on (working keys with MACs on)"},
	{Kind: SignOff, MTI: "0800", NMIC: "002", Help: "sign-off"},
	{Kind: Reversal, MTI: "0400", Original: ByReversal, Help: "reverse the last approved financial transaction in the journal"},
}

var kindIndex = func() map[Kind]*KindSpec {
	m := make(map[Kind]*KindSpec, len(kindTable))
	for i := range kindTable {
		m[kindTable[i].Kind] = &kindTable[i]
	}
	return m
}()

// Spec returns the table entry of k.
func Spec(k Kind) (*KindSpec, bool) {
	s, ok := kindIndex[k]
	return s, ok
}

// Kinds lists the transaction types in CLI order.
var Kinds = func() []Kind {
	out := make([]Kind, len(kindTable))
	for i, s := range kindTable {
		out[i] = s.Kind
	}
	return out
}()

// KindNames is "purchase|preauth|...".
func KindNames(sep string) string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, sep)
}

// ParseKind reads a transaction type name.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := kindIndex[k]; ok {
		return k, nil
	}
	return "", fmt.Errorf("unknown transaction %q: valid are %s", s, KindNames(", "))
}

// Card is what the terminal reads from a card.
type Card struct {
	PAN    string
	Expiry string // YYMM
	// EntryMode is field 22: 051 chip, 021 magstripe, 012 manual; ""
	// follows from Read (carddata.go).
	EntryMode string
	// Read is how the card is read: chip (EMV data in 55), swipe (track 2
	// in 35), fallback (stripe after a failed chip read), manual; "" is
	// the plain default (entry mode 051, no ICC data).
	Read string
	// PIN, when set, goes in field 52 as a format 0 PIN block under the
	// PIN working key; it is never printed or stored.
	PIN string
}

// DefaultCard is a test Visa card the default host rules approve.
var DefaultCard = Card{PAN: "4761739001010010", Expiry: "2812", EntryMode: "051"}

// Tx is one transaction to perform.
type Tx struct {
	Kind   Kind
	Amount int64 // minor units
	Card   Card
	// OrigRRN is the RRN of the transaction a void or completion refers to.
	OrigRRN string
	// Orig is the original a completion or a reversal names (field 90 and
	// what a reversal copies); the journal supplies it.
	Orig *OrigFields
	// Fields override request fields last (--field N=VALUE; "" removes).
	Fields []FieldValue
}

// OrigFields are the fields of an original request a reversal (or a
// completion's field 90) needs. Never the full PAN: the journal on disk
// keeps them, and a host finds the original by TID + field 90.
type OrigFields struct {
	MTI    string         `json:"mti"`
	Fields map[int]string `json:"fields"`
}

// reversalCopies are the fields a reversal copies from its original.
var reversalCopies = []int{2, 3, 4, 7, 11, 12, 13, 14, 22, 25, 32, 37, 41, 42, 49}

// origOf takes what a reversal needs from the request m.
func origOf(m *iso8583.Message) *OrigFields {
	o := &OrigFields{Fields: make(map[int]string, len(reversalCopies))}
	o.MTI, _ = m.GetMTI()
	for _, id := range reversalCopies {
		if v, err := m.GetString(id); err == nil && v != "" {
			o.Fields[id] = v
		}
	}
	return o
}

// persistable is o without the card number and expiry, for the journal.
func (o *OrigFields) persistable() *OrigFields {
	c := &OrigFields{MTI: o.MTI, Fields: make(map[int]string, len(o.Fields))}
	for id, v := range o.Fields {
		if id != 2 && id != 14 && id != 35 {
			c.Fields[id] = v
		}
	}
	return c
}

// field90 is the original data elements: original MTI, STAN, transmission
// date-time, acquirer and forwarder ids.
func (o *OrigFields) field90() string {
	f := o.MTI + o.Fields[11] + o.Fields[7] + fmt.Sprintf("%011s%011s", o.Fields[32], "")
	return strings.ReplaceAll(f, " ", "0")
}

// originalData is the original data elements in the dialect's field: 90
// (42 characters) in 1987; 56 (at most 35: MTI, STAN, date-time and the
// acquirer id) in 1993.
func (o *OrigFields) originalData(d *iso.Dialect) string {
	f := o.field90()
	if d.OriginalDataField() == 56 {
		f = f[:31]
	}
	return f
}

// ParseAmount reads "12.34" or "12" (major units, at most two decimals)
// into minor units.
func ParseAmount(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if dot && (len(frac) == 0 || len(frac) > 2) {
		return 0, fmt.Errorf("amount %q: at most two decimals, e.g. 12.34", s)
	}
	if whole == "" || strings.HasPrefix(whole, "+") || strings.HasPrefix(whole, "-") {
		return 0, fmt.Errorf("amount %q: not a positive number", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 {
		return 0, fmt.Errorf("amount %q: not a positive number", s)
	}
	f := int64(0)
	if dot {
		if len(frac) == 1 {
			frac += "0"
		}
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil || f < 0 || strings.HasPrefix(frac, "+") || strings.HasPrefix(frac, "-") {
			return 0, fmt.Errorf("amount %q: not a positive number", s)
		}
	}
	if w > 9999999999 {
		return 0, fmt.Errorf("amount %q is larger than field 4 can carry", s)
	}
	return w*100 + f, nil
}

// wireMTI is mti (in the 1987 numbering the kind table uses) as the
// dialect's edition sends it: 0200 → 1200, 0400 → 1420, 0800 → 1804 in
// ISO 8583:1993.
func wireMTI(d *iso.Dialect, mti string) string {
	if d.Version != iso.V1993 {
		return mti
	}
	switch mti {
	case "0100":
		return d.MTI(iso.AuthRequest)
	case "0200":
		return d.MTI(iso.FinancialRequest)
	case "0220", "0221":
		return d.MTI(iso.FinancialAdvice)
	case "0400", "0420":
		return d.MTI(iso.ReversalRequest)
	case "0401", "0421":
		return d.MTI(iso.ReversalRepeat)
	case "0800":
		return d.MTI(iso.NetworkRequest)
	}
	return mti
}

// FormatAmount writes minor units as "12.34".
func FormatAmount(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }

type kv struct {
	id int
	v  string
}

// build makes the request message for tx with the given STAN.
func (t *Terminal) build(tx Tx, stan string, now time.Time) (*iso8583.Message, error) {
	sp, ok := kindIndex[tx.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown transaction kind %q", tx.Kind)
	}
	if sp.Original == ByReversal {
		if tx.Orig == nil {
			return nil, fmt.Errorf("a reversal needs its original (none in the journal)")
		}
		return t.reversalFor(tx.Orig, sp.MTI, stan, false, now)
	}
	d := t.cfg.Dialect
	m := d.NewMessage()
	m.MTI(wireMTI(d, sp.MTI))
	utc := now.UTC()
	fields := []kv{{7, utc.Format("0102150405")}, {11, stan}, {41, t.cfg.TID}}
	if sp.NMIC != "" {
		if err := d.SetNetworkCode(m, sp.NMIC); err != nil {
			return nil, err
		}
	}
	if sp.PC != "" {
		fields = append(fields, kv{3, sp.PC})
		local := now.Local()
		if d.Version == iso.V1993 { // 1993's 12 is the local date and time, YYMMDDhhmmss
			fields = append(fields, kv{12, local.Format("060102150405")})
		} else {
			fields = append(fields, kv{12, local.Format("150405")}, kv{13, local.Format("0102")})
		}
	}
	card := tx.Card
	if sp.Card {
		if card.PAN == "" {
			card = DefaultCard
		}
		if t.cfg.EntryMode != "" {
			card.EntryMode = t.cfg.EntryMode
		}
		fields = append(fields, kv{2, card.PAN}, kv{14, card.Expiry}, kv{42, t.cfg.MID}, kv{49, t.cfg.Currency})
		cond := t.cfg.POSCondition
		if cond == "" && d.Version != iso.V1993 { // 25 is the POS condition code in 1987 only
			cond = "00"
		}
		fields = append(fields, kv{25, cond})
	}
	if sp.Amount {
		fields = append(fields, kv{4, fmt.Sprintf("%012d", tx.Amount)})
	}
	switch sp.Original {
	case ByRRN:
		fields = append(fields, kv{37, tx.OrigRRN})
	case ByRRNAnd90:
		fields = append(fields, kv{37, tx.OrigRRN})
		if tx.Orig != nil {
			fields = append(fields, kv{d.OriginalDataField(), tx.Orig.originalData(d)})
		}
	}
	for _, f := range fields {
		if f.v == "" {
			continue
		}
		if err := iso.Set(m, f.id, f.v); err != nil {
			return nil, fmt.Errorf("field %d: %w", f.id, err)
		}
	}
	if sp.Card { // entry mode, track 2 / ICC data, PIN block (carddata.go)
		if err := t.cardFields(m, card, tx, sp.PC, now); err != nil {
			return nil, err
		}
	}
	if err := applyFields(m, append(append([]FieldValue(nil), t.cfg.Fields...), tx.Fields...)); err != nil {
		return nil, err
	}
	return m, nil
}

// reversalFor builds the reversal (mti, or its repeat) of orig, with its
// own STAN and field 90 pointing at the original.
func (t *Terminal) reversalFor(orig *OrigFields, mti, stan string, repeat bool, now time.Time) (*iso8583.Message, error) {
	d := t.cfg.Dialect
	m := d.NewMessage()
	if repeat {
		mti = mti[:3] + "1"
	}
	m.MTI(wireMTI(d, mti))
	for _, id := range reversalCopies {
		if id == 7 || id == 11 || id == 37 {
			continue
		}
		if v := orig.Fields[id]; v != "" {
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
	if err := iso.Set(m, d.OriginalDataField(), orig.originalData(d)); err != nil {
		return nil, err
	}
	return m, nil
}
