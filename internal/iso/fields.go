package iso

// The ISO 8583:1987 data elements, 1–128, in one table that every dialect
// is built from. A dialect only decides how each kind is encoded on the
// wire; lengths and variable-length kinds are the standard's.

// kind is the ISO attribute class of a data element, reduced to what changes
// its encoding.
type kind uint8

const (
	kN  kind = iota // numeric digits (BCD in binary dialects)
	kAN             // alphanumeric/special characters
	kZ              // track 2/3 data (digits and '=')
	kB              // binary (bytes; hex characters in ASCII dialects)
	kXN             // 'C'/'D' sign then digits (x+n)
)

// lenMode is how the field's length is carried.
type lenMode uint8

const (
	fixed lenMode = iota
	llvar
	lllvar
)

type elem struct {
	kind kind
	mode lenMode
	len  int // digits/characters, or bytes for kB; for kXN the digits after the sign
	desc string
}

// elements is indexed by field number; 0 (MTI) and 1 (bitmap) are handled
// separately by the dialect builder.
var elements = [129]elem{
	2:   {kN, llvar, 19, "Primary Account Number"},
	3:   {kN, fixed, 6, "Processing Code"},
	4:   {kN, fixed, 12, "Amount, Transaction"},
	5:   {kN, fixed, 12, "Amount, Settlement"},
	6:   {kN, fixed, 12, "Amount, Cardholder Billing"},
	7:   {kN, fixed, 10, "Transmission Date & Time"},
	8:   {kN, fixed, 8, "Amount, Cardholder Billing Fee"},
	9:   {kN, fixed, 8, "Conversion Rate, Settlement"},
	10:  {kN, fixed, 8, "Conversion Rate, Cardholder Billing"},
	11:  {kN, fixed, 6, "System Trace Audit Number"},
	12:  {kN, fixed, 6, "Time, Local Transaction"},
	13:  {kN, fixed, 4, "Date, Local Transaction"},
	14:  {kN, fixed, 4, "Date, Expiration"},
	15:  {kN, fixed, 4, "Date, Settlement"},
	16:  {kN, fixed, 4, "Date, Conversion"},
	17:  {kN, fixed, 4, "Date, Capture"},
	18:  {kN, fixed, 4, "Merchant Type"},
	19:  {kN, fixed, 3, "Acquiring Institution Country Code"},
	20:  {kN, fixed, 3, "PAN Extended Country Code"},
	21:  {kN, fixed, 3, "Forwarding Institution Country Code"},
	22:  {kN, fixed, 3, "Point of Service Entry Mode"},
	23:  {kN, fixed, 3, "Card Sequence Number"},
	24:  {kN, fixed, 3, "Network International Identifier"},
	25:  {kN, fixed, 2, "Point of Service Condition Code"},
	26:  {kN, fixed, 2, "Point of Service PIN Capture Code"},
	27:  {kN, fixed, 1, "Authorizing Identification Response Length"},
	28:  {kXN, fixed, 8, "Amount, Transaction Fee"},
	29:  {kXN, fixed, 8, "Amount, Settlement Fee"},
	30:  {kXN, fixed, 8, "Amount, Transaction Processing Fee"},
	31:  {kXN, fixed, 8, "Amount, Settlement Processing Fee"},
	32:  {kN, llvar, 11, "Acquiring Institution Identification Code"},
	33:  {kN, llvar, 11, "Forwarding Institution Identification Code"},
	34:  {kAN, llvar, 28, "Primary Account Number, Extended"},
	35:  {kZ, llvar, 37, "Track 2 Data"},
	36:  {kZ, lllvar, 104, "Track 3 Data"},
	37:  {kAN, fixed, 12, "Retrieval Reference Number"},
	38:  {kAN, fixed, 6, "Authorization Identification Response"},
	39:  {kAN, fixed, 2, "Response Code"},
	40:  {kAN, fixed, 3, "Service Restriction Code"},
	41:  {kAN, fixed, 8, "Card Acceptor Terminal Identification"},
	42:  {kAN, fixed, 15, "Card Acceptor Identification Code"},
	43:  {kAN, fixed, 40, "Card Acceptor Name/Location"},
	44:  {kAN, llvar, 25, "Additional Response Data"},
	45:  {kAN, llvar, 76, "Track 1 Data"},
	46:  {kAN, lllvar, 999, "Additional Data - ISO"},
	47:  {kAN, lllvar, 999, "Additional Data - National"},
	48:  {kAN, lllvar, 999, "Additional Data - Private"},
	49:  {kAN, fixed, 3, "Currency Code, Transaction"},
	50:  {kAN, fixed, 3, "Currency Code, Settlement"},
	51:  {kAN, fixed, 3, "Currency Code, Cardholder Billing"},
	52:  {kB, fixed, 8, "Personal Identification Number Data"},
	53:  {kN, fixed, 16, "Security Related Control Information"},
	54:  {kAN, lllvar, 120, "Additional Amounts"},
	55:  {kAN, lllvar, 999, "Reserved ISO (ICC data)"},
	56:  {kAN, lllvar, 999, "Reserved ISO"},
	57:  {kAN, lllvar, 999, "Reserved National"},
	58:  {kAN, lllvar, 999, "Reserved National"},
	59:  {kAN, lllvar, 999, "Reserved National"},
	60:  {kAN, lllvar, 999, "Reserved National"},
	61:  {kAN, lllvar, 999, "Reserved Private"},
	62:  {kAN, lllvar, 999, "Reserved Private"},
	63:  {kAN, lllvar, 999, "Reserved Private"},
	64:  {kB, fixed, 8, "Message Authentication Code"},
	65:  {kB, fixed, 8, "Bitmap, Tertiary"},
	66:  {kN, fixed, 1, "Settlement Code"},
	67:  {kN, fixed, 2, "Extended Payment Code"},
	68:  {kN, fixed, 3, "Receiving Institution Country Code"},
	69:  {kN, fixed, 3, "Settlement Institution Country Code"},
	70:  {kN, fixed, 3, "Network Management Information Code"},
	71:  {kN, fixed, 4, "Message Number"},
	72:  {kN, fixed, 4, "Message Number, Last"},
	73:  {kN, fixed, 6, "Date, Action"},
	74:  {kN, fixed, 10, "Credits, Number"},
	75:  {kN, fixed, 10, "Credits Reversal, Number"},
	76:  {kN, fixed, 10, "Debits, Number"},
	77:  {kN, fixed, 10, "Debits Reversal, Number"},
	78:  {kN, fixed, 10, "Transfer, Number"},
	79:  {kN, fixed, 10, "Transfer Reversal, Number"},
	80:  {kN, fixed, 10, "Inquiries, Number"},
	81:  {kN, fixed, 10, "Authorizations, Number"},
	82:  {kN, fixed, 12, "Credits, Processing Fee Amount"},
	83:  {kN, fixed, 12, "Credits, Transaction Fee Amount"},
	84:  {kN, fixed, 12, "Debits, Processing Fee Amount"},
	85:  {kN, fixed, 12, "Debits, Transaction Fee Amount"},
	86:  {kN, fixed, 16, "Credits, Amount"},
	87:  {kN, fixed, 16, "Credits Reversal, Amount"},
	88:  {kN, fixed, 16, "Debits, Amount"},
	89:  {kN, fixed, 16, "Debits Reversal, Amount"},
	90:  {kN, fixed, 42, "Original Data Elements"},
	91:  {kAN, fixed, 1, "File Update Code"},
	92:  {kAN, fixed, 2, "File Security Code"},
	93:  {kAN, fixed, 5, "Response Indicator"},
	94:  {kAN, fixed, 7, "Service Indicator"},
	95:  {kAN, fixed, 42, "Replacement Amounts"},
	96:  {kB, fixed, 8, "Message Security Code"},
	97:  {kXN, fixed, 16, "Amount, Net Settlement"},
	98:  {kAN, fixed, 25, "Payee"},
	99:  {kN, llvar, 11, "Settlement Institution Identification Code"},
	100: {kN, llvar, 11, "Receiving Institution Identification Code"},
	101: {kAN, llvar, 17, "File Name"},
	102: {kAN, llvar, 28, "Account Identification 1"},
	103: {kAN, llvar, 28, "Account Identification 2"},
	104: {kAN, lllvar, 100, "Transaction Description"},
	// 105–127 are reserved for ISO, national and private use: LLLVAR ans..999.
	128: {kB, fixed, 8, "Message Authentication Code"},
}

func init() { fillReserved(&elements) }

// fillReserved defines 105–127, reserved for ISO, national and private use,
// as LLLVAR ans..999.
func fillReserved(t *[129]elem) {
	for i := 105; i <= 127; i++ {
		desc := "Reserved ISO"
		switch {
		case i >= 120:
			desc = "Reserved Private"
		case i >= 112:
			desc = "Reserved National"
		}
		t[i] = elem{kAN, lllvar, 999, desc}
	}
}
