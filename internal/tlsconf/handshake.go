package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/possim/possim/internal/diagnose"
)

// HandshakeError is a failed TLS handshake, named with a cause from the
// catalogue. Its message is the detail and the fix: "the host's
// certificate expired on 2026-05-01: renew it on the host".
type HandshakeError struct {
	Finding diagnose.Finding
	Err     error
}

func (e *HandshakeError) Error() string {
	return "TLS: " + e.Finding.Explanation() + ": " + e.Finding.FixText()
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// TLSFinding lets internal/diagnose's probe take the cause without
// importing this package (which imports the catalogue).
func (e *HandshakeError) TLSFinding() diagnose.Finding { return e.Finding }

// Handshake runs a terminal's TLS handshake on nc within timeout and
// returns the TLS connection, or a *HandshakeError that names the cause.
// A host that asks for a client certificate the terminal does not have is
// told apart here, at the handshake, even in TLS 1.3 where the host's
// alert would otherwise only arrive with the first read.
func Handshake(ctx context.Context, nc net.Conn, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	var asked atomic.Bool
	c := cfg.Clone()
	certs := cfg.Certificates
	c.Certificates = nil
	c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked.Store(true)
		if len(certs) > 0 {
			return &certs[0], nil
		}
		return &tls.Certificate{}, nil // none: the host decides
	}
	tc := tls.Client(nc, c)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := tc.HandshakeContext(hctx)
	if err == nil && asked.Load() && len(certs) == 0 {
		err = errClientCertRequired
	}
	if err != nil {
		tc.Close()
		return nil, &HandshakeError{Finding: Classify(err, cfg, nc.RemoteAddr().String(), timeout, asked.Load()), Err: err}
	}
	return tc, nil
}

var errClientCertRequired = errors.New("the host requested a client certificate and none is configured")

// Classify names a TLS error: from a handshake, or from a link that failed
// right after one (TLS 1.3 sends certificate alerts after the handshake).
// cfg is the terminal's configuration, addr the host's address.
func Classify(err error, cfg *tls.Config, addr string, timeout time.Duration, askedForCert bool) diagnose.Finding {
	var (
		inv   x509.CertificateInvalidError
		name  x509.HostnameError
		ca    x509.UnknownAuthorityError
		verif *tls.CertificateVerificationError
		ne    net.Error
	)
	s := err.Error()
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		c := inv.Cert
		when := c.NotAfter.UTC().Format("2006-01-02")
		if time.Now().Before(c.NotBefore) {
			return diagnose.Finding{Cause: diagnose.TLSCertExpired,
				Detail: fmt.Sprintf("the host's certificate %q is not valid before %s", c.Subject.CommonName, c.NotBefore.UTC().Format("2006-01-02")),
				Fix:    "check the terminal's clock, then the host certificate's dates"}
		}
		return diagnose.Finding{Cause: diagnose.TLSCertExpired,
			Detail: fmt.Sprintf("the host's certificate expired on %s", when),
			Fix:    fmt.Sprintf("renew it on the host (certificate %q, issued by %q)", c.Subject.CommonName, c.Issuer.CommonName)}
	case errors.As(err, &name):
		want := name.Host
		have := append([]string(nil), name.Certificate.DNSNames...)
		for _, ip := range name.Certificate.IPAddresses {
			have = append(have, ip.String())
		}
		return diagnose.Finding{Cause: diagnose.TLSNameMismatch,
			Detail: fmt.Sprintf("the host's certificate is for %s, not %s", strings.Join(have, ", "), want),
			Fix:    fmt.Sprintf("dial a name the certificate carries (or --tls-server-name), or reissue the host's certificate for %s", want)}
	case errors.As(err, &ca):
		issuer := "an unknown issuer"
		if ca.Cert != nil {
			issuer = fmt.Sprintf("%q", ca.Cert.Issuer.CommonName)
		}
		return diagnose.Finding{Cause: diagnose.TLSUnknownCA,
			Detail: fmt.Sprintf("the host's certificate is issued by %s, which this terminal does not trust", issuer),
			Fix:    "install the host's CA on the terminal (--tls-ca FILE), or have the host present a certificate from a CA the terminals trust"}
	case errors.As(err, &verif):
		return diagnose.Finding{Cause: diagnose.TLSHandshakeFailed, Detail: "the host's certificate does not verify: " + verif.Err.Error()}
	case errors.Is(err, errClientCertRequired) || strings.Contains(s, "certificate required"):
		return diagnose.Finding{Cause: diagnose.TLSClientCertRequired,
			Detail: "the host requires a client certificate (mutual TLS) and this terminal has none"}
	case strings.Contains(s, "bad certificate") || strings.Contains(s, "unknown certificate authority") || strings.Contains(s, "certificate expired") && askedForCert:
		return diagnose.Finding{Cause: diagnose.TLSClientCertRejected,
			Detail: "the host rejected this terminal's client certificate (" + alertOf(s) + ")"}
	case strings.Contains(s, "protocol version"):
		min := "1.2"
		if cfg != nil && cfg.MinVersion != 0 {
			min = strings.TrimPrefix(tls.VersionName(cfg.MinVersion), "TLS ")
		}
		offered := "an older version"
		if i := strings.Index(s, "unsupported protocol version "); i >= 0 {
			if v, err := strconv.ParseUint(strings.Fields(s[i+len("unsupported protocol version "):])[0], 16, 16); err == nil {
				offered = tls.VersionName(uint16(v))
			}
		}
		return diagnose.Finding{Cause: diagnose.TLSOldVersion,
			Detail: fmt.Sprintf("the host offers only %s; this terminal requires TLS %s or newer", offered, min),
			Fix:    "enable TLS 1.2 or 1.3 on the host (lowering --tls-min-version on the terminal is a stop-gap only)"}
	case strings.Contains(s, "first record does not look like a TLS handshake"):
		return diagnose.Finding{Cause: diagnose.TLSNotTLS,
			Detail: fmt.Sprintf("%s answered without TLS: it speaks plain TCP on this port", addr)}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return diagnose.Finding{Cause: diagnose.TLSHandshakeStalled,
			Detail: fmt.Sprintf("TCP connected to %s but the host did not answer the TLS ClientHello within %s", addr, timeout)}
	}
	return diagnose.Finding{Cause: diagnose.TLSHandshakeFailed, Detail: "the TLS handshake with " + addr + " failed: " + s}
}

func alertOf(s string) string {
	if i := strings.Index(s, "tls: "); i >= 0 {
		return s[i+5:]
	}
	return s
}

// Dial connects to addr and runs the TLS handshake: the one place a
// terminal (or fleet, proxy upstream, probe) opens a TLS link.
func Dial(ctx context.Context, addr string, cfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nc, nil
	}
	return Handshake(ctx, nc, cfg, timeout)
}

// Listen wraps a host's listener with TLS: the one place the host side
// turns TLS on. The handshake runs on the connection's first read, in the
// link's reader, so one slow client never holds the accept loop.
func Listen(ln net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return ln
	}
	return tls.NewListener(ln, cfg)
}
