package iso

import "fmt"

// ResponseMTI returns the response MTI for a request MTI: the function digit
// becomes 1 (request) or 3 (advice), and a repeat (origin digit 1) is
// answered as the original (0401 → 0410, 0421 → 0430).
func ResponseMTI(req string) (string, error) {
	if len(req) != 4 {
		return "", fmt.Errorf("MTI %q is not 4 digits", req)
	}
	b := []byte(req)
	switch b[2] {
	case '0':
		b[2] = '1'
	case '2':
		b[2] = '3'
	default:
		return "", fmt.Errorf("MTI %s is not a request or advice", req)
	}
	if b[3] == '1' { // repeat
		b[3] = '0'
	}
	return string(b), nil
}

// IsRequest reports whether an MTI is a request or advice (function digit 0
// or 2) rather than a response.
func IsRequest(mti string) bool {
	return len(mti) == 4 && (mti[2] == '0' || mti[2] == '2')
}

// IsResponse reports whether an MTI is a response (function digit 1 or 3).
func IsResponse(mti string) bool {
	return len(mti) == 4 && (mti[2] == '1' || mti[2] == '3')
}

// Class is the message class digit: '1' authorization, '2' financial,
// '4' reversal, '8' network management.
func Class(mti string) byte {
	if len(mti) != 4 {
		return 0
	}
	return mti[1]
}

// Pair is the request MTI a response answers, ignoring the repeat digit:
// 0110 → 0100, 0410 → 0400. Used to tell a wrong response MTI.
func Pair(resp string) string {
	if len(resp) != 4 {
		return resp
	}
	b := []byte(resp)
	switch b[2] {
	case '1':
		b[2] = '0'
	case '3':
		b[2] = '2'
	}
	b[3] = '0'
	return string(b)
}

// MTIName names common MTIs for transcripts.
func MTIName(mti string) string {
	switch mti {
	case "0100":
		return "authorization request"
	case "0110":
		return "authorization response"
	case "0200":
		return "financial request"
	case "0210":
		return "financial response"
	case "0220":
		return "financial advice"
	case "0230":
		return "financial advice response"
	case "0400":
		return "reversal request"
	case "0401":
		return "reversal repeat"
	case "0410":
		return "reversal response"
	case "0420":
		return "reversal advice"
	case "0421":
		return "reversal advice repeat"
	case "0430":
		return "reversal advice response"
	case "0800":
		return "network management request"
	case "0810":
		return "network management response"
	}
	return "MTI " + mti
}
