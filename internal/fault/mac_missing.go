package fault

import "github.com/possim/possim/internal/mac"

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "mac-missing",
			Level: LevelMessage,
			Symptom: "The MAC field (64, or 128 with a secondary bitmap) is left out of a message that must carry one: the peer reports " +
				"\"MAC missing: no field 64\" — a host answers RC 63, a terminal does not trust the answer and reverses.",
		},
		msg: func(attrs) (msgFault, error) {
			return keyFault{sign: mac.SignOmit, detail: "MAC field left out"}, nil
		},
	})
}
