package diagnose

// Causes of TLS trouble on the link to the host (family security/keys):
// what a terminal sees when the TLS handshake fails, one entry per way it
// fails. internal/tlsconf classifies a handshake error into one of these.
const (
	TLSCertExpired        ID = "tls.cert_expired"
	TLSUnknownCA          ID = "tls.unknown_ca"
	TLSNameMismatch       ID = "tls.name_mismatch"
	TLSOldVersion         ID = "tls.old_version"
	TLSClientCertRequired ID = "tls.client_cert_required"
	TLSClientCertRejected ID = "tls.client_cert_rejected"
	TLSHandshakeStalled   ID = "tls.handshake_stalled"
	TLSNotTLS             ID = "tls.not_tls"
	TLSHandshakeFailed    ID = "tls.handshake_failed"
)

var tlsCauses = []Cause{
	{
		ID: TLSCertExpired, Family: FamilySecurity, Title: "host's certificate expired",
		Merchant:      "The terminal no longer trusts the payment host because the host's security certificate has expired. Every terminal stops at once.",
		Engineer:      "the TLS handshake failed: the host's certificate is past its NotAfter date (x509: certificate has expired).",
		Evidence:      "certificate verification error with reason Expired; the certificate's NotAfter is before now",
		Fix:           "renew the certificate on the host (the terminals need no change); check the terminal's clock if the date looks right",
		Checklist:     CheckSupport,
		ChecklistNote: "only the host's operator can renew it; a terminal with a wrong clock is the exception (settings)",
	},
	{
		ID: TLSUnknownCA, Family: FamilySecurity, Title: "host's certificate from an untrusted CA",
		Merchant:      "The terminal does not recognise who issued the payment host's security certificate, so it refuses to connect.",
		Engineer:      "the TLS handshake failed: the host's certificate chain does not lead to a CA the terminal trusts (x509: certificate signed by unknown authority).",
		Evidence:      "certificate verification error: unknown authority",
		Fix:           "install the host's CA certificate on the terminal (--tls-ca), or have the host present a certificate from the CA the terminals trust",
		Checklist:     CheckSettings,
		ChecklistNote: "the terminal's trusted-CA setting must include the host's issuer",
	},
	{
		ID: TLSNameMismatch, Family: FamilySecurity, Title: "host's certificate is for another name",
		Merchant:      "The payment host's security certificate is for a different address than the one the terminal dials.",
		Engineer:      "the TLS handshake failed: the host's certificate does not name the address the terminal connects to (x509: certificate is valid for X, not Y).",
		Evidence:      "certificate verification error: hostname mismatch",
		Fix:           "use the host name the certificate is issued for in the terminal's target (or --tls-server-name), or reissue the certificate with the right name",
		Checklist:     CheckSettings,
		ChecklistNote: "the terminal's host address setting may be an IP where the certificate has a name",
	},
	{
		ID: TLSOldVersion, Family: FamilySecurity, Title: "host offers only an old TLS version",
		Merchant:      "The payment host uses an outdated security protocol the terminal no longer accepts.",
		Engineer:      "the TLS handshake failed on the protocol version: the host offers only versions below the terminal's minimum (TLS 1.0/1.1 against a 1.2 minimum).",
		Evidence:      "protocol_version alert, or the server selected a version the client does not support",
		Fix:           "enable TLS 1.2 or 1.3 on the host; lowering the terminal's minimum (--tls-min-version) is a stop-gap only",
		Checklist:     CheckSupport,
		ChecklistNote: "a host-side configuration change",
	},
	{
		ID: TLSClientCertRequired, Family: FamilySecurity, Title: "host requires a client certificate",
		Merchant:      "The payment host wants the terminal to prove who it is with a certificate the terminal does not have.",
		Engineer:      "the host asked for a client certificate (mutual TLS) and the terminal has none to present.",
		Evidence:      "CertificateRequest from the host and no client certificate configured; or a certificate_required alert",
		Fix:           "give the terminal its certificate and key (--tls-cert, --tls-key) from the CA the host trusts",
		Checklist:     CheckSupport,
		ChecklistNote: "the acquirer has to issue the terminal's certificate",
	},
	{
		ID: TLSClientCertRejected, Family: FamilySecurity, Title: "host rejected the terminal's certificate",
		Merchant:      "The payment host does not accept the terminal's security certificate.",
		Engineer:      "the host refused the client certificate the terminal presented (bad_certificate / unknown_ca alert): wrong issuer, expired, or not for client authentication.",
		Evidence:      "bad_certificate, unknown_ca or certificate_expired alert from the host after the terminal sent its certificate",
		Fix:           "check the terminal certificate's issuer, dates and extended key usage (client authentication) against what the host trusts",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: TLSHandshakeStalled, Family: FamilySecurity, Title: "TLS handshake stalled",
		Merchant:      "The terminal reached the payment host but the secure connection never got set up.",
		Engineer:      "TCP connected but the host never answered the ClientHello within the connect timeout: an overloaded TLS terminator, a middlebox holding the handshake, or a host that does not speak TLS on this port and waits for data.",
		Evidence:      "TCP connect succeeds; no ServerHello before the timeout",
		Fix:           "check the host's TLS terminator (load, logs) and that this port is the TLS port; compare with openssl s_client -connect host:port",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: TLSNotTLS, Family: FamilyFraming, Title: "host does not speak TLS on this port",
		Merchant:      "The terminal is set to connect securely but the payment host answers without security on this port.",
		Engineer:      "the host's first bytes are not a TLS record: it speaks plain ISO 8583 here (tls: first record does not look like a TLS handshake).",
		Evidence:      "a non-TLS record where a ServerHello was expected",
		Fix:           "turn TLS off on the terminal for this port, or point it at the host's TLS port",
		Checklist:     CheckSettings,
		ChecklistNote: "the terminal's TLS setting or port is wrong",
	},
	{
		ID: TLSHandshakeFailed, Family: FamilySecurity, Title: "TLS handshake failed",
		Merchant:      "The secure connection to the payment host could not be set up.",
		Engineer:      "the TLS handshake failed for a reason without its own entry (see the detail).",
		Evidence:      "a TLS handshake error not matched by a more specific cause",
		Fix:           "compare the host's TLS settings with the terminal's: openssl s_client -connect host:port -CAfile ca.pem shows what the host offers",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
}
