package host

import "github.com/possim/possim/internal/iso"

// The response code table lives in internal/iso so that the host, the
// terminal and the load reports read a code the same way; these are the
// names the host's callers (rules, transcripts, --rules-help) use.

// RCMeaning is the usual ISO 8583:1987 meaning of a response code (field
// 39), "unknown response code" for codes outside the common table. Codes
// 76–89 are reserved for private use by the standard; the table gives the
// reading most networks use.
func RCMeaning(rc string) string { return iso.RCMeaning(rc) }

// IsApproval reports whether rc approves the transaction: 00, 08 (honour
// with identification), 10 (partial), 11 (VIP) and 16 (approved, update
// track 3). The host sends an approval code (field 38) only for these.
func IsApproval(rc string) bool { return iso.IsApproval(rc) }
