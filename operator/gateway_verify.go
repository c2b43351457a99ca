package operator

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/attest/gatewaycert"
	"github.com/splitbft/splitbft/spec"
)

// VerifiedGateway is a gateway that VerifyGateway checked: its attestation and the
// certificate it presented, bound to the attested TLS key.
type VerifiedGateway struct {
	Attestation spec.GatewayAttestation
	CertPEM     []byte // the certificate to pin (redis-cli --tls --cacert FILE)
	Insecure    bool   // dev-insecure evidence: NO TEE protection
}

// VerifyGateway checks replica i's gateway as a legacy client's operator must before
// handing out its certificate (SPEC.md §16.2): the attestation replica i serves is
// admitted (GW1–GW6), the configuration that f+1 replicas serve (FetchConfig) registers
// exactly its identities, and the certificate the gateway presents over TLS 1.3 is
// signed by, and carries, the attested TLS key.
func VerifyGateway(ctx context.Context, t *Template, i uint64, v attest.Verifier, timeout time.Duration) (*VerifiedGateway, error) {
	a, err := fetchGatewayAttestation(ctx, t, i, timeout)
	if err != nil {
		return nil, err
	}
	if err := t.CheckGateway(i, a, v); err != nil {
		return nil, err
	}
	cfg, err := FetchConfig(ctx, t, v, timeout)
	if err != nil {
		return nil, err
	}
	if !a.Enrollment.SameKeys(cfg) {
		return nil, fmt.Errorf("operator: the configuration of epoch %d does not register replica %d's gateway identities with its attested keys "+
			"(a gateway started again has new ones: splitbft propose --readmit-gateway %d registers them)", cfg.Epoch, i, i)
	}
	der, err := gatewayCert(ctx, t.Replicas[i].Redis, timeout)
	if err != nil {
		return nil, err
	}
	if err := gatewaycert.Check(&a.Enrollment, der); err != nil {
		return nil, err
	}
	return &VerifiedGateway{Attestation: *a, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Insecure: a.Evidence.Format == spec.EvidenceDevInsecure}, nil
}

// gatewayCert connects to the gateway at addr over TLS 1.3 and returns the certificate
// it presents. The handshake accepts any certificate: the caller checks it against
// the attestation (gatewaycert.Check); nothing is sent over the connection.
func gatewayCert(ctx context.Context, addr string, timeout time.Duration) ([]byte, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout},
		Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}} // checked against the attestation below
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("operator: no TLS 1.3 handshake with the gateway at %s (does it serve TLS? set redis_tls in %s): %w", addr, TemplateFile, err)
	}
	defer c.Close()
	certs := c.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("operator: the gateway at %s presented no certificate", addr)
	}
	return certs[0].Raw, nil
}
