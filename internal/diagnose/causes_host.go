package diagnose

// Causes of the "host down" family: nothing answers at the host's address.
const (
	HostRefused     ID = "host.refused"
	HostUnreachable ID = "host.unreachable"
)

func init() {
	Register(Cause{
		ID: HostRefused, Family: FamilyHostDown, Title: "connection refused",
		Merchant:      "The terminal cannot reach the payment host: nothing is answering at its address.",
		Engineer:      "TCP connect was refused (RST to the SYN): no process listens on that host:port — the host is down, restarting, or the port is wrong.",
		Evidence:      "connect() fails at once with ECONNREFUSED",
		Fix:           "check that the host process is running and listening on this port; if it is, check the terminal's configured host address and port",
		Checklist:     CheckSupport,
		ChecklistNote: "restarting the terminal does not help; only the host side (support) can bring the host back — unless the terminal's port setting is wrong (settings)",
	})
	Register(Cause{
		ID: HostUnreachable, Family: FamilyHostDown, Title: "host unreachable",
		Merchant:      "The terminal cannot reach the payment host: the connection attempt gets no answer at all.",
		Engineer:      "TCP connect timed out: SYNs went unanswered — the host machine is down, or a firewall or route drops the traffic.",
		Evidence:      "connect() times out without a refusal or reset",
		Fix:           "check that the host machine is up and that firewalls and routes between terminal and host let this port through",
		Checklist:     CheckNetwork,
		ChecklistNote: "checking the network cable or signal helps when the terminal's own network is down; otherwise it is the host side",
	})
}
