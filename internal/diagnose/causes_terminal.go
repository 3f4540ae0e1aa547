package diagnose

// Causes the terminal's own state tells apart: its journal, a stop asked
// by the operator, and host answers to voids that name no sale.
const (
	JournalUnwritable   ID = "journal.unwritable"
	JournalCorrupt      ID = "journal.corrupt"
	JournalLocked       ID = "journal.locked"
	TerminalInterrupted ID = "terminal.interrupted"
	VoidUnknownOriginal ID = "request.unknown_original"
	RequestDuplicate    ID = "request.duplicate_transmission"
)

var terminalCauses = []Cause{
	{
		ID: JournalUnwritable, Family: FamilyMessage, Title: "journal cannot be written",
		Merchant:      "The terminal could not save the payment before sending it, so it did not send it.",
		Engineer:      "writing the transaction (and its armed reversal) to the journal failed; a terminal that cannot record what it sends does not send it.",
		Evidence:      "an error from the journal file before the request was written",
		Fix:           "check the journal file's disk (space, permissions, read-only filesystem) or run with --journal none",
		Checklist:     CheckRestart,
		ChecklistNote: "a restart helps when the disk was full and has been cleared",
	},
	{
		ID: JournalCorrupt, Family: FamilyMessage, Title: "journal file corrupt",
		Merchant:      "The terminal's memory of past payments is damaged.",
		Engineer:      "the journal file is not a valid bbolt database (or its records do not decode).",
		Evidence:      "bbolt refuses to open the file, or a record does not decode",
		Fix:           "move the file away (pending reversals in it are lost: reconcile with the host's records) and start with a new journal",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: JournalLocked, Family: FamilyMessage, Title: "journal in use",
		Merchant:      "Another copy of the terminal program is running with the same memory.",
		Engineer:      "the journal file is locked by another process (bbolt takes an exclusive flock).",
		Evidence:      "opening the journal times out waiting for its lock",
		Fix:           "stop the other possim terminal using this TID's journal, or give this one another --journal",
		Checklist:     CheckRestart,
		ChecklistNote: "",
	},
	{
		ID: TerminalInterrupted, Family: FamilyMessage, Title: "stopped by the operator",
		Merchant:      "The terminal was switched off in the middle of a payment; it will finish cancelling it when it comes back.",
		Engineer:      "SIGINT/SIGTERM arrived while the transaction or its reversal was in progress; the reversal is kept in the journal and sent at the next connection.",
		Evidence:      "a signal during the transaction",
		Fix:           "run the terminal again (or `possim terminal saf flush`) to send the stored reversal",
		Checklist:     CheckRestart,
		ChecklistNote: "restarting the terminal sends the stored reversal",
	},
	{
		ID: VoidUnknownOriginal, Family: FamilyMessage, Title: "void of an unknown sale",
		Merchant:      "The payment host does not know the sale you tried to cancel.",
		Engineer:      "the host answered RC 12 (invalid transaction): the void (or completion) names an RRN the host has no approved original for.",
		Evidence:      "RC 12 to a void or completion",
		Fix:           "void by the RRN printed on the sale's receipt (possim terminal journal lists them); check that the terminal talks to the host that approved the sale",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: RequestDuplicate, Family: FamilyMessage, Title: "duplicate transaction",
		Merchant:      "The payment host says this was already done (for example the sale was already cancelled).",
		Engineer:      "the host answered RC 94 (duplicate transmission): the same void of the same sale, or the same STAN again.",
		Evidence:      "RC 94 in the response",
		Fix:           "nothing to redo: the first one stands; check the journal before retrying",
		Checklist:     CheckNone,
		ChecklistNote: "no checklist item helps: the host is right, the transaction was already done; the terminal's journal shows it",
	},
}
