package main

// commandExamples are the examples `possim CMD --help` prints after the
// flags, for the commands whose synopsis does not carry its own. Every
// example here works when pasted (TestHelpHasExamples runs the first one of
// each where it needs no peer).
var commandExamples = map[string]string{
	"demo": `  possim demo                  # embedded host + terminal: sign-on, approval, decline, echo, timeout + reversal
  possim demo -v               # the same with masked field-by-field dumps
`,
	"proxy": `  possim proxy --listen 127.0.0.1:9583 --upstream 10.0.0.5:8583            # transparent, byte for byte
  possim proxy --listen 127.0.0.1:9583 --upstream 127.0.0.1:8583 --fault 'drop:mti=0210,nth=2'
  possim proxy --listen 127.0.0.1:9583 --upstream 127.0.0.1:8583 --control 127.0.0.1:8475 --pcap both.pcap
`,
	"replay": `  possim replay response-lost                      # a library scenario: ladder, then ✓/✗ per expectation
  possim replay -o junit happy-path host-down > replay.xml
  possim replay --dry-run my-case.yaml             # validate only (file:line errors)
`,
	"scenarios": `  possim scenarios list
  possim scenarios show half-open                 # the scenario with its trainer notes
  possim scenarios new my-case                    # a commented template in my-case.yaml
`,
	"mac compute": `  possim mac compute --alg x9.19 --key "$MAC_KEY" --data 4E6F772069732074
  possim mac compute --alg cmac --key "$AES_KEY" --message captured.hex --dialect iso87ascii
`,
	"mac verify": `  possim mac verify --alg x9.19 --key "$MAC_KEY" --message captured.hex --dialect iso87ascii
`,
	"version": `  possim version
`,
	"docs": `  possim docs rules              # the host's authorization rules file
  possim docs scenario           # the scenario file format
  possim docs host-config        # the keys of possim host --config
`,
}
