package diagnose

// Causes of the "issuer and card" family: the host answered, and the answer
// was no.
const (
	IssuerDeclined          ID = "issuer.declined"
	IssuerInsufficientFunds ID = "issuer.insufficient_funds"
	IssuerUnavailable       ID = "issuer.unavailable"
	CardExpired             ID = "card.expired"
	CardInvalid             ID = "card.invalid"
	CardPINIncorrect        ID = "card.pin_incorrect"
)

var issuerCauses = []Cause{
	{
		ID: IssuerDeclined, Family: FamilyIssuer, Title: "declined",
		Merchant:      "The card's bank declined the payment.",
		Engineer:      "the host answered with a non-approving response code; the link and the messages worked.",
		Evidence:      "matched response, RC not an approval",
		Fix:           "nothing is wrong with the terminal or the link: ask the cardholder for another card or to contact their bank",
		Checklist:     CheckCard,
		ChecklistNote: "another card or payment method is the merchant's way forward",
	},
	{
		ID: IssuerInsufficientFunds, Family: FamilyIssuer, Title: "insufficient funds",
		Merchant:      "The card's bank declined: not enough money on the account.",
		Engineer:      "RC 51 (insufficient funds).",
		Evidence:      "RC 51",
		Fix:           "ask the cardholder for another card or a smaller amount",
		Checklist:     CheckCard,
		ChecklistNote: "",
	},
	{
		ID: IssuerUnavailable, Family: FamilyIssuer, Title: "issuer unavailable",
		Merchant:      "The card's bank could not be reached by the payment host.",
		Engineer:      "RC 91 (issuer or switch inoperative) or 96 (system malfunction): the acquirer host is up but could not complete the authorisation upstream.",
		Evidence:      "RC 91 or 96",
		Fix:           "retry later; the problem is upstream of the acquirer host, not in the terminal or its link",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: CardExpired, Family: FamilyIssuer, Title: "card expired",
		Merchant:      "The card has expired.",
		Engineer:      "RC 54 (expired card) or 33.",
		Evidence:      "RC 54 or 33",
		Fix:           "ask for another card; check the terminal's clock if every card is called expired",
		Checklist:     CheckCard,
		ChecklistNote: "",
	},
	{
		ID: CardInvalid, Family: FamilyIssuer, Title: "invalid card",
		Merchant:      "The card is not valid for this payment.",
		Engineer:      "RC 14 (invalid card number), 15 (no such issuer), 57 or 62 (not permitted / restricted).",
		Evidence:      "RC 14, 15, 57 or 62",
		Fix:           "ask for another card; if every card fails, check the terminal's card tables (software)",
		Checklist:     CheckCard,
		ChecklistNote: "",
	},
	{
		ID: CardPINIncorrect, Family: FamilyIssuer, Title: "wrong PIN",
		Merchant:      "The PIN entered was wrong.",
		Engineer:      "RC 55 (incorrect PIN) or 75 (PIN tries exceeded).",
		Evidence:      "RC 55 or 75",
		Fix:           "ask the cardholder to enter the PIN again; after too many tries the card is blocked by the issuer",
		Checklist:     CheckCard,
		ChecklistNote: "",
	},
}

// ForRC returns the cause of a host's non-approving answer with response
// code rc, so that every output that shows a decline names the same cause.
func ForRC(rc string) ID {
	switch rc {
	case "30":
		return RequestFormatError
	case "63":
		return MACRejectedByHost
	case "51":
		return IssuerInsufficientFunds
	case "91", "96":
		return IssuerUnavailable
	case "54", "33":
		return CardExpired
	case "14", "15", "57", "62":
		return CardInvalid
	case "55", "75":
		return CardPINIncorrect
	case "12":
		return VoidUnknownOriginal
	case "94":
		return RequestDuplicate
	}
	return IssuerDeclined
}
