package fault

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "key-desync",
			Level: LevelMessage,
			Symptom: "Once the matching answer is signed, the host gives the terminal new working keys without telling it (no 0800 key change): " +
				"the terminal keeps MACing with the old key — the host answers RC 63 and reports \"key desync: MAC made with the previous key\"; " +
				"the terminal cannot verify the host's answers (MAC mismatch) and reverses, until it signs on again.",
			Streams:       []Stream{Downstream},
			DefaultStream: Downstream,
		},
		msg: func(attrs) (msgFault, error) {
			return keyFault{desync: true, detail: "terminal's keys changed after this answer without telling it"}, nil
		},
	})
}
