package fault

import "github.com/possim/possim/internal/mac"

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "mac-stale-key",
			Level: LevelMessage,
			Symptom: "The side signs the message with its previous working key (only once there is one: after a key change or a second sign-on): " +
				"the peer reports \"stale MAC key: made with the previous key (KCV …)\" — a host answers RC 63, a terminal does not trust the answer and reverses.",
		},
		msg: func(attrs) (msgFault, error) {
			return keyFault{sign: mac.SignPrevious, detail: "MAC made with the previous key"}, nil
		},
	})
}
