package iso

// RCMeaning is the usual meaning of an ISO 8583:1987 response code (field
// 39). Networks and hosts differ in the details; these are the common
// readings, for people reading a transcript or report.
func RCMeaning(rc string) string {
	if m, ok := rcMeanings[rc]; ok {
		return m
	}
	return "unknown response code"
}

// IsApproval reports whether rc approves the transaction (00, 08, 10, 11, 16).
func IsApproval(rc string) bool {
	switch rc {
	case "00", "08", "10", "11", "16":
		return true
	}
	return false
}

var rcMeanings = map[string]string{
	"00": "approved",
	"01": "refer to card issuer",
	"02": "refer to card issuer, special condition",
	"03": "invalid merchant",
	"04": "pick up card",
	"05": "do not honour",
	"06": "error",
	"07": "pick up card, special condition",
	"08": "honour with identification",
	"10": "approved for partial amount",
	"11": "approved (VIP)",
	"16": "approved, update track 3",
	"12": "invalid transaction",
	"13": "invalid amount",
	"14": "invalid card number",
	"15": "no such issuer",
	"19": "re-enter transaction",
	"21": "no action taken",
	"25": "unable to locate record",
	"30": "format error",
	"31": "bank not supported by switch",
	"33": "expired card, pick up",
	"34": "suspected fraud, pick up",
	"36": "restricted card, pick up",
	"38": "allowable PIN tries exceeded, pick up",
	"39": "no credit account",
	"40": "requested function not supported",
	"41": "lost card, pick up",
	"43": "stolen card, pick up",
	"51": "insufficient funds",
	"52": "no checking account",
	"53": "no savings account",
	"54": "expired card",
	"55": "incorrect PIN",
	"56": "no card record",
	"57": "transaction not permitted to cardholder",
	"58": "transaction not permitted to terminal",
	"59": "suspected fraud",
	"61": "exceeds withdrawal amount limit",
	"62": "restricted card",
	"63": "security violation",
	"65": "exceeds withdrawal frequency limit",
	"68": "response received too late",
	"75": "allowable number of PIN tries exceeded",
	"76": "invalid or nonexistent account",
	"85": "no reason to decline",
	"91": "issuer or switch inoperative",
	"92": "destination cannot be found for routing",
	"94": "duplicate transmission",
	"96": "system malfunction",
}
