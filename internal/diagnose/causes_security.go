package diagnose

// Causes of the "security and keys" family.
const (
	MACResponseInvalid ID = "mac.response_invalid"
	MACRejectedByHost  ID = "mac.rejected_by_host"
	KeysKCVMismatch    ID = "keys.kcv_mismatch"
)

var securityCauses1 = []Cause{
	{
		ID: MACResponseInvalid, Family: FamilySecurity, Title: "host's MAC does not verify",
		Merchant:      "The terminal could not verify the payment host's answer, so it did not trust it and cancelled the payment.",
		Engineer:      "the MAC of the response does not verify with the terminal's working MAC key: different keys, a different algorithm or padding, or the message was altered.",
		Evidence:      "MAC field present in the response and not equal to the MAC computed over it",
		Fix:           "sign on again to load fresh working keys; if it persists, compare MAC algorithm, padding and key (by KCV) on both sides",
		Checklist:     CheckSettings,
		ChecklistNote: "a key download (sign-on) on the terminal resolves a stale key",
	},
	{
		ID: MACRejectedByHost, Family: FamilySecurity, Title: "host rejected the terminal's MAC",
		Merchant:      "The payment host did not accept the terminal's security check.",
		Engineer:      "the host answered RC 63 (security violation): the request's MAC does not verify with the host's key for this terminal.",
		Evidence:      "RC 63 in the response",
		Fix:           "sign on again to load the host's current working keys; compare the MAC algorithm and padding; check the TMK by its KCV",
		Checklist:     CheckSettings,
		ChecklistNote: "",
	},
	{
		ID: KeysKCVMismatch, Family: FamilySecurity, Title: "key check value mismatch",
		Merchant:      "The terminal received security keys it cannot use.",
		Engineer:      "a working key from the sign-on answer decrypts under the TMK to a key whose check value differs from the KCV sent with it: the terminal's TMK differs from the host's.",
		Evidence:      "computed KCV ≠ KCV in field 62",
		Fix:           "load the same TMK on terminal and host (compare their KCVs: possim key kcv)",
		Checklist:     CheckSupport,
		ChecklistNote: "a key injection by the acquirer is needed",
	},
}

// MAC causes that say which side's MAC is wrong, and how.
const (
	MACNotSent         ID = "mac.not_sent"
	MACPaddingMismatch ID = "mac.padding_mismatch"
	MACWrongKey        ID = "mac.wrong_key"
	MACCorrupted       ID = "mac.corrupted"
	KeysNotLoaded      ID = "keys.not_loaded"
)

var securityCauses2 = []Cause{
	{
		ID: MACNotSent, Family: FamilySecurity, Title: "terminal sent no MAC",
		Merchant:      "The terminal has no security keys loaded, so the payment host refused its messages.",
		Engineer:      "the request carried no MAC (field 64/128 absent: the terminal has no working MAC key) and the host requires one, answering RC 63 (security violation).",
		Evidence:      "RC 63 (or a close) to a request that the terminal itself sent without a MAC",
		Fix:           "load the terminal's keys: sign on (key download) so that it gets working keys under its TMK; if sign-on gives no keys, have the TMK injected",
		Checklist:     CheckSettings,
		ChecklistNote: "a key download from the terminal's menu (sign-on) fixes it",
	},
	{
		ID: MACPaddingMismatch, Family: FamilySecurity, Title: "MAC padding differs",
		Merchant:      "The terminal's security check is computed differently from the host's.",
		Engineer:      "the MAC was computed with the right key but a different padding method (ISO 9797-1 method 1 zero-fill vs method 2 0x80): it verifies when the other padding is tried.",
		Evidence:      "MAC mismatch that verifies under the same key with the other padding method",
		Fix:           "set the same MAC padding on both sides (method 1 or 2); the keys are fine",
		Checklist:     CheckSettings,
		ChecklistNote: "",
	},
	{
		ID: MACWrongKey, Family: FamilySecurity, Title: "MAC made with another key",
		Merchant:      "The terminal and the payment host use different security keys.",
		Engineer:      "the MAC verifies neither with the current nor with the previous working key, nor with the other padding: the sides hold different working keys (missed key change, wrong TMK).",
		Evidence:      "MAC mismatch under the current and previous key, with either padding",
		Fix:           "sign on again to exchange fresh working keys; if it persists, compare the TMK by its KCV on both sides",
		Checklist:     CheckSettings,
		ChecklistNote: "",
	},
	{
		ID: MACCorrupted, Family: FamilySecurity, Title: "MAC damaged on the way",
		Merchant:      "A message was damaged on its way between the terminal and the host.",
		Engineer:      "the MAC differs from the right one by a few bits: the keys agree, the message or its MAC was altered in transit.",
		Evidence:      "MAC within a few bits of the MAC computed with the right key",
		Fix:           "look for the device that alters the data on the path (a broken modem, a proxy rewriting fields); the keys are fine",
		Checklist:     CheckNetwork,
		ChecklistNote: "",
	},
	{
		ID: KeysNotLoaded, Family: FamilySecurity, Title: "no working keys",
		Merchant:      "The terminal has not received its security keys.",
		Engineer:      "the sign-on answer carried no working keys (field 62 missing) or the terminal has not signed on, so it cannot MAC its requests.",
		Evidence:      "sign-on answered without field 62, or a MACed request before any sign-on",
		Fix:           "sign on (key download); if the host sends no keys, check that key exchange is enabled for this terminal at the host",
		Checklist:     CheckSettings,
		ChecklistNote: "",
	},
}
