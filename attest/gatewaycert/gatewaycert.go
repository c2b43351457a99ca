// Package gatewaycert binds a Redis gateway's TLS certificate to its attested
// enrollment (SPEC.md §16.2). It is apart from package attest so that the compartment
// binaries, which link attest, do not link crypto/x509 and with it the standard
// library's Ed25519 (the b builds must use their own crypto stack only).
package gatewaycert

import (
	"bytes"
	"crypto/x509"
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// Check checks that the TLS certificate der (as a gateway presented it) is
// bound to gateway enrollment g (SPEC.md §16.2): its SubjectPublicKeyInfo equals
// g.TLSKey byte for byte and it is signed by that key (self-signed). Only then does a
// client that pins it talk to the holder of the attested key.
func Check(g *spec.GatewayEnrollment, der []byte) error {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("gatewaycert: the gateway's certificate does not parse: %w", err)
	}
	if !bytes.Equal(cert.RawSubjectPublicKeyInfo, g.TLSKey) {
		d := spec.Hash("splitbft/attest/tls-key", cert.RawSubjectPublicKeyInfo)
		w := spec.Hash("splitbft/attest/tls-key", g.TLSKey)
		return fmt.Errorf("gatewaycert: replica %d gateway: the certificate's key (%x…) is not the attested TLS key (%x…)", g.Replica, d[:6], w[:6])
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return fmt.Errorf("gatewaycert: replica %d gateway: the certificate is not signed by the attested TLS key: %w", g.Replica, err)
	}
	return nil
}
