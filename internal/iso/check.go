package iso

import (
	"errors"
	"strconv"
	"strings"
)

// The validators every reader of user input shares — host rules, fault
// specs, scenarios, dialect files, the terminal's flags — so that an MTI,
// a processing code, a TID or a field number is judged, and its error
// worded, in one place. Each error says what is wanted; the caller adds
// where (file:line, flag, key) and the value.

var (
	errMTI       = errors.New(`want 4 digits ("0200")`)
	errPCPrefix  = errors.New(`want 1 to 6 digits, a prefix of field 3 ("00" purchase, "20" refund, "31" balance inquiry)`)
	errTID       = errors.New("want 1 to 8 characters (field 41)")
	errFieldNum  = errors.New("want a field number 2..128")
	errTIDLength = errors.New("want at most 8 characters (field 41)")
)

// CheckMTI accepts exactly 4 decimal digits.
func CheckMTI(s string) error {
	if len(s) != 4 || !digits(s) {
		return errMTI
	}
	return nil
}

// CheckPCPrefix accepts a processing-code prefix: 1 to 6 digits of field 3.
func CheckPCPrefix(s string) error {
	if s == "" || len(s) > 6 || !digits(s) {
		return errPCPrefix
	}
	return nil
}

// CheckTID accepts a terminal id as a selector or flag: 1 to 8 characters
// once trailing spaces (the field's padding) are trimmed.
func CheckTID(s string) error {
	if t := strings.TrimRight(s, " "); t == "" || len(t) > 8 {
		return errTID
	}
	return nil
}

// CheckTIDValue accepts a TID to put on the wire, where empty means "the
// default": at most 8 characters.
func CheckTIDValue(s string) error {
	if len(s) > 8 {
		return errTIDLength
	}
	return nil
}

// CheckField accepts a data-field number 2..128 (0 is the MTI, 1 the bitmap).
func CheckField(id int) error {
	if id < 2 || id > 128 {
		return errFieldNum
	}
	return nil
}

// ParseField reads a data-field number from text and checks it.
func ParseField(s string) (int, error) {
	id, err := strconv.Atoi(s)
	if err != nil {
		return 0, errFieldNum
	}
	return id, CheckField(id)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
