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

func (f *tlsFlags) add(fs *pflag.FlagSet, host bool) { f.addNamed(fs, "", "", host) }

// addNamed adds the flags under a name prefix and a usage prefix: the
// proxy's leg to the host has --upstream-tls, --upstream-tls-ca...
func (f *tlsFlags) addNamed(fs *pflag.FlagSet, prefix, about string, host bool) {
	f.host = host
	n := func(s string) string { return prefix + s }
	pick := func(h, t string) string {
		if host {
			return about + h
		}
		return about + t
	}
	fs.BoolVar(&f.o.Enabled, n("tls"), false, about+"speak TLS (implied by the other --"+n("tls-*")+" flags)")
	fs.StringVar(&f.o.Dir, n("tls-dir"), "", pick("a test PKI from 'possim tls init DIR': its CA, host certificate and CA key (for --tls-fault)",
		"a test PKI from 'possim tls init DIR': its CA and terminal certificate"))
	fs.StringVar(&f.o.Cert, n("tls-cert"), "", pick("host certificate (PEM)", "client certificate for mutual TLS (PEM)"))
	fs.StringVar(&f.o.Key, n("tls-key"), "", about+"private key of --"+n("tls-cert")+" (PEM)")
	fs.StringVar(&f.o.CA, n("tls-ca"), "", pick("CA of the client certificates to accept (with --tls-client-auth)", "CA to trust for the host's certificate (default: the system's)"))
	fs.StringVar(&f.o.MinVersion, n("tls-min-version"), "1.2", about+"lowest TLS version: 1.0, 1.1, 1.2, 1.3")
	if host {
		fs.BoolVar(&f.o.ClientAuth, n("tls-client-auth"), false, about+"require a client certificate from --tls-ca (mutual TLS)")
		fs.StringVar(&f.o.CAKey, n("tls-ca-key"), "", about+"the CA's key, to sign the certificates of --tls-fault")
		names := make([]string, 0, len(tlsconf.Faults))
		for n := range tlsconf.Faults {
			names = append(names, n)
		}
		sort.Strings(names)
		fs.StringVar(&f.o.Fault, n("tls-fault"), "", about+"a TLS fault: "+strings.Join(names, ", "))
	} else {
		fs.StringVar(&f.o.ServerName, n("tls-server-name"), "", about+"name the host's certificate must carry (default: the target's host)")
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
