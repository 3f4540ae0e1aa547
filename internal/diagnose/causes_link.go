package diagnose

// Causes of the "link" family: the TCP connection itself failed.
const (
	LinkReset        ID = "link.reset"
	LinkClosed       ID = "link.closed"
	LinkWriteTimeout ID = "link.write_timeout"
	LinkIdleTimeout  ID = "link.idle_timeout"
	LinkDown         ID = "link.down"
)

var linkCauses1 = []Cause{
	{
		ID: LinkReset, Family: FamilyLink, Title: "link reset by peer",
		Merchant:      "The connection to the payment host broke in the middle of the payment.",
		Engineer:      "the peer (or a middlebox) reset the TCP connection (RST) while a request was in flight; the host may or may not have processed it, so a financial request is reversed.",
		Evidence:      "read or write fails with ECONNRESET with the request outstanding",
		Fix:           "look at the host's log at that time for a crash or a connection limit; a firewall or load balancer that resets long-lived links also does this",
		Checklist:     CheckNetwork,
		ChecklistNote: "a flaky network can cause it; if the network is fine, call support with the time of the failure",
	},
	{
		ID: LinkClosed, Family: FamilyLink, Title: "link closed by peer",
		Merchant:      "The payment host hung up while the payment was being processed.",
		Engineer:      "the peer closed the TCP connection (FIN) with a request outstanding; hosts do this when they reject the framing or the message, or when they shut down.",
		Evidence:      "EOF on read with the request outstanding",
		Fix:           "check the host's log for why it closed the link (framing or format rejected, shutdown, connection limit); compare the terminal's length header and dialect with the host's",
		Checklist:     CheckSettings,
		ChecklistNote: "when the host closes every link at the first message, the terminal's communication settings are usually wrong",
	},
	{
		ID: LinkWriteTimeout, Family: FamilyLink, Title: "peer stopped reading",
		Merchant:      "The payment host stopped taking messages from the terminal.",
		Engineer:      "a write did not complete within the write deadline: the peer's receive window is closed (it stopped reading) or the path is stalled.",
		Evidence:      "write deadline passed with bytes unsent",
		Fix:           "check whether the host process is hung or overloaded; check the path for a stalled link",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: LinkIdleTimeout, Family: FamilyLink, Title: "link idle timeout",
		Merchant:      "The connection to the payment host went quiet and was dropped.",
		Engineer:      "nothing was read within the idle timeout, so the link was closed.",
		Evidence:      "no bytes received for the idle timeout",
		Fix:           "send echo tests more often than the idle timeout of every hop (host, firewall, NAT) or lengthen the idle timeout",
		Checklist:     CheckNone,
		ChecklistNote: "no merchant checklist item covers idle timeouts",
	},
	{
		ID: LinkDown, Family: FamilyLink, Title: "no link to the host",
		Merchant:      "The terminal is not connected to the payment host, so the payment was not sent.",
		Engineer:      "there was no usable link when the transaction started (connect failed or the link was lost); the request was never written.",
		Evidence:      "no connected link at the time of the transaction",
		Fix:           "look at the connect failure reported before it (refused, unreachable, TLS) and fix that first",
		Checklist:     CheckNetwork,
		ChecklistNote: "",
	},
}

// LinkHalfOpen is a link that a middlebox forgot while it was idle.
const LinkHalfOpen ID = "link.half_open"

var linkCauses2 = []Cause{
	{
		ID: LinkHalfOpen, Family: FamilyLink, Title: "idle link silently dropped",
		Merchant:      "The connection to the payment host was cut while the terminal was idle, without the terminal noticing.",
		Engineer:      "after an idle period the link still looks open on this side, but nothing comes back: a firewall or NAT dropped the idle session (half-open), so the first payment after a quiet period times out.",
		Evidence:      "the link answered, stayed idle, then an echo test on it went unanswered while a new connection works",
		Fix:           "send echo tests (or TCP keepalives) more often than the idle time the link survived, or reconnect after an idle period; raise the firewall/NAT idle timeout",
		Checklist:     CheckRestart,
		ChecklistNote: "restarting the terminal opens a new connection, which hides the problem until the next quiet period",
	},
}
