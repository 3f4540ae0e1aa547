package diagnose

// Causes of the "framing and settings" family: the two sides do not agree on
// how a message is framed or encoded.
const (
	FramingLost       ID = "framing.lost"
	FramingUnreadable ID = "framing.unreadable"
)

var framingCauses1 = []Cause{
	{
		ID: FramingLost, Family: FamilyFraming, Title: "framing lost",
		Merchant:      "The terminal and the payment host do not understand each other's messages.",
		Engineer:      "the byte stream could not be split into messages: a length header that is not a length, an oversize or truncated frame.",
		Evidence:      "a length header that does not parse, or a frame that ends early or exceeds the maximum",
		Fix:           "set the same length-header format (binary2, bcd2, ascii4) and TPDU/header on both sides",
		Checklist:     CheckSettings,
		ChecklistNote: "the terminal's communication settings must match the host's",
	},
	{
		ID: FramingUnreadable, Family: FamilyFraming, Title: "answer unreadable",
		Merchant:      "The terminal received an answer it cannot read.",
		Engineer:      "a frame arrived but does not unpack in the terminal's dialect (wrong bitmap or field encoding); an unreadable answer to a financial request is treated as no answer and reversed.",
		Evidence:      "unpack error naming the field",
		Fix:           "use the same dialect (message spec) on both sides; compare the field named in the error with the host's specification",
		Checklist:     CheckSoftware,
		ChecklistNote: "a terminal with the wrong software version or parameter file speaks the wrong dialect",
	},
}

// Causes a terminal or a probe can tell apart within framing: which part of
// the framing disagrees.
const (
	FramingLengthHeader  ID = "framing.length_header"
	FramingTrailingBytes ID = "framing.trailing_bytes"
	FramingTPDU          ID = "framing.tpdu"
	FramingDialect       ID = "framing.dialect"
)

var framingCauses2 = []Cause{
	{
		ID: FramingLengthHeader, Family: FamilyFraming, Title: "wrong length-header format",
		Merchant:      "The terminal and the payment host frame their messages differently, so the host cannot read the terminal's messages.",
		Engineer:      "the two sides use different length headers (2-byte binary, 2-byte BCD, 4 ASCII digits): the host reads the terminal's header as a length that is absurd or wrong and closes the link, or waits for bytes that never come.",
		Evidence:      "the host closes, resets or ignores the link at the first message; the frame's first bytes parse as another length format (ASCII digits, BCD); a probe in another length format is answered",
		Fix:           "set the terminal's length header to the host's format (binary2, bcd2 or ascii4)",
		Checklist:     CheckSettings,
		ChecklistNote: "the communication settings (\"message length format\") of the terminal",
	},
	{
		ID: FramingTrailingBytes, Family: FamilyFraming, Title: "stray bytes after a message",
		Merchant:      "Extra data arrived after a message, which confuses the terminal.",
		Engineer:      "a valid frame was followed by bytes that do not start a valid frame (padding, a stray CR/LF or keepalive of another format): the length format itself is right, since the frame before them parsed.",
		Evidence:      "a frame that parsed, then a length header that does not parse (or an absurd length) right after it",
		Fix:           "find what appends bytes after the message (host software, a proxy or a modem adding CR/LF or padding) and stop it; do not change the length-header format",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: FramingTPDU, Family: FamilyFraming, Title: "TPDU/header mismatch",
		Merchant:      "The terminal and the payment host disagree on the routing header in front of each message.",
		Engineer:      "one side sends a TPDU (60 DDDD SSSS) and/or a fixed header before the MTI and the other does not expect it (or expects a different one): the MTI is read from the wrong bytes.",
		Evidence:      "frame starts with 0x60 where an MTI is expected, or an MTI where a TPDU is expected; a probe with (without) the TPDU is answered",
		Fix:           "set the terminal's TPDU/header to what the host expects (the TPDU the acquirer assigned, or none)",
		Checklist:     CheckSettings,
		ChecklistNote: "",
	},
	{
		ID: FramingDialect, Family: FamilyFraming, Title: "wrong message dialect",
		Merchant:      "The terminal and the payment host encode messages differently (text vs binary).",
		Engineer:      "the framing matches but the message encoding does not: ASCII MTI and hex bitmap versus BCD MTI and binary bitmap, so the peer cannot unpack the message.",
		Evidence:      "frames split correctly but do not unpack; a probe in the other dialect is answered",
		Fix:           "set the terminal's dialect (message format) to the host's (iso87ascii, iso87bin, iso93ascii or the host's spec file); possim diagnose --target detects it",
		Checklist:     CheckSoftware,
		ChecklistNote: "the dialect is part of the terminal's software or parameter file",
	},
}
