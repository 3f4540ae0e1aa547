package diagnose

// Causes of the "timing" family: answers that come too late or never.
const (
	ResponseTimeout ID = "response.timeout"
	ResponseLate    ID = "response.late"
)

func init() {
	Register(Cause{
		ID: ResponseTimeout, Family: FamilyTiming, Title: "no answer in time",
		Merchant:      "The payment host did not answer in time; the terminal cancelled the payment so the card is not charged.",
		Engineer:      "no response matched the request before the response timeout; a financial request is reversed (0400, repeated as 0401).",
		Evidence:      "the request was written; nothing matching arrived before the deadline",
		Fix:           "find where the answer was lost: check the host's log for the STAN; if the host answered, the network dropped it; if it did not, the host or issuer is slow or down",
		Checklist:     CheckNetwork,
		ChecklistNote: "a weak signal or a congested network is the usual reason; otherwise call support",
	})
	Register(Cause{
		ID: ResponseLate, Family: FamilyTiming, Title: "answer arrived too late",
		Merchant:      "The payment host answered, but only after the terminal had given up.",
		Engineer:      "a response matched a request that had already timed out; the terminal had already reversed it, so the late answer is ignored.",
		Evidence:      "a response matching a timed-out request, with how late it was",
		Fix:           "make the terminal's response timeout longer than the host's worst answer time, or find why the host or issuer is slow",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	})
}
