package iso

// elements93 is the ISO 8583:1993 data element table: the 1987 table with
// the elements the 1993 edition redefined (ISO 8583:1993 §4.4; the same
// list as jPOS's ISO93APackager). Where 1993 makes an element binary and
// variable (53, 55), the ASCII dialect carries it as hex characters, which
// is how ASCII links carry ICC data in practice.
var elements93 = func() [129]elem {
	t := elements
	fillReserved(&t) // elements' own init may not have run yet
	for id, el := range map[int]elem{
		12: {kN, fixed, 12, "Date and Time, Local Transaction (YYMMDDhhmmss)"},
		13: {kN, fixed, 4, "Date, Effective (YYMM)"},
		15: {kN, fixed, 6, "Date, Settlement (YYMMDD)"},
		22: {kAN, fixed, 12, "Point of Service Data Code"},
		24: {kN, fixed, 3, "Function Code"},
		25: {kN, fixed, 4, "Message Reason Code"},
		26: {kN, fixed, 4, "Card Acceptor Business Code"},
		28: {kN, fixed, 6, "Date, Reconciliation"},
		29: {kN, fixed, 3, "Reconciliation Indicator"},
		30: {kN, fixed, 24, "Amounts, Original"},
		31: {kAN, llvar, 99, "Acquirer Reference Data"},
		39: {kN, fixed, 3, "Action Code"},
		40: {kN, fixed, 3, "Service Code"},
		43: {kAN, llvar, 99, "Card Acceptor Name/Location"},
		44: {kAN, llvar, 99, "Additional Response Data"},
		46: {kAN, lllvar, 204, "Amounts, Fees"},
		53: {kAN, llvar, 96, "Security Related Control Information (hex)"},
		55: {kAN, lllvar, 510, "Integrated Circuit Card System Related Data (hex)"},
		56: {kN, llvar, 35, "Original Data Elements"},
		57: {kN, fixed, 3, "Authorization Life Cycle Code"},
		58: {kN, llvar, 11, "Authorizing Agent Institution Identification Code"},
		59: {kAN, lllvar, 999, "Transport Data"},
		71: {kN, fixed, 8, "Message Number"},
		72: {kAN, lllvar, 999, "Data Record"},
	} {
		t[id] = el
	}
	return t
}()
