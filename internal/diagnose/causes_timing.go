package diagnose

// Causes of the "timing" family: answers that come too late or never.
const (
	ResponseTimeout ID = "response.timeout"
	ResponseLate    ID = "response.late"
)

var timingCauses1 = []Cause{
	{
		ID: ResponseTimeout, Family: FamilyTiming, Title: "no answer in time",
		Merchant:      "The payment host did not answer in time; the terminal cancelled the payment so the card is not charged.",
		Engineer:      "no response matched the request before the response timeout; a financial request is reversed (0400, repeated as 0401).",
		Evidence:      "the request was written; nothing matching arrived before the deadline",
		Fix:           "find where the answer was lost: check the host's log for the STAN; if the host answered, the network dropped it; if it did not, the host or issuer is slow or down",
		Checklist:     CheckNetwork,
		ChecklistNote: "a weak signal or a congested network is the usual reason; otherwise call support",
	},
	{
		ID: ResponseLate, Family: FamilyTiming, Title: "answer arrived too late",
		Merchant:      "The payment host answered, but only after the terminal had given up.",
		Engineer:      "a response matched a request that had already timed out; the terminal had already reversed it, so the late answer is ignored.",
		Evidence:      "a response matching a timed-out request, with how late it was",
		Fix:           "make the terminal's response timeout longer than the host's worst answer time, or find why the host or issuer is slow",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
}

// Timing causes a capture or the terminal's own clocks tell apart.
const (
	ResponseNeverSent      ID = "response.never_sent"
	ResponseAfterReversal  ID = "response.after_reversal"
	ReversalUnacknowledged ID = "reversal.unacknowledged"
	IssuerSlow             ID = "issuer.slow"
)

var timingCauses2 = []Cause{
	{
		ID: ResponseNeverSent, Family: FamilyTiming, Title: "host received the request and never answered",
		Merchant:      "The payment host received the payment request but never answered it.",
		Engineer:      "TCP acknowledged the request's bytes, so it reached the host's machine, and no answer came back on the connection: the host application (or the issuer behind it) dropped or never finished it.",
		Evidence:      "request bytes acknowledged by TCP, no response with its key on the stream",
		Fix:           "look in the host's log for the request's STAN: it reached the host's machine; the network is not to blame",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: ResponseAfterReversal, Family: FamilyTiming, Title: "answer arrived after the reversal",
		Merchant:      "The payment host answered only after the terminal had already cancelled the payment.",
		Engineer:      "the response to a request came after the terminal had sent its reversal (0400) for it: the terminal's timeout is shorter than the host's answer time.",
		Evidence:      "response to a request whose reversal is earlier on the stream",
		Fix:           "make the terminal's response timeout longer than the host's worst answer time, or find why the host or issuer is slow; check that the reversal was applied",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: ReversalUnacknowledged, Family: FamilyTiming, Title: "reversal never acknowledged",
		Merchant:      "The cancellation of a payment was not confirmed by the payment host: the card may still be charged.",
		Engineer:      "a reversal (0400/0401) got no 0410: the host may not have undone the transaction; the terminal must keep repeating it (store and forward) until it is acknowledged.",
		Evidence:      "0400/0401 with no matching 0410 on the stream",
		Fix:           "keep the reversal in the terminal's store-and-forward queue until acknowledged; check the host's account for the original transaction",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: IssuerSlow, Family: FamilyTiming, Title: "issuer slow",
		Merchant:      "The card's bank took too long to decide.",
		Engineer:      "network management (sign-on, echo) on the same link is fast while the financial answer was slow or timed out: the time is spent behind the acquirer host (issuer or switch), not on the network.",
		Evidence:      "echo/sign-on round trip short (< 300 ms) and the financial request late or timed out",
		Fix:           "the network is fine: ask the acquirer about the issuer's response times; lengthen the terminal's response timeout if the host's agreed maximum allows",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
}
