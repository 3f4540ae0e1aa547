package fault

import "github.com/possim/possim/internal/mac"

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "mac-wrong-key",
			Level: LevelMessage,
			Symptom: "The side signs the message with a key the peer does not have (random, from the seed): the peer reports " +
				"\"MAC mismatch with the current key (KCV …): made with a wrong key\" — a host answers RC 63, a terminal does not trust the answer and reverses. " +
				"Acts where MACs are made (a host or terminal with a TMK), not on a proxy.",
		},
		msg: func(attrs) (msgFault, error) {
			return keyFault{sign: mac.SignWrong, detail: "MAC made with a wrong key"}, nil
		},
	})
}
