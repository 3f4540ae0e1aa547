// Package card holds the card data a terminal reads: track 2 equivalent
// data (field 35) and the Luhn check digit test PANs need.
package card

import (
	"fmt"
	"strings"
)

// Track2 builds track 2 data as field 35 carries it: PAN, separator '=',
// expiry YYMM, service code (3 digits) and discretionary data. Service code
// 2xx means "chip card: use the chip"; 1xx a stripe-only card.
func Track2(pan, expiry, serviceCode, discretionary string) (string, error) {
	if len(pan) < 12 || len(pan) > 19 || !digits(pan) {
		return "", fmt.Errorf("track 2: PAN must be 12 to 19 digits")
	}
	if len(expiry) != 4 || !digits(expiry) {
		return "", fmt.Errorf("track 2: expiry must be YYMM")
	}
	if len(serviceCode) != 3 || !digits(serviceCode) {
		return "", fmt.Errorf("track 2: service code must be 3 digits")
	}
	if !digits(discretionary) && discretionary != "" {
		return "", fmt.Errorf("track 2: discretionary data must be digits")
	}
	t := pan + "=" + expiry + serviceCode + discretionary
	if len(t) > 37 {
		return "", fmt.Errorf("track 2 data is %d characters; at most 37", len(t))
	}
	return t, nil
}

// Track2Data is a parsed track 2.
type Track2Data struct {
	PAN, Expiry, ServiceCode, Discretionary string
}

// ParseTrack2 reads track 2 data ('=' or 'D' as separator).
func ParseTrack2(s string) (Track2Data, error) {
	i := strings.IndexAny(s, "=D")
	if i < 12 || len(s) < i+8 || !digits(s[:i]) || !digits(s[i+1:]) {
		return Track2Data{}, fmt.Errorf("track 2: not PAN=YYMMSSS… (%d characters)", len(s))
	}
	return Track2Data{PAN: s[:i], Expiry: s[i+1 : i+5], ServiceCode: s[i+5 : i+8], Discretionary: s[i+8:]}, nil
}

// Luhn reports whether pan's last digit is its Luhn check digit.
func Luhn(pan string) bool {
	if len(pan) < 2 || !digits(pan) {
		return false
	}
	sum := 0
	for i := len(pan) - 1; i >= 0; i-- {
		d := int(pan[i] - '0')
		if (len(pan)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
