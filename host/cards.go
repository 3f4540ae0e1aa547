package host

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/card"
	"github.com/possim/possim/internal/emv"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/pinblock"
)

// The host's test cards for the ways a card is read, and the card checks an
// issuer makes before its rules: the PIN in field 52, the chip data in
// field 55. The default rules (default_rules.yaml) list the cards; the
// checks below are what makes them behave.
const (
	SwipeCard    = "4000000000000200" // magnetic stripe only (service code 101): entry mode 90x, track 2 in field 35
	ChipCard     = "4000000000000309" // chip (service code 201): entry mode 05x, EMV data in field 55
	FallbackCard = "4000000000000408" // chip that cannot be read: the terminal falls back to the stripe, entry mode 80x
	PINCard      = "4000000000000507" // asks for a PIN: PIN 1234 in field 52
	// TestPIN is every test card's PIN.
	TestPIN = "1234"
	// MaxPINTries wrong PINs in a row block the card: RC 75 from then on.
	MaxPINTries = 3
)

// cardPINs counts wrong PINs in a row per PAN.
type cardPINs struct {
	mu    sync.Mutex
	wrong map[string]int
}

// tries records a PIN check and returns the wrong tries in a row.
func (c *cardPINs) record(pan string, ok bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wrong == nil {
		c.wrong = map[string]int{}
	}
	if ok {
		if c.wrong[pan] < MaxPINTries {
			delete(c.wrong, pan)
		}
		return c.wrong[pan]
	}
	c.wrong[pan]++
	return c.wrong[pan]
}

func (c *cardPINs) blocked(pan string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wrong[pan] >= MaxPINTries
}

// panOf is the request's PAN: field 2, else the PAN in track 2.
func panOf(m *iso8583.Message) string {
	if p := iso.Get(m, 2); p != "" {
		return p
	}
	if t, err := card.ParseTrack2(iso.Get(m, 35)); err == nil {
		return t.PAN
	}
	return ""
}

// checkCard makes an issuer's checks of the card data. It returns an RC
// and why when they decline, "" when the rules decide.
func (h *Host) checkCard(in *link.Inbound) (rc, why string) {
	m := in.Msg
	pan := panOf(m)
	mode := h.cfg.Dialect.EntryMode(m)
	switch {
	case iso.Has(m, 55) || ((strings.HasPrefix(mode, "05") || strings.HasPrefix(mode, "07")) && pan == ChipCard):
		// ICC data is checked whenever it is sent; its absence only for the
		// chip test card, since terminals without EMV data (possim's own
		// fleet templates among them) still send entry mode 051.
		raw := iso.Get(m, 55)
		if raw == "" {
			return "30", "chip read (entry mode " + mode + ") of card " + iso.MaskPAN(pan) + " without ICC data in field 55"
		}
		b, err := hex.DecodeString(raw)
		if err == nil {
			err = emv.Check(b)
		}
		if err != nil {
			return "30", fmt.Sprintf("field 55 is not usable ICC data: %v", err)
		}
	case strings.HasPrefix(mode, "90") || strings.HasPrefix(mode, "80") || strings.HasPrefix(mode, "02"):
		if iso.Has(m, 35) {
			if _, err := card.ParseTrack2(iso.Get(m, 35)); err != nil {
				return "30", err.Error()
			}
		}
	}
	if !iso.Has(m, 52) {
		if pan == PINCard && !isBalance(m) {
			return "55", "card " + iso.MaskPAN(pan) + " needs a PIN and the request has no PIN block (field 52)"
		}
		return "", ""
	}
	if pan == "" {
		return "30", "PIN block without a PAN (field 2 or 35) to read it with"
	}
	if h.pins.blocked(pan) {
		return "75", "card " + iso.MaskPAN(pan) + " is blocked after " + fmt.Sprint(MaxPINTries) + " wrong PINs"
	}
	pin, err := h.readPIN(m, pan)
	if err != nil {
		return "96", err.Error() // the PIN cannot be checked: a security/system failure, not a wrong PIN
	}
	ok := pin == TestPIN
	n := h.pins.record(pan, ok)
	switch {
	case ok:
		return "", ""
	case n >= MaxPINTries:
		return "75", fmt.Sprintf("wrong PIN for card %s, %d times in a row: PIN tries exceeded", iso.MaskPAN(pan), n)
	}
	return "55", fmt.Sprintf("wrong PIN for card %s (try %d of %d)", iso.MaskPAN(pan), n, MaxPINTries)
}

// readPIN decrypts field 52 with the terminal's PIN working key (issued at
// sign-on, keys.go) and reads the format 0 block with the PAN. The PIN
// itself never leaves this function.
func (h *Host) readPIN(m *iso8583.Message, pan string) (string, error) {
	if h.hostKeys == nil {
		return "", fmt.Errorf("PIN block from TID %s but the host has no keys to decrypt it (start it with --tmk)", tidOf(m))
	}
	w := h.ring.Keys(tidOf(m))
	if w == nil {
		return "", fmt.Errorf("PIN block from TID %s, which has no working keys: it must sign on first", tidOf(m))
	}
	enc, err := m.GetBytes(52)
	if err != nil {
		return "", fmt.Errorf("field 52: %v", err)
	}
	clear, err := w.DecryptPINBlock(enc)
	if err != nil {
		return "", fmt.Errorf("field 52: %v", err)
	}
	pin, err := pinblock.PIN(clear, pan)
	if err != nil {
		return "", fmt.Errorf("field 52 does not decrypt to a format 0 PIN block under TID %s's PIN key (KCV %s): %v", tidOf(m), w.PINKCV, err)
	}
	return pin, nil
}

func isBalance(m *iso8583.Message) bool { return strings.HasPrefix(iso.Get(m, 3), "31") }

// DefaultBalance is what a balance inquiry reports in field 54 unless a
// rule sets it: 5 000.00 available.
const DefaultBalance = 500000

// responseFields adds what the answer carries beyond the echo: field 54 for
// an approved balance inquiry, then the rule's set: fields.
func (h *Host) responseFields(in *link.Inbound, d Decision, set []iso.FieldValue) []iso.FieldValue {
	if IsApproval(d.RC) && isBalance(in.Msg) {
		cur := iso.Get(in.Msg, 49)
		if cur == "" {
			cur = "978"
		}
		// ISO 8583 field 54: account type (2), amount type (02 available
		// balance), currency (3), C/D, amount (12).
		acct := "00"
		if pc := iso.Get(in.Msg, 3); len(pc) >= 4 {
			acct = pc[2:4]
		}
		set = append(set, iso.FieldValue{Field: 54, Value: fmt.Sprintf("%s02%sC%012d", acct, cur, DefaultBalance)})
	}
	return append(set, d.Set...)
}
