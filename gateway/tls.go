package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"time"
)

// TLSIdentity is the gateway's TLS key and self-signed certificate (SPEC.md §16.2),
// generated inside the gateway at start; the private key never leaves it. The
// gateway's attestation binds the certificate's public key (PublicKeyDER, the
// enrollment's TLSKey); legacy clients pin the certificate that `splitbft gateway
// verify` checked against it (redis-cli --tls --cacert FILE).
type TLSIdentity struct {
	cert tls.Certificate
	der  []byte
	leaf *x509.Certificate
}

// NewTLSIdentity generates a P-256 key from rand and a certificate valid for hosts (IP
// addresses or names) for one year from now.
func NewTLSIdentity(rand io.Reader, hosts []string, now time.Time) (*TLSIdentity, error) {
	if len(hosts) == 0 {
		return nil, errors.New("gateway: a TLS certificate needs at least one host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, fmt.Errorf("gateway: TLS key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "splitbft-gateway"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true, // self-signed: clients pin it as their CA
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("gateway: TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("gateway: TLS certificate: %w", err)
	}
	return &TLSIdentity{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, der: der, leaf: leaf}, nil
}

// CertPEM returns the certificate in PEM, for clients to pin.
func (id *TLSIdentity) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.der})
}

// Fingerprint returns SHA-256 of the certificate (DER): what an attestation binds.
func (id *TLSIdentity) Fingerprint() [32]byte { return sha256.Sum256(id.der) }

// PublicKeyDER returns the certificate's DER SubjectPublicKeyInfo: the TLSKey of the
// gateway's enrollment.
func (id *TLSIdentity) PublicKeyDER() []byte { return slices.Clone(id.leaf.RawSubjectPublicKeyInfo) }

// Listen listens on addr with TLS 1.3 under this identity.
func (id *TLSIdentity) Listen(addr string) (net.Listener, error) {
	return tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{id.cert}, MinVersion: tls.VersionTLS13})
}
