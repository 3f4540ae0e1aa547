package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/possim/possim/internal/tlsconf"
	"github.com/spf13/pflag"
)

// tlsFlags are the TLS flags of a side: the host (server certificate,
// client certificates, faults) or a terminal (trusted CA, client
// certificate, server name).
type tlsFlags struct {
	o    tlsconf.Options
	host bool
}

func (f *tlsFlags) add(fs *pflag.FlagSet, host bool) {
	f.host = host
	fs.BoolVar(&f.o.Enabled, "tls", false, "speak TLS (implied by the other --tls-* flags)")
	fs.StringVar(&f.o.Dir, "tls-dir", "", "a test PKI written by 'possim tls init DIR': its CA, "+map[bool]string{true: "host certificate and CA key (for --tls-fault)", false: "terminal certificate"}[host])
	fs.StringVar(&f.o.Cert, "tls-cert", "", map[bool]string{true: "host certificate (PEM)", false: "client certificate for mutual TLS (PEM)"}[host])
	fs.StringVar(&f.o.Key, "tls-key", "", "private key of --tls-cert (PEM)")
	fs.StringVar(&f.o.CA, "tls-ca", "", map[bool]string{true: "CA of the client certificates to accept (with --tls-client-auth)", false: "CA to trust for the host's certificate (default: the system's)"}[host])
	fs.StringVar(&f.o.MinVersion, "tls-min-version", "1.2", "lowest TLS version: 1.0, 1.1, 1.2, 1.3")
	if host {
		fs.BoolVar(&f.o.ClientAuth, "tls-client-auth", false, "require a client certificate from --tls-ca (mutual TLS)")
		fs.StringVar(&f.o.CAKey, "tls-ca-key", "", "the CA's key, to sign the certificates of --tls-fault")
		names := make([]string, 0, len(tlsconf.Faults))
		for n := range tlsconf.Faults {
			names = append(names, n)
		}
		sort.Strings(names)
		fs.StringVar(&f.o.Fault, "tls-fault", "", "a TLS fault: "+strings.Join(names, ", "))
	} else {
		fs.StringVar(&f.o.ServerName, "tls-server-name", "", "name the host's certificate must carry (default: the target's host)")
	}
}

// server builds the host's TLS config; nil when TLS is off.
func (f *tlsFlags) server(stop <-chan struct{}) (*tls.Config, error) {
	if !f.o.Active() {
		return nil, nil
	}
	return tlsconf.Server(f.o, stop)
}

// client builds a terminal's TLS config for target; nil when TLS is off.
func (f *tlsFlags) client(target string) (*tls.Config, error) {
	if !f.o.Active() {
		return nil, nil
	}
	return tlsconf.Client(f.o, target)
}

func printTLS(w io.Writer, cfg *tls.Config, fault string) {
	if cfg == nil {
		return
	}
	fmt.Fprintf(w, "TLS: %s\n", tlsconf.Describe(cfg))
	if fault != "" {
		fmt.Fprintf(w, "TLS fault: %s — %s\n", fault, tlsconf.Faults[fault])
	}
}

// tlsDial is a probe's dial over TLS; nil (plain TCP) when cfg is nil.
func tlsDial(cfg *tls.Config) func(context.Context, string, time.Duration) (net.Conn, error) {
	if cfg == nil {
		return nil
	}
	return func(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
		return tlsconf.Dial(ctx, addr, cfg, timeout)
	}
}
