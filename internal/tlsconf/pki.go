// Package tlsconf builds the crypto/tls configurations of possim's host and
// terminal from their --tls flags, writes a test PKI (possim tls init),
// makes the host's TLS faults (an expired certificate, an untrusted CA, a
// wrong name, an old protocol only, a required client certificate, a
// stalled handshake) and names a failed handshake with a cause from the
// diagnose catalogue.
package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority whose key possim holds: the test CA of
// possim tls init, used to sign certificates that are wrong in exactly one
// way for the TLS faults.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA makes a self-signed test CA valid for ten years.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"possim test PKI"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

// Leaf says what certificate to issue.
type Leaf struct {
	CommonName string
	DNS        []string
	IPs        []net.IP
	Client     bool // client authentication (a terminal's) rather than server
	NotBefore  time.Time
	NotAfter   time.Time
}

// Issue signs a leaf certificate and returns it as a tls.Certificate.
func (ca *CA) Issue(l Leaf) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	if l.NotBefore.IsZero() {
		l.NotBefore = time.Now().Add(-time.Hour)
	}
	if l.NotAfter.IsZero() {
		l.NotAfter = time.Now().AddDate(2, 0, 0)
	}
	eku := x509.ExtKeyUsageServerAuth
	if l.Client {
		eku = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: []string{"possim test PKI"}},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{eku},
		DNSNames:     l.DNS,
		IPAddresses:  l.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// HostLeaf is the host certificate of the test PKI: 127.0.0.1, ::1 and
// localhost.
func HostLeaf() Leaf {
	return Leaf{CommonName: "possim host", DNS: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}}
}

// Files of a test PKI directory.
const (
	CAFile          = "ca.pem"
	CAKeyFile       = "ca-key.pem"
	HostFile        = "host.pem"
	HostKeyFile     = "host-key.pem"
	TerminalFile    = "terminal.pem"
	TerminalKeyFile = "terminal-key.pem"
)

// InitDir writes a test CA, a host certificate for 127.0.0.1/localhost and
// a terminal (client) certificate into dir. It refuses to overwrite.
func InitDir(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	names := []string{CAFile, CAKeyFile, HostFile, HostKeyFile, TerminalFile, TerminalKeyFile}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return nil, fmt.Errorf("%s already exists: not overwriting a PKI (remove the directory's files first)", filepath.Join(dir, n))
		}
	}
	ca, err := NewCA("possim test CA")
	if err != nil {
		return nil, err
	}
	host, err := ca.Issue(HostLeaf())
	if err != nil {
		return nil, err
	}
	term, err := ca.Issue(Leaf{CommonName: "POSSIM01", Client: true})
	if err != nil {
		return nil, err
	}
	caKey, err := keyPEM(ca.Key)
	if err != nil {
		return nil, err
	}
	hostKey, err := keyPEM(host.PrivateKey)
	if err != nil {
		return nil, err
	}
	termKey, err := keyPEM(term.PrivateKey)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		CAFile: certPEM(ca.Cert.Raw), CAKeyFile: caKey,
		HostFile: certPEM(host.Certificate[0]), HostKeyFile: hostKey,
		TerminalFile: certPEM(term.Certificate[0]), TerminalKeyFile: termKey,
	}
	var out []string
	for _, n := range names {
		mode := os.FileMode(0o644)
		if filepath.Ext(n) == ".pem" && len(n) > 8 && n[len(n)-8:] == "-key.pem" {
			mode = 0o600
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, files[n], mode); err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(k crypto.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// LoadCA reads a CA certificate and its key (possim tls init's ca.pem and
// ca-key.pem).
func LoadCA(certFile, keyFile string) (*CA, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("CA %s / %s: %w", certFile, keyFile, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", certFile)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("CA key cannot sign")
	}
	return &CA{Cert: cert, Key: signer}, nil
}

// loadPool reads PEM certificates into a pool.
func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// Ephemeral makes a throw-away PKI in memory: a server configuration for
// 127.0.0.1/localhost and a client configuration that trusts it. simulate
// --tls uses it for its embedded host when no certificates are given.
func Ephemeral(minVersion uint16) (server, client *tls.Config, err error) {
	ca, err := NewCA("possim ephemeral CA")
	if err != nil {
		return nil, nil, err
	}
	c, err := ca.Issue(HostLeaf())
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: minVersion},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: minVersion}, nil
}
