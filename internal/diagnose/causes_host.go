package diagnose

// Causes of the "host down" family: nothing answers at the host's address.
const (
	HostRefused     ID = "host.refused"
	HostUnreachable ID = "host.unreachable"
)

var hostCauses1 = []Cause{
	{
		ID: HostRefused, Family: FamilyHostDown, Title: "connection refused",
		Merchant:      "The terminal cannot reach the payment host: nothing is answering at its address.",
		Engineer:      "TCP connect was refused (RST to the SYN): no process listens on that host:port — the host is down, restarting, or the port is wrong.",
		Evidence:      "connect() fails at once with ECONNREFUSED",
		Fix:           "check that the host process is running and listening on this port; if it is, check the terminal's configured host address and port",
		Checklist:     CheckSupport,
		ChecklistNote: "restarting the terminal does not help; only the host side (support) can bring the host back — unless the terminal's port setting is wrong (settings)",
	},
	{
		ID: HostUnreachable, Family: FamilyHostDown, Title: "host unreachable",
		Merchant:      "The terminal cannot reach the payment host: the connection attempt gets no answer at all.",
		Engineer:      "TCP connect timed out: SYNs went unanswered — the host machine is down, or a firewall or route drops the traffic.",
		Evidence:      "connect() times out without a refusal or reset",
		Fix:           "check that the host machine is up and that firewalls and routes between terminal and host let this port through",
		Checklist:     CheckNetwork,
		ChecklistNote: "checking the network cable or signal helps when the terminal's own network is down; otherwise it is the host side",
	},
}

// More "host down" causes a live probe tells apart.
const (
	HostNameUnresolved ID = "host.name_unresolved"
	HostNoRoute        ID = "host.no_route"
	HostNotAnswering   ID = "host.not_answering"
)

var hostCauses2 = []Cause{
	{
		ID: HostNameUnresolved, Family: FamilyHostDown, Title: "host name does not resolve",
		Merchant:      "The terminal cannot find the payment host's address.",
		Engineer:      "DNS resolution of the configured host name failed: the name is wrong, or the terminal's DNS is not reachable.",
		Evidence:      "name lookup error before any connection attempt",
		Fix:           "check the host name in the terminal's settings, or use the IP address; check the terminal's DNS server",
		Checklist:     CheckSettings,
		ChecklistNote: "a typo in the host address is a settings problem",
	},
	{
		ID: HostNoRoute, Family: FamilyHostDown, Title: "no route to host",
		Merchant:      "The terminal's network has no way to the payment host.",
		Engineer:      "connect failed with host/network unreachable: no route from this network to the host (ICMP unreachable, no default route, VPN down).",
		Evidence:      "connect() fails with EHOSTUNREACH or ENETUNREACH",
		Fix:           "check the terminal's network connection (cable, Wi-Fi, mobile data, VPN) and its gateway",
		Checklist:     CheckNetwork,
		ChecklistNote: "",
	},
	{
		ID: HostNotAnswering, Family: FamilyHostDown, Title: "host accepts but never answers",
		Merchant:      "The payment host takes the connection but does not answer anything.",
		Engineer:      "TCP connections are accepted, but no framing or dialect gets any answer or even a close: the host process is hung, a load balancer accepts for a dead backend, or the path black-holes the traffic after the handshake.",
		Evidence:      "every echo test, in every framing, times out with no bytes and no close",
		Fix:           "check the host process (hung, overloaded) and the load balancer's backend health; capture on the host to see whether the requests arrive",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
}
