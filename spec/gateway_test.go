package spec

import (
	"strings"
	"testing"
)

// TestGatewayEnrollmentCheck applies each rule of SPEC.md §16.2 (GW1–GW4) to one
// mutation of a valid enrollment.
func TestGatewayEnrollmentCheck(t *testing.T) {
	noSmall := func(k PublicKey) bool { return k != fakeKey(tagClient, 10) }
	for _, c := range []struct {
		name  string
		mod   func(g *GatewayEnrollment)
		admit KeyAdmitter
		want  string // "" = valid
	}{
		{"valid", func(*GatewayEnrollment) {}, nil, ""},
		{"bad build", func(g *GatewayEnrollment) { g.Build = []byte("Gateway") }, nil, "bad build name"},
		{"no clients", func(g *GatewayEnrollment) { g.ClientIDs, g.SignKeys, g.BoxKeys = nil, nil, nil }, nil, "0 client identities"},
		{"too many", func(g *GatewayEnrollment) { g.ClientIDs = make([]uint64, MaxGatewayClients+1) }, nil, "257 client identities"},
		{"short keys", func(g *GatewayEnrollment) { g.SignKeys = g.SignKeys[:1] }, nil, "2 client ids, 1 sign keys, 2 box keys"},
		{"no tls key", func(g *GatewayEnrollment) { g.TLSKey = nil }, nil, "TLS key of 0 bytes"},
		{"huge tls key", func(g *GatewayEnrollment) { g.TLSKey = make([]byte, MaxTLSKeyBytes+1) }, nil, "TLS key of 257 bytes"},
		{"ids not increasing", func(g *GatewayEnrollment) { g.ClientIDs[1] = g.ClientIDs[0] }, nil, "not strictly increasing"},
		{"zero box key", func(g *GatewayEnrollment) { g.BoxKeys[1] = PublicKey{} }, nil, "client 10 has a zero box key"},
		{"key not admitted", func(*GatewayEnrollment) {}, noSmall, "client 10: signing key not admitted"},
		{"same sign key", func(g *GatewayEnrollment) { g.SignKeys[1] = g.SignKeys[0] }, nil, "used twice"},
		{"same box key", func(g *GatewayEnrollment) { g.BoxKeys[1] = g.BoxKeys[0] }, nil, "used twice"},
	} {
		g := exGatewayEnrollment()
		c.mod(g)
		err := g.Check(c.admit)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestGatewaySameKeys checks that a configuration registers a gateway's identities
// only with the same keys.
func TestGatewaySameKeys(t *testing.T) {
	g := exGatewayEnrollment()
	cfg := &Config{Clients: append(g.Registrations(), ClientConfig{ID: 11, SignKey: fakeKey(tagClient, 11), BoxKey: fakeKey(tagClientBox, 11)})}
	if !g.SameKeys(cfg) {
		t.Fatal("the registrations of g do not match g")
	}
	cfg.Clients[1].BoxKey[0] ^= 1
	if g.SameKeys(cfg) {
		t.Error("a changed box key matches")
	}
	cfg.Clients = cfg.Clients[:1]
	if g.SameKeys(cfg) {
		t.Error("a missing client matches")
	}
}

// TestGatewayDigestDomain pins the digest to its domain and the canonical encoding.
func TestGatewayDigestDomain(t *testing.T) {
	g := exGatewayEnrollment()
	if GatewayEnrollmentDigest(g) != Hash("splitbft/v1/gateway-enrollment", Encode(g)) {
		t.Fatal("digest is not H(splitbft/v1/gateway-enrollment, enc(g))")
	}
	h := *g
	h.TLSKey = append([]byte{}, g.TLSKey...)
	h.TLSKey[0] ^= 1
	if GatewayEnrollmentDigest(&h) == GatewayEnrollmentDigest(g) {
		t.Fatal("a different TLS key has the same digest")
	}
}
