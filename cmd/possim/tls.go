package main

import (
	"fmt"
	"io"

	"github.com/possim/possim/internal/tlsconf"
)

func init() {
	register("tls", "write a test PKI (CA, host and terminal certificates) for TLS links", runTLS)
}

const tlsHelp = `Usage: possim tls init DIR

Writes a test PKI into DIR: ca.pem and ca-key.pem (a test CA), host.pem and
host-key.pem (for 127.0.0.1, ::1 and localhost), terminal.pem and
terminal-key.pem (a client certificate for mutual TLS). Test use only: the
keys are not protected.

Examples:
  possim tls init ./pki
  possim host --tls-dir ./pki                      # TLS host
  possim host --tls-dir ./pki --tls-client-auth    # mutual TLS
  possim host --tls-dir ./pki --tls-fault expired  # present an expired certificate
  possim terminal --tls-dir ./pki purchase
  openssl s_client -connect 127.0.0.1:8583 -CAfile ./pki/ca.pem
`

func runTLS(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, tlsHelp)
		return 0
	}
	if len(args) != 2 || args[0] != "init" {
		fmt.Fprint(stderr, tlsHelp)
		return 2
	}
	files, err := tlsconf.InitDir(args[1])
	if err != nil {
		fmt.Fprintf(stderr, "possim tls: %v\n", err)
		return 2
	}
	for _, f := range files {
		fmt.Fprintln(stdout, "wrote", f)
	}
	return 0
}
