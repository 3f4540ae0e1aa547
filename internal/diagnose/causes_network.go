package diagnose

// Causes of the "network" family: the path between terminal and host, as
// opposed to the host, the issuer or the link's settings.
const (
	NetworkSlow         ID = "network.slow"
	NetworkBlackhole    ID = "network.blackhole"
	NetworkPacketLoss   ID = "network.packet_loss"
	NetworkZeroWindow   ID = "network.zero_window"
	RequestNeverArrived ID = "network.request_not_delivered"
	ResponseLostOnPath  ID = "network.response_not_delivered"
)

var networkCauses = []Cause{
	{
		ID: NetworkSlow, Family: FamilyNetwork, Title: "slow network",
		Merchant:      "The network between the terminal and the payment host is slow, so payments take long or time out.",
		Engineer:      "round trips that involve no issuer — the sign-on and echo tests on the same link — are already slow: the delay is in the network (weak signal, congested or throttled link), not in the issuer's decision.",
		Evidence:      "sign-on or echo round-trip time well above a LAN/4G round trip (≥ 300 ms) on the same link as the slow or timed-out payment",
		Fix:           "the network, not the issuer, is slow: check the signal or the carrier (move the terminal, use a cable, change SIM/APN); lengthen the response timeout only as a stop-gap",
		Checklist:     CheckNetwork,
		ChecklistNote: "checking the signal and restarting the router is exactly the help here",
	},
	{
		ID: NetworkBlackhole, Family: FamilyNetwork, Title: "network black hole",
		Merchant:      "The connection to the payment host looks open, but nothing gets through any more.",
		Engineer:      "the TCP connection stays up but no answer arrives to anything — not the payment, not its reversal, not an echo test: the path drops the traffic silently (a firewall, NAT or a dead route) or the host process is hung.",
		Evidence:      "earlier messages on the link were answered (or the connection was accepted), then every request including an echo test goes unanswered and the link never closes",
		Fix:           "drop the link and reconnect after an unanswered echo test; check the firewall/NAT between terminal and host for dropped sessions, and whether the host process is hung",
		Checklist:     CheckRestart,
		ChecklistNote: "restarting the terminal opens a new connection, which usually works again; the network or support must find the device that drops traffic",
	},
	{
		ID: NetworkPacketLoss, Family: FamilyNetwork, Title: "packet loss",
		Merchant:      "The network is losing data between the terminal and the payment host.",
		Engineer:      "TCP had to retransmit segments of the stream: packets were lost on the path; each loss costs at least one retransmission timeout (200 ms or more) and many in a row end in a timeout.",
		Evidence:      "TCP retransmissions (the same sequence numbers sent again) in the capture",
		Fix:           "check the terminal's signal and the path (cable, Wi-Fi, mobile carrier) for loss; a capture on both ends shows where it is lost",
		Checklist:     CheckNetwork,
		ChecklistNote: "",
	},
	{
		ID: NetworkZeroWindow, Family: FamilyNetwork, Title: "receiver stopped reading",
		Merchant:      "One side stopped taking data, so messages wait in the network.",
		Engineer:      "a side advertised a zero TCP receive window: its application does not read (hung or overloaded), so the other side's bytes cannot be delivered.",
		Evidence:      "TCP segments with window 0 in the capture",
		Fix:           "find why the side with the zero window stopped reading (a hung or overloaded host or terminal process)",
		Checklist:     CheckSupport,
		ChecklistNote: "",
	},
	{
		ID: RequestNeverArrived, Family: FamilyNetwork, Title: "request never reached the host",
		Merchant:      "The payment request was lost on the way to the payment host.",
		Engineer:      "the request was sent but never arrived: TCP never acknowledged its bytes, or it does not appear on the next hop's connection, so the host cannot have answered it.",
		Evidence:      "request bytes not acknowledged by TCP, or the request seen on the terminal's connection but not on the host's",
		Fix:           "look for the hop that dropped it (firewall, proxy, switch) between the point where it was seen and the host; the host did nothing wrong",
		Checklist:     CheckNetwork,
		ChecklistNote: "",
	},
	{
		ID: ResponseLostOnPath, Family: FamilyNetwork, Title: "answer lost on the way back",
		Merchant:      "The payment host answered, but its answer was lost on the way to the terminal.",
		Engineer:      "the host's response was sent (seen on the host's connection, or sent and never acknowledged) but never reached the terminal: the terminal timed out and reversed a transaction the host had decided.",
		Evidence:      "a response on the host side's connection that is missing from the terminal side's, or response bytes never acknowledged",
		Fix:           "look for the hop that dropped it between the host and the terminal; check the host's account: the reversal must have undone the decided transaction",
		Checklist:     CheckNetwork,
		ChecklistNote: "",
	},
}
