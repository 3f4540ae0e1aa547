package terminal

import (
	"fmt"
	"strconv"
)

// Input a POS would refuse. A real terminal never sends a card number that
// fails its check digit or an amount of nothing; these checks are the
// terminal's, not the host's (the host has its own), and
// --allow-invalid-card skips the card ones for negative tests of someone
// else's host.

// CheckPAN: 12–19 digits with a valid Luhn check digit.
func CheckPAN(pan string) error {
	if len(pan) < 12 || len(pan) > 19 {
		return fmt.Errorf("card number has %d digits, want 12 to 19", len(pan))
	}
	sum := 0
	for i := range len(pan) {
		c := pan[len(pan)-1-i]
		if c < '0' || c > '9' {
			return fmt.Errorf("card number must be digits only")
		}
		d := int(c - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	if sum%10 != 0 {
		return fmt.Errorf("card number %s fails the Luhn check (mistyped digit?)", maskShort(pan))
	}
	return nil
}

func maskShort(pan string) string {
	if len(pan) <= 10 {
		return "(" + strconv.Itoa(len(pan)) + " digits)"
	}
	return pan[:6] + "…" + pan[len(pan)-4:]
}

// CheckExpiry: YYMM with a month 01–12.
func CheckExpiry(exp string) error {
	if len(exp) != 4 {
		return fmt.Errorf("expiry %q: want YYMM, e.g. 2812", exp)
	}
	for _, c := range exp {
		if c < '0' || c > '9' {
			return fmt.Errorf("expiry %q: want YYMM digits, e.g. 2812", exp)
		}
	}
	if m, _ := strconv.Atoi(exp[2:]); m < 1 || m > 12 {
		return fmt.Errorf("expiry %q: month %s is not 01–12 (the format is YYMM)", exp, exp[2:])
	}
	return nil
}

// CheckAmount: more than zero (ParseAmount has checked the form).
func CheckAmount(minor int64) error {
	if minor <= 0 {
		return fmt.Errorf("amount must be more than 0")
	}
	return nil
}

// CheckSTAN: 1–999999.
func CheckSTAN(n uint64) error {
	if n < 1 || n > 999999 {
		return fmt.Errorf("STAN %d is outside 1–999999 (field 11 has six digits)", n)
	}
	return nil
}

// CheckTID: 1–8 printable characters (field 41).
func CheckTID(tid string) error { return printable("TID", tid, 8, 41) }

// CheckMID: 1–15 printable characters (field 42).
func CheckMID(mid string) error { return printable("MID", mid, 15, 42) }

func printable(what, s string, n, field int) error {
	if s == "" || len(s) > n {
		return fmt.Errorf("%s %q: want 1 to %d characters (field %d)", what, s, n, field)
	}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%s %q: only printable ASCII characters fit field %d", what, s, field)
		}
	}
	return nil
}
