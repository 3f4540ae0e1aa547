package diagnose

// Causes of the "message and software" family: what the messages say.
const (
	ResponseMissingField  ID = "response.missing_field"
	ResponseFieldMismatch ID = "response.field_mismatch"
	ResponseNoAuthCode    ID = "response.no_auth_code"
	ResponseDuplicate     ID = "response.duplicate"
	ResponseUnmatched     ID = "response.unmatched"
	ResponseWrongMTI      ID = "response.wrong_mti"
	RequestFormatError    ID = "request.format_error"
	TerminalQueueFull     ID = "terminal.queue_full"
	TerminalDied          ID = "terminal.died"
)

var messageCauses = []Cause{
	{
		ID: ResponseMissingField, Family: FamilyMessage, Title: "answer lacks a required field",
		Merchant:      "The payment host's answer was incomplete, so the terminal could not trust it and cancelled the payment.",
		Engineer:      "the response lacks a field the terminal requires (response code 39, or an echo of the request); without it the outcome is unknown, so a financial request is reversed.",
		Evidence:      "a matched response with the field absent",
		Fix:           "fix the host (or the switch in between) so that every response carries field 39 and echoes the request's fields",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: ResponseFieldMismatch, Family: FamilyMessage, Title: "answer does not echo the request",
		Merchant:      "The payment host's answer does not match the payment (for example a different amount), so the terminal cancelled it.",
		Engineer:      "a field the response must echo unchanged (PAN 2, processing code 3, amount 4, STAN 11, TID 41, currency 49) differs from the request; the approval cannot be trusted and is reversed.",
		Evidence:      "request and response values of the echoed field differ",
		Fix:           "fix the host or switch that rewrites the field; until then treat such approvals as failures",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: ResponseNoAuthCode, Family: FamilyMessage, Title: "approval without approval code",
		Merchant:      "The payment host said yes but gave no approval code, so the terminal could not accept the payment.",
		Engineer:      "RC 00 (an approval) without field 38; an approval the terminal cannot print a code for is not accepted and is reversed.",
		Evidence:      "approving RC with field 38 absent or blank",
		Fix:           "fix the host so that every approval carries an approval code in field 38",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: ResponseDuplicate, Family: FamilyMessage, Title: "duplicate answer",
		Merchant:      "The payment host answered the same payment twice.",
		Engineer:      "a second response matched a request that already had its answer; the terminal keeps the first and reports the second.",
		Evidence:      "two responses with the same matching key (TID+STAN) for one request",
		Fix:           "look for a retransmitting switch or a host that answers twice (for example after a failover)",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: ResponseUnmatched, Family: FamilyMessage, Title: "answer matches no request",
		Merchant:      "The payment host sent an answer the terminal was not waiting for.",
		Engineer:      "a response matched no request in flight: its matching key (TID, STAN, …) differs from every outstanding request.",
		Evidence:      "a response whose key matches nothing, with which part of the key differed",
		Fix:           "check that the host echoes TID (41) and STAN (11) unchanged; a switch that rewrites them breaks matching",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: ResponseWrongMTI, Family: FamilyMessage, Title: "answer of the wrong type",
		Merchant:      "The payment host answered with the wrong kind of message.",
		Engineer:      "a response matched the request by key but its MTI does not answer the request's MTI (e.g. 0410 to a 0200).",
		Evidence:      "matched key, MTI not request MTI + 10",
		Fix:           "fix the host's MTI mapping; check that both sides use the same ISO 8583 version",
		Checklist:     CheckSoftware,
		ChecklistNote: "",
	},
	{
		ID: RequestFormatError, Family: FamilyMessage, Title: "request rejected as malformed",
		Merchant:      "The payment host rejected the terminal's message as badly formed.",
		Engineer:      "the host answered RC 30 (format error): a field of the request does not meet the host's specification.",
		Evidence:      "RC 30 in the response",
		Fix:           "compare the request's fields with the host's specification (the host's log names the field); update the terminal's software or parameters",
		Checklist:     CheckSoftware,
		ChecklistNote: "a software or parameter update on the terminal fixes most format errors",
	},
	{
		ID: TerminalQueueFull, Family: FamilyMessage, Title: "terminal could not send",
		Merchant:      "The terminal was too busy to send the payment.",
		Engineer:      "the request was never written: the link's writer queue stayed full (or a request with the same key was in flight).",
		Evidence:      "not sent, writer queue full or duplicate key",
		Fix:           "lower the load or raise the link's queue; check that STANs do not repeat while in flight",
		Checklist:     CheckNone,
		ChecklistNote: "no merchant checklist item covers it: it happens under load (many transactions on one link), not in a shop",
	},
	{
		ID: TerminalDied, Family: FamilyMessage, Title: "terminal died mid-transaction",
		Merchant:      "The terminal switched off in the middle of a payment.",
		Engineer:      "the terminal sent the request and died before the answer: nothing was reversed until it comes back with its journal.",
		Evidence:      "request written, then the terminal's link closed by the terminal",
		Fix:           "restart the terminal: a terminal with a journal sends the stored reversal at its next connection; check the host's account for the charge",
		Checklist:     CheckPower,
		ChecklistNote: "a stable power supply prevents it; after power returns, the terminal must reverse what was in flight",
	},
}
