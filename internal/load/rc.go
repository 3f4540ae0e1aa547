package load

import "github.com/possim/possim/internal/iso"

// RCMeaning returns the usual meaning of an ISO 8583 response code, or ""
// when the code is not a common one. The table is internal/iso's, shared
// with transcripts and the terminal.
func RCMeaning(rc string) string {
	if m := iso.RCMeaning(rc); m != "unknown response code" {
		return m
	}
	return ""
}
