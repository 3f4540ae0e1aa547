package iso

import (
	"fmt"

	"github.com/moov-io/iso8583"
)

// Version is the edition of ISO 8583 a dialect follows. It decides the MTI's
// first digit, where network management puts its code (1987: field 70,
// 1993: the function code in field 24), how wide a response code is
// (1987: 2 characters, 1993: a 3-digit action code) and which field carries
// a reversal's original data elements (1987: 90, 1993: 56).
//
// The rest of possim thinks in one vocabulary — "financial request", RC
// "00", network code "001" — and asks the dialect for the wire form, so host
// and terminal speak either edition without two code paths.
type Version int

const (
	V1987 Version = 1987
	V1993 Version = 1993
)

func (v Version) String() string { return fmt.Sprintf("ISO 8583:%d", int(v)) }

// ParseVersion accepts 1987, 87, 1993 or 93.
func ParseVersion(s string) (Version, error) {
	switch s {
	case "1987", "87", "":
		return V1987, nil
	case "1993", "93":
		return V1993, nil
	}
	return 0, fmt.Errorf("ISO 8583 version %q: valid are 1987 and 1993", s)
}

// MsgKind is a kind of message independent of the edition's MTI numbers.
type MsgKind uint8

const (
	AuthRequest MsgKind = iota
	AuthResponse
	FinancialRequest
	FinancialResponse
	FinancialAdvice
	ReversalRequest // 1987 0400; 1993 1420 (reversals are advices in 1993)
	ReversalRepeat
	ReversalResponse
	NetworkRequest // 1987 0800; 1993 1804
	NetworkResponse
)

var mtis = map[Version][]string{
	V1987: {"0100", "0110", "0200", "0210", "0220", "0400", "0401", "0410", "0800", "0810"},
	V1993: {"1100", "1110", "1200", "1210", "1220", "1420", "1421", "1430", "1804", "1814"},
}

// MTIOf returns the MTI of a message kind in version v.
func MTIOf(v Version, k MsgKind) string {
	t, ok := mtis[v]
	if !ok {
		t = mtis[V1987]
	}
	return t[k]
}

// MTI returns the MTI of a message kind in this dialect.
func (d *Dialect) MTI(k MsgKind) string { return MTIOf(d.version(), k) }

// Is1993 reports whether the dialect follows ISO 8583:1993.
func (d *Dialect) Is1993() bool { return d.version() == V1993 }

func (d *Dialect) version() Version {
	if d == nil || d.Version == 0 {
		return V1987
	}
	return d.Version
}

// Network management codes in the 1987 vocabulary (field 70) and the 1993
// function codes (field 24) they correspond to.
var networkFunction = map[string]string{
	"001": "801", // sign-on
	"002": "802", // sign-off
	"101": "811", // key change
	"161": "811",
	"201": "821", // cutover
	"301": "831", // echo test
}

var functionNetwork = map[string]string{"801": "001", "802": "002", "811": "101", "821": "201", "831": "301"}

// NetworkCode reads a network management message's code in the 1987
// vocabulary ("001" sign-on, "301" echo…) whatever the edition: 1993
// messages carry a function code in field 24 instead of field 70.
func (d *Dialect) NetworkCode(m *iso8583.Message) string {
	if d.version() == V1993 {
		fc := Get(m, 24)
		if c, ok := functionNetwork[fc]; ok {
			return c
		}
		return "fc" + fc // none, or not one we know: never equal to a 1987 code
	}
	return Get(m, 70)
}

// SetNetworkCode sets a network management code given in the 1987
// vocabulary: field 70, or the function code in field 24 for 1993.
func (d *Dialect) SetNetworkCode(m *iso8583.Message, code string) error {
	if d.version() == V1993 {
		fc, ok := networkFunction[code]
		if !ok {
			return fmt.Errorf("network management code %s has no ISO 8583:1993 function code", code)
		}
		return Set(m, 24, fc)
	}
	return Set(m, 70, code)
}

// NetworkField is the field that carries the network management code.
func (d *Dialect) NetworkField() int {
	if d.version() == V1993 {
		return 24
	}
	return 70
}

// OriginalDataField is the field carrying a reversal's original data
// elements: 90 in 1987, 56 in 1993.
func (d *Dialect) OriginalDataField() int {
	if d.version() == V1993 {
		return 56
	}
	return 90
}

// rcAction maps the 1987 response codes possim uses to ISO 8583:1993 action
// codes (field 39, n3). Approvals are 0xx, declines 1xx, "pick up" 2xx,
// file actions 3xx, reversals 4xx, network management 8xx, errors 9xx.
var rcAction = map[string]string{
	"00": "000", "01": "107", "03": "109", "04": "200", "05": "100", "06": "909",
	"12": "902", "13": "110", "14": "111", "15": "908", "16": "001", "30": "904",
	"41": "208", "43": "209", "51": "116", "54": "101", "55": "117", "57": "119",
	"58": "120", "61": "121", "62": "104", "63": "909", "65": "123", "75": "106",
	"76": "181", "91": "907", "94": "913", "96": "909",
}

var actionRC = func() map[string]string {
	m := make(map[string]string, len(rcAction))
	for rc, ac := range rcAction {
		if _, dup := m[ac]; !dup || rc == "96" {
			m[ac] = rc
		}
	}
	m["400"] = "00" // reversal accepted
	m["800"] = "00" // network management accepted
	return m
}()

// RC reads the response code in the 1987 vocabulary ("00", "55"…): a
// 1993 action code is mapped back; one without an equivalent comes back as
// "A" + the code, which no 1987 rule matches and RCMeaning explains.
func (d *Dialect) RC(m *iso8583.Message) string {
	v := Get(m, 39)
	if d.version() != V1993 || v == "" {
		return v
	}
	if rc, ok := actionRC[v]; ok {
		return rc
	}
	return "A" + v
}

// SetRC sets a response code given in the 1987 vocabulary. In a 1993
// dialect it becomes the action code; resp's MTI says which of the
// "accepted" codes an approval is (400 reversal, 800 network management).
func (d *Dialect) SetRC(m *iso8583.Message, rc string) error {
	mti, _ := m.GetMTI()
	return Set(m, 39, d.RCValue(mti, rc))
}

// RCValue is what SetRC puts in field 39 of an answer of MTI mti: rc, or
// in ISO 8583:1993 its action code.
func (d *Dialect) RCValue(mti, rc string) string {
	if d.version() != V1993 || len(rc) == 3 { // 1987, or already an action code
		return rc
	}
	ac, ok := rcAction[rc]
	if !ok {
		ac = "909"
	}
	if rc == "00" {
		switch Class(mti) {
		case '4':
			ac = "400"
		case '8':
			ac = "800"
		}
	}
	return ac
}

// EntryMode is the POS entry mode in the 1987 vocabulary, field 22's
// three digits ("051" chip, "901" stripe, "801" fallback, "021"…). A 1993
// message carries a 12-character POS data code instead; its card data input
// mode (position 7) is mapped to the same digits, with "1" (PIN capable)
// or "2" as the third.
func (d *Dialect) EntryMode(m *iso8583.Message) string {
	v := Get(m, 22)
	if d.version() != V1993 {
		return v
	}
	if len(v) < 7 {
		return ""
	}
	pin := "2"
	if len(v) >= 8 && v[7] == '1' {
		pin = "1"
	}
	switch v[6] {
	case '2':
		return "90" + pin
	case '5':
		return "05" + pin
	case '8': // fallback from chip to stripe (a national/private value)
		return "80" + pin
	case '6', '1':
		return "01" + pin
	case 'A', 'M':
		return "07" + pin
	}
	return ""
}

// SetEntryMode sets the entry mode given in the 1987 vocabulary ("051");
// in a 1993 dialect it becomes a POS data code with the card data input
// mode in position 7 and the PIN capability in position 8.
func (d *Dialect) SetEntryMode(m *iso8583.Message, mode string) error {
	if d.version() != V1993 {
		return Set(m, 22, mode)
	}
	if len(mode) != 3 {
		return fmt.Errorf("entry mode %q: want 3 digits (051 chip, 901 stripe, 801 fallback)", mode)
	}
	input := byte('0')
	switch mode[:2] {
	case "90", "02":
		input = '2'
	case "05":
		input = '5'
	case "80":
		input = '8'
	case "01":
		input = '6'
	case "07":
		input = 'M'
	}
	pin := byte('0')
	if mode[2] == '1' {
		pin = '1'
	}
	// 1 terminal input capability: 5 ICC; 2 authentication: 1 PIN; 3
	// capture: 0; 4 operating environment: 1 attended; 5 cardholder
	// present: 0; 6 card present: 1; 7 input mode; 8 cardholder
	// verification; 9 authentication entity; 10 output capability; 11
	// terminal output; 12 PIN capture capability.
	code := []byte("510101" + string(input) + string(pin) + "1144")
	return Set(m, 22, string(code))
}

// RCOf reads a response code in the 1987 vocabulary from any message: a
// field 39 defined as 3 digits is an ISO 8583:1993 action code and is mapped
// back ("000" → "00", "117" → "55"). For code that has the message but not
// its dialect (the terminal's checks, transcripts).
func RCOf(m *iso8583.Message) string {
	v := Get(m, 39)
	if len(v) != 3 {
		return v
	}
	if spec := m.GetSpec(); spec != nil {
		if f, ok := spec.Fields[39]; ok && f.Spec().Length != 3 {
			return v
		}
	}
	if rc, ok := actionRC[v]; ok {
		return rc
	}
	return "A" + v
}

// Translate gives a 1987 MTI's counterpart in this dialect's edition:
// 0200 → 1200, 0400 → 1420 (1993 reversals are advices), 0800 → 1804.
func (d *Dialect) Translate(mti string) string {
	if d.version() != V1993 || len(mti) != 4 || mti[0] != '0' {
		return mti
	}
	b := []byte(mti)
	b[0] = '1'
	switch b[1] {
	case '4':
		if b[2] == '0' {
			b[2] = '2'
		} else if b[2] == '1' {
			b[2] = '3'
		}
	case '8':
		if b[2] == '0' && b[3] == '0' {
			b[3] = '4'
		} else if b[2] == '1' && b[3] == '0' {
			b[3] = '4'
		}
	}
	return string(b)
}
