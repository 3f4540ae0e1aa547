package terminal

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/card"
	"github.com/possim/possim/internal/emv"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/pinblock"
)

// How a card is read decides what a real terminal puts in the request.
const (
	ReadChip     = "chip"     // entry mode 05x, EMV data (BER-TLV) in field 55, PAN in 2
	ReadSwipe    = "swipe"    // entry mode 90x, track 2 in field 35 (no 2 and 14)
	ReadFallback = "fallback" // the chip could not be read: stripe, entry mode 80x
	ReadManual   = "manual"   // keyed: entry mode 01x, PAN and expiry in 2 and 14
)

// ReadModes lists the ways a card is read.
var ReadModes = []string{ReadChip, ReadSwipe, ReadFallback, ReadManual}

// TestCards are possim's host's test cards (host/cards.go), for --card.
var TestCards = map[string]Card{
	"swipe":    {PAN: "4000000000000200", Expiry: "2812", Read: ReadSwipe},
	"chip":     {PAN: "4000000000000309", Expiry: "2812", Read: ReadChip},
	"fallback": {PAN: "4000000000000408", Expiry: "2812", Read: ReadFallback},
	"pin":      {PAN: "4000000000000507", Expiry: "2812", Read: ReadChip, PIN: "1234"},
}

// FieldValue overrides a request field (--field N=VALUE); an empty Value
// removes the field.
type FieldValue struct {
	Field int
	Value string
}

// ParseField reads "N=VALUE" (N 2–128, "N=" removes it).
func ParseField(s string) (FieldValue, error) {
	n, v, ok := strings.Cut(s, "=")
	id, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || id < 2 || id > 128 {
		return FieldValue{}, fmt.Errorf("%q: want N=VALUE with N a field number 2-128 (N= removes the field)", s)
	}
	switch id {
	case 11, 41:
		return FieldValue{}, fmt.Errorf("field %d pairs the answer with the request: use --stan / --tid", id)
	}
	return FieldValue{Field: id, Value: v}, nil
}

// entryMode is field 22 for how c was read: the read mode's two digits,
// then 1 when the terminal takes a PIN, else 2 (0 for the plain default).
func entryMode(c Card) string {
	if c.EntryMode != "" {
		return c.EntryMode
	}
	pin := "2"
	if c.PIN != "" {
		pin = "1"
	}
	switch c.Read {
	case ReadSwipe:
		return "90" + pin
	case ReadFallback:
		return "80" + pin
	case ReadManual:
		return "01" + pin
	case ReadChip:
		return "05" + pin
	}
	return "051"
}

// cardFields adds what the way the card was read puts in the request:
// track 2 for a stripe read, EMV data for a chip read, the PIN block.
func (t *Terminal) cardFields(m *iso8583.Message, c Card, tx Tx, pc string, now time.Time) error {
	d := t.cfg.Dialect
	if err := d.SetEntryMode(m, entryMode(c)); err != nil {
		return err
	}
	switch c.Read {
	case ReadSwipe, ReadFallback:
		svc := "101"
		if c.Read == ReadFallback {
			svc = "201" // a chip card: its stripe says so
		}
		t2, err := card.Track2(c.PAN, c.Expiry, svc, "0000000000")
		if err != nil {
			return err
		}
		m.UnsetField(2) // a stripe read sends track 2 instead of 2 and 14
		m.UnsetField(14)
		if err := iso.Set(m, 35, t2); err != nil {
			return err
		}
	case ReadChip:
		txType := byte(0x00)
		switch {
		case strings.HasPrefix(pc, "20"):
			txType = 0x20
		case strings.HasPrefix(pc, "31"):
			txType = 0x31
		}
		icc, err := emv.Build(emv.Request{Amount: uint64(tx.Amount), Currency: t.cfg.Currency, Country: "250",
			Date: now.Format("060102"), TxType: txType, UN: uint32(now.UnixNano()), ATC: uint16(now.Unix())})
		if err != nil {
			return err
		}
		if err := iso.Set(m, 55, strings.ToUpper(hex.EncodeToString(icc))); err != nil {
			return err
		}
	}
	if c.PIN != "" {
		return t.pinBlock(m, c)
	}
	return nil
}

// pinBlock puts the ISO 9564 format 0 PIN block, encrypted under the PIN
// working key of the sign-on, in field 52. The PIN and the clear block
// never leave this function.
func (t *Terminal) pinBlock(m *iso8583.Message, c Card) error {
	if t.termKeys == nil {
		return fmt.Errorf("a PIN needs working keys: give the terminal the TMK (--tmk) so that the sign-on brings a PIN key")
	}
	w := t.termKeys.slot.Keys("")
	if w == nil {
		return fmt.Errorf("a PIN needs the PIN key of a sign-on: sign on first")
	}
	clear, err := pinblock.Format0(c.PIN, c.PAN)
	if err != nil {
		return err
	}
	enc, err := w.EncryptPINBlock(clear[:])
	clear = [8]byte{}
	_ = clear
	if err != nil {
		return err
	}
	return m.BinaryField(52, enc)
}

// applyFields applies --field overrides last: a value replaces or adds a
// field, an empty one removes it.
func applyFields(m *iso8583.Message, fs []FieldValue) error {
	for _, f := range fs {
		if f.Value == "" {
			m.UnsetField(f.Field)
			continue
		}
		if err := iso.Set(m, f.Field, f.Value); err != nil {
			return fmt.Errorf("--field %d=…: %w", f.Field, err)
		}
	}
	return nil
}
