package operator

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"slices"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// This file registers the gateways' client identities at formation (SPEC.md §16.2,
// §13.4): each replica's gateway generates them inside itself and publishes its
// attestation (GET /gateway-enrollment); every replica admits every gateway's
// attestation (GW1–GW6) and Assemble registers the identities in Config.Clients.

// gatewayRole is the role name of gateway build policies in cluster.json.
const gatewayRole = "gateway"

// GatewayBuild is the build name of the gateway binary (gateway.BuildName).
const GatewayBuild = "gateway"

// GatewayPolicyConfig returns the policy that admits gateway evidence (SPEC.md §16.2
// GW5): AllowDevInsecure and the template's build policies of role gateway, as
// spec.RoleGateway policies. It is for attest.CheckGateway only, never a Config.
func (t *Template) GatewayPolicyConfig() *spec.Config {
	cfg := &spec.Config{AllowDevInsecure: t.AllowDevInsecure}
	for _, p := range t.Builds {
		if p.Role == gatewayRole {
			cfg.Builds = append(cfg.Builds, spec.BuildPolicy{Role: spec.RoleGateway, Build: []byte(p.Build),
				UniqueID: slices.Clone(p.UniqueID), SignerID: slices.Clone(p.SignerID), ProductID: p.ProductID, MinSVN: p.MinSVN})
		}
	}
	return cfg
}

// CheckGateway decides whether a, served for replica i, is admitted (SPEC.md §16.2):
// its shape (GW1–GW4), its evidence under the gateway policies (GW5), and its replica
// and client ids as the template assigns them (GW6).
func (t *Template) CheckGateway(i uint64, a *spec.GatewayAttestation, v attest.Verifier) error {
	g := &a.Enrollment
	if i >= t.N || t.Replicas[i].Redis == "" {
		return fmt.Errorf("operator: replica %d runs no gateway in %s", i, TemplateFile)
	}
	if err := g.Check(broker.AdmitKey); err != nil {
		return fmt.Errorf("operator: replica %d gateway: %w", i, err)
	}
	if want := t.Replicas[i].GatewayClients; g.Replica != i || !slices.Equal(g.ClientIDs, want) {
		return fmt.Errorf("operator: replica %d gateway: enrollment for replica %d with client ids %v, the template assigns %v", i, g.Replica, g.ClientIDs, want)
	}
	return attest.CheckGateway(a, t.GatewayPolicyConfig(), v)
}

// gatewayIDs returns every client id the template assigns to a gateway, ascending.
func (t *Template) gatewayIDs() []uint64 {
	var out []uint64
	for _, rt := range t.Replicas {
		out = append(out, rt.GatewayClients...)
	}
	slices.Sort(out)
	return out
}

// gatewayRegistrations returns cfg's registrations of the template's gateway ids (a
// client's view: it does not see the gateways' attestations, and needs none, §16.1).
func (t *Template) gatewayRegistrations(cfg *spec.Config) []spec.ClientConfig {
	var out []spec.ClientConfig
	for _, id := range t.gatewayIDs() {
		if c := cfg.Client(id); c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// registerClients returns the template's clients and gw (the gateways'
// registrations) sorted by id; gw must hold exactly the template's gateway ids.
func (t *Template) registerClients(gw []spec.ClientConfig) ([]spec.ClientConfig, error) {
	ids := make([]uint64, len(gw))
	for i, c := range gw {
		ids[i] = c.ID
	}
	slices.Sort(ids)
	if want := t.gatewayIDs(); !slices.Equal(ids, want) {
		return nil, fmt.Errorf("operator: gateway identities %v registered, the template assigns %v", ids, want)
	}
	out := append(t.ClientConfigs(), gw...)
	slices.SortFunc(out, func(a, b spec.ClientConfig) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// GatherGateways returns the registrations of every gateway's identities: own (this
// replica's gateway's attestation, nil if it runs none) and each peer's from its GET
// /gateway-enrollment, polled until every replica the template gives a gateway has
// answered. An attestation that CheckGateway refuses ends formation.
func (f *Former) GatherGateways(ctx context.Context, own *spec.GatewayAttestation) ([]spec.ClientConfig, error) {
	var out []spec.ClientConfig
	for i := range f.T.N {
		if f.T.Replicas[i].Redis == "" {
			continue
		}
		a := own
		if i != f.ID {
			var err error
			if a, err = f.pollGateway(ctx, i); err != nil {
				return nil, err
			}
		}
		if a == nil {
			return nil, fmt.Errorf("operator: replica %d: the template gives this replica a gateway, but it has none", i)
		}
		if err := f.T.CheckGateway(i, a, f.Verifier); err != nil {
			return nil, err
		}
		out = append(out, a.Enrollment.Registrations()...)
	}
	return out, nil
}

// pollGateway fetches replica i's gateway attestation, polling until it is served.
func (f *Former) pollGateway(ctx context.Context, i uint64) (*spec.GatewayAttestation, error) {
	for polls := 0; ; polls++ {
		raw, err := httpGet(ctx, f.T.Replicas[i].Status, "/gateway-enrollment", f.timeout(), maxFormationBody)
		if err == nil {
			var a spec.GatewayAttestation
			if err := spec.Decode(raw, &a, maxFormationBody); err != nil {
				return nil, fmt.Errorf("operator: replica %d served a gateway attestation that does not decode: %w", i, err)
			}
			f.Log.Info("gateway enrollment received", "peer", i)
			return &a, nil
		}
		if polls%50 == 49 {
			f.Log.Info("waiting for a peer's gateway enrollment", "peer", i)
		}
		if err := sleepCtx(ctx, f.every()); err != nil {
			return nil, err
		}
	}
}

// ReadGatewayAttestation reads the gateway process's first frame (SPEC.md §7.5, Op
// result): its attestation. It reads at most one frame of maxFormationBody.
func ReadGatewayAttestation(r io.Reader) (*spec.GatewayAttestation, error) {
	fr, err := spec.ReadFrame(io.LimitReader(r, 4+maxFormationBody))
	if err != nil {
		return nil, fmt.Errorf("operator: the gateway published no enrollment: %w", err)
	}
	var a spec.GatewayAttestation
	if fr.Op != spec.FrameResult {
		return nil, fmt.Errorf("operator: the gateway's first frame has op %d, want %d (result)", fr.Op, spec.FrameResult)
	}
	if err := spec.Decode(fr.Body, &a, maxFormationBody); err != nil {
		return nil, fmt.Errorf("operator: the gateway's enrollment does not decode: %w", err)
	}
	return &a, nil
}

// clientSignKeys returns the signing keys of every client cfg registers, the gateways'
// among them, for the client port's authentication (SPEC §13.2).
func clientSignKeys(cfg *spec.Config) map[uint64]ed25519.PublicKey {
	out := make(map[uint64]ed25519.PublicKey, len(cfg.Clients))
	for _, c := range cfg.Clients {
		out[c.ID] = ed25519.PublicKey(slices.Clone(c.SignKey[:]))
	}
	return out
}
