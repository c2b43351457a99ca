package operator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/spec"
)

// A gateway is registered at formation (SPEC.md §13.4). A gateway started again (its
// replica crashed and rejoined, or the gateway process alone was restarted) has new
// identities, generated inside it (§16.2): the cluster's configuration registers the
// old ones, and the new gateway waits. The governance members re-admit it with a
// proposal that replaces the registration of each of its client ids (§17.2): this
// file builds those changes, after checking the attestation the replica serves as a
// gateway is checked at formation.

// ErrGatewayRegistered says that the configuration already registers the gateway's
// identities as it runs now: there is nothing to re-admit.
var ErrGatewayRegistered = errors.New("already registers them")

// ReadmitGateway returns the changes that register replica i's gateway as it runs now
// (SPEC.md §16.2, "A restarted gateway"): it fetches the attestation replica i serves
// (GET /gateway-enrollment), admits it (GW1–GW6 under the template, CheckGateway) and
// returns GatewayChanges for cfg, the configuration the proposal is for.
func ReadmitGateway(ctx context.Context, t *Template, i uint64, cfg *spec.Config, v attest.Verifier, timeout time.Duration) ([]spec.Change, error) {
	a, err := fetchGatewayAttestation(ctx, t, i, timeout)
	if err != nil {
		return nil, err
	}
	if err := t.CheckGateway(i, a, v); err != nil {
		return nil, err
	}
	ch, err := GatewayChanges(&a.Enrollment, cfg)
	if err != nil {
		return nil, fmt.Errorf("operator: replica %d's gateway: %w", i, err)
	}
	return ch, nil
}

// GatewayChanges returns, for each client id of the gateway enrollment g in order, a
// remove-client change when cfg registers that id and an add-client change with the
// keys g attests; removing first lets one proposal replace a registration (§17.2
// applies the changes in order). It fails with ErrGatewayRegistered when cfg
// registers exactly g's identities already.
func GatewayChanges(g *spec.GatewayEnrollment, cfg *spec.Config) ([]spec.Change, error) {
	if g.SameKeys(cfg) {
		return nil, fmt.Errorf("the configuration of epoch %d %w", cfg.Epoch, ErrGatewayRegistered)
	}
	var out []spec.Change
	for _, reg := range g.Registrations() {
		if cfg.Client(reg.ID) != nil {
			out = append(out, spec.Change{Op: spec.ChangeRemoveClient, Client: spec.ClientConfig{ID: reg.ID}})
		}
		out = append(out, spec.Change{Op: spec.ChangeAddClient, Client: reg})
	}
	return out, nil
}

// fetchGatewayAttestation fetches and decodes the gateway attestation replica i
// serves; the caller admits it (CheckGateway).
func fetchGatewayAttestation(ctx context.Context, t *Template, i uint64, timeout time.Duration) (*spec.GatewayAttestation, error) {
	if i >= t.N || t.Replicas[i].Redis == "" {
		return nil, fmt.Errorf("operator: replica %d runs no gateway in %s", i, TemplateFile)
	}
	raw, err := httpGet(ctx, t.Replicas[i].Status, "/gateway-enrollment", timeout, maxFormationBody)
	if err != nil {
		return nil, fmt.Errorf("operator: replica %d's gateway attestation: %w", i, err)
	}
	var a spec.GatewayAttestation
	if err := spec.Decode(raw, &a, maxFormationBody); err != nil {
		return nil, fmt.Errorf("operator: replica %d's gateway attestation does not decode: %w", i, err)
	}
	return &a, nil
}
