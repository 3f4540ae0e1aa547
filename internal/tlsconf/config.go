package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Options are the --tls flags of one side.
type Options struct {
	// Enabled is --tls.
	Enabled bool
	// Dir is --tls-dir: a test PKI from possim tls init; it fills Cert, Key
	// and CA (and CAKey for the host's faults) where they are not given.
	Dir string
	// Cert and Key are this side's certificate: the host's server
	// certificate, or a terminal's client certificate for mutual TLS.
	Cert, Key string
	// CA is the CA to trust: for a terminal, the host's issuer (default:
	// the system roots); for a host, the issuer of client certificates —
	// given with ClientAuth, the host requires and verifies them.
	CA string
	// CAKey is the test CA's key (host only): the TLS faults sign
	// certificates wrong in one way with it.
	CAKey string
	// ClientAuth (host): require a client certificate from CA (mutual TLS).
	ClientAuth bool
	// MinVersion is "1.0", "1.1", "1.2" (default) or "1.3".
	MinVersion string
	// ServerName (terminal) is the name the host's certificate must carry;
	// default: the host part of the target.
	ServerName string
	// Fault (host) is a TLS fault: see Faults.
	Fault string
}

// Active reports whether TLS is on: --tls, or any certificate flag.
func (o Options) Active() bool {
	return o.Enabled || o.Dir != "" || o.Cert != "" || o.CA != "" || o.ServerName != "" || o.Fault != ""
}

func (o *Options) fill(host bool) {
	if o.Dir == "" {
		return
	}
	def := func(dst *string, name string) {
		if *dst == "" {
			*dst = filepath.Join(o.Dir, name)
		}
	}
	def(&o.CA, CAFile)
	if host {
		def(&o.Cert, HostFile)
		def(&o.Key, HostKeyFile)
		def(&o.CAKey, CAKeyFile)
	} else {
		def(&o.Cert, TerminalFile)
		def(&o.Key, TerminalKeyFile)
	}
}

var versions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// ParseVersion reads "1.2" etc.
func ParseVersion(s string) (uint16, error) {
	if s == "" {
		return tls.VersionTLS12, nil
	}
	v, ok := versions[strings.TrimPrefix(strings.ToLower(s), "tls")]
	if !ok {
		return 0, fmt.Errorf("TLS version %q: valid are 1.0, 1.1, 1.2, 1.3", s)
	}
	return v, nil
}

// Server builds the host's TLS configuration (with its fault, if any).
// stop ends a stalled handshake when the host closes.
func Server(o Options, stop <-chan struct{}) (*tls.Config, error) {
	o.fill(true)
	if o.Cert == "" || o.Key == "" {
		return nil, errors.New("TLS on the host needs a certificate and key: --tls-cert FILE --tls-key FILE, or --tls-dir DIR from possim tls init DIR")
	}
	pair, err := tls.LoadX509KeyPair(o.Cert, o.Key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	minV, err := ParseVersion(o.MinVersion)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: minV}
	if o.ClientAuth {
		if o.CA == "" {
			return nil, errors.New("--tls-client-auth needs --tls-ca FILE: the CA whose client certificates the host accepts")
		}
		pool, err := loadPool(o.CA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if o.Fault != "" {
		if err := applyFault(cfg, o, stop); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// Client builds a terminal's TLS configuration for target (host:port).
func Client(o Options, target string) (*tls.Config, error) {
	o.fill(false)
	minV, err := ParseVersion(o.MinVersion)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: minV}
	cfg.ServerName = o.ServerName
	if cfg.ServerName == "" {
		h, _, err := net.SplitHostPort(target)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", target, err)
		}
		cfg.ServerName = h
	}
	if o.CA != "" {
		pool, err := loadPool(o.CA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (o.Cert == "") != (o.Key == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if o.Cert != "" {
		pair, err := tls.LoadX509KeyPair(o.Cert, o.Key)
		if err != nil {
			// The test PKI's terminal certificate is optional: a terminal
			// with --tls-dir but no terminal.pem simply has none.
			if o.Dir == "" || !strings.Contains(err.Error(), "no such file") {
				return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
			}
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	return cfg, nil
}

// Faults are the host's TLS faults, by name.
var Faults = map[string]string{
	"expired":     "the host presents a certificate from its CA that expired on the 1st of the month before last",
	"untrusted":   "the host presents a certificate from a CA nobody trusts (made up at start)",
	"wrong-name":  "the host presents a certificate from its CA for wrong-host.invalid only",
	"old-version": "the host offers only TLS 1.0 and 1.1",
	"client-cert": "the host requires a client certificate from its CA",
	"stall":       "the host accepts TCP and never answers the ClientHello",
}

func applyFault(cfg *tls.Config, o Options, stop <-chan struct{}) error {
	needCA := func() (*CA, error) {
		if o.CA == "" || o.CAKey == "" {
			return nil, fmt.Errorf("--tls-fault %s needs the CA's certificate and key (--tls-dir DIR from possim tls init, or --tls-ca and --tls-ca-key) so that only this one thing is wrong", o.Fault)
		}
		return LoadCA(o.CA, o.CAKey)
	}
	switch o.Fault {
	case "expired":
		ca, err := needCA()
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
		l := HostLeaf()
		l.NotBefore, l.NotAfter = first.AddDate(-1, 0, 0), first
		c, err := ca.Issue(l)
		if err != nil {
			return err
		}
		cfg.Certificates = []tls.Certificate{c}
	case "untrusted":
		other, err := NewCA("possim untrusted CA")
		if err != nil {
			return err
		}
		c, err := other.Issue(HostLeaf())
		if err != nil {
			return err
		}
		cfg.Certificates = []tls.Certificate{c}
	case "wrong-name":
		ca, err := needCA()
		if err != nil {
			return err
		}
		c, err := ca.Issue(Leaf{CommonName: "wrong-host.invalid", DNS: []string{"wrong-host.invalid"}})
		if err != nil {
			return err
		}
		cfg.Certificates = []tls.Certificate{c}
	case "old-version":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	case "client-cert":
		if o.CA == "" {
			return errors.New("--tls-fault client-cert needs --tls-ca (or --tls-dir): the CA the host asks client certificates from")
		}
		pool, err := loadPool(o.CA)
		if err != nil {
			return err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	case "stall":
		// The ClientHello is read and never answered: the handshake waits
		// until the terminal gives up and closes, or the host closes the
		// connection (reading the raw connection returns then), or stop.
		cfg.GetConfigForClient = func(info *tls.ClientHelloInfo) (*tls.Config, error) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 512)
				for {
					if _, err := info.Conn.Read(buf); err != nil {
						return
					}
				}
			}()
			select {
			case <-done:
			case <-stop:
				info.Conn.Close()
				<-done
			}
			return nil, errors.New("stalled handshake (TLS fault)")
		}
	default:
		names := make([]string, 0, len(Faults))
		for n := range Faults {
			names = append(names, n)
		}
		return fmt.Errorf("--tls-fault %q: valid are %s", o.Fault, strings.Join(sorted(names), ", "))
	}
	return nil
}

func sorted(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// Describe says what a configuration does, for banners; never key
// material.
func Describe(cfg *tls.Config) string {
	if cfg == nil {
		return "TLS off"
	}
	var parts []string
	parts = append(parts, "TLS ≥ "+tls.VersionName(cfg.MinVersion))
	if cfg.MaxVersion != 0 {
		parts = append(parts, "≤ "+tls.VersionName(cfg.MaxVersion))
	}
	for _, c := range cfg.Certificates {
		if leaf, err := leafOf(c); err == nil {
			parts = append(parts, fmt.Sprintf("certificate %q from %q valid until %s", leaf.Subject.CommonName, leaf.Issuer.CommonName, leaf.NotAfter.Format("2006-01-02")))
		}
	}
	if cfg.ClientAuth == tls.RequireAndVerifyClientCert {
		parts = append(parts, "client certificates required")
	}
	if cfg.ServerName != "" {
		parts = append(parts, "expects host name "+cfg.ServerName)
	}
	return strings.Join(parts, ", ")
}

func leafOf(c tls.Certificate) (*x509.Certificate, error) {
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	if len(c.Certificate) == 0 {
		return nil, errors.New("empty")
	}
	return x509.ParseCertificate(c.Certificate[0])
}
