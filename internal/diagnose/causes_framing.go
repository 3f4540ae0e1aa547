package diagnose

// Causes of the "framing and settings" family: the two sides do not agree on
// how a message is framed or encoded.
const (
	FramingLost       ID = "framing.lost"
	FramingUnreadable ID = "framing.unreadable"
)

func init() {
	Register(Cause{
		ID: FramingLost, Family: FamilyFraming, Title: "framing lost",
		Merchant:      "The terminal and the payment host do not understand each other's messages.",
		Engineer:      "the byte stream could not be split into messages: a length header that is not a length, an oversize or truncated frame.",
		Evidence:      "a length header that does not parse, or a frame that ends early or exceeds the maximum",
		Fix:           "set the same length-header format (binary2, bcd2, ascii4) and TPDU/header on both sides",
		Checklist:     CheckSettings,
		ChecklistNote: "the terminal's communication settings must match the host's",
	})
	Register(Cause{
		ID: FramingUnreadable, Family: FamilyFraming, Title: "answer unreadable",
		Merchant:      "The terminal received an answer it cannot read.",
		Engineer:      "a frame arrived but does not unpack in the terminal's dialect (wrong bitmap or field encoding); an unreadable answer to a financial request is treated as no answer and reversed.",
		Evidence:      "unpack error naming the field",
		Fix:           "use the same dialect (message spec) on both sides; compare the field named in the error with the host's specification",
		Checklist:     CheckSoftware,
		ChecklistNote: "a terminal with the wrong software version or parameter file speaks the wrong dialect",
	})
}
