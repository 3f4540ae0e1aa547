package diagnose

// Causes of the "security and keys" family.
const (
	MACResponseInvalid ID = "mac.response_invalid"
	MACRejectedByHost  ID = "mac.rejected_by_host"
	KeysKCVMismatch    ID = "keys.kcv_mismatch"
)

func init() {
	Register(Cause{
		ID: MACResponseInvalid, Family: FamilySecurity, Title: "host's MAC does not verify",
		Merchant:      "The terminal could not verify the payment host's answer, so it did not trust it and cancelled the payment.",
		Engineer:      "the MAC of the response does not verify with the terminal's working MAC key: different keys, a different algorithm or padding, or the message was altered.",
		Evidence:      "MAC field present in the response and not equal to the MAC computed over it",
		Fix:           "sign on again to load fresh working keys; if it persists, compare MAC algorithm, padding and key (by KCV) on both sides",
		Checklist:     CheckSettings,
		ChecklistNote: "a key download (sign-on) on the terminal resolves a stale key",
	})
	Register(Cause{
		ID: MACRejectedByHost, Family: FamilySecurity, Title: "host rejected the terminal's MAC",
		Merchant:      "The payment host did not accept the terminal's security check.",
		Engineer:      "the host answered RC 63 (security violation): the request's MAC does not verify with the host's key for this terminal.",
		Evidence:      "RC 63 in the response",
		Fix:           "sign on again to load the host's current working keys; compare the MAC algorithm and padding; check the TMK by its KCV",
		Checklist:     CheckSettings,
		ChecklistNote: "",
	})
	Register(Cause{
		ID: KeysKCVMismatch, Family: FamilySecurity, Title: "key check value mismatch",
		Merchant:      "The terminal received security keys it cannot use.",
		Engineer:      "a working key from the sign-on answer decrypts under the TMK to a key whose check value differs from the KCV sent with it: the terminal's TMK differs from the host's.",
		Evidence:      "computed KCV ≠ KCV in field 62",
		Fix:           "load the same TMK on terminal and host (compare their KCVs: possim key kcv)",
		Checklist:     CheckSupport,
		ChecklistNote: "a key injection by the acquirer is needed",
	})
}
