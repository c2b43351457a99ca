package operator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// MaxProposalChanges is the most changes one proposal holds (SPEC.md §17.2, GP3).
const MaxProposalChanges = 256

// CheckReadmissions fails, before anything is fetched, when a replica of gateways runs
// no gateway in the template, or when changes (the proposal's other changes) add or
// remove a client id that one of those gateways holds: the re-admission replaces
// those registrations itself.
func CheckReadmissions(t *Template, gateways []uint64, changes []spec.Change) error {
	for _, i := range gateways {
		if i >= t.N || t.Replicas[i].Redis == "" {
			return fmt.Errorf("operator: replica %d runs no gateway in %s", i, TemplateFile)
		}
		for _, c := range changes {
			if (c.Op == spec.ChangeAddClient || c.Op == spec.ChangeRemoveClient) && slices.Contains(t.Replicas[i].GatewayClients, c.Client.ID) {
				return fmt.Errorf("operator: client %d is replica %d's gateway's: --readmit-gateway %d replaces its registration, do not add or remove it as well", c.Client.ID, i, i)
			}
		}
	}
	return nil
}

// ReadmitGateway returns the changes that register replica i's gateway as it runs now
// (SPEC.md §16.2, "A restarted gateway"), and a line saying what they register: it
// fetches the attestation replica i serves (GET /gateway-enrollment), admits it
// (GW1–GW6 under the template, CheckGateway) and returns GatewayChanges for cfg, the
// configuration the proposal is for.
func ReadmitGateway(ctx context.Context, t *Template, i uint64, cfg *spec.Config, v attest.Verifier, timeout time.Duration) ([]spec.Change, string, error) {
	a, err := fetchGatewayAttestation(ctx, t, i, timeout)
	if err != nil {
		return nil, "", err
	}
	if err := t.CheckGateway(i, a, v); err != nil {
		return nil, "", err
	}
	ch, err := GatewayChanges(&a.Enrollment, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("operator: replica %d's gateway: %w", i, err)
	}
	g := &a.Enrollment
	keys := make([]string, len(g.SignKeys))
	for k, key := range g.SignKeys {
		keys[k] = fmt.Sprintf("%x", key[:4])
	}
	note := fmt.Sprintf("re-admitting replica %d's gateway (build %s, evidence %s): client ids %v, sign keys %s…",
		i, g.Build, evidenceName(a.Evidence.Format), g.ClientIDs, strings.Join(keys, "…, "))
	return ch, note, nil
}

// GatewayChanges returns, for each client id of the gateway enrollment g in order, a
// remove-client change when cfg registers that id and an add-client change with the
// keys g attests; removing first lets one proposal replace a registration (§17.2
// applies the changes in order). It fails with ErrGatewayRegistered when cfg
// registers exactly g's identities already, and when g's lists of ids and keys differ
// in length (GW2; CheckGateway refuses such an enrollment).
func GatewayChanges(g *spec.GatewayEnrollment, cfg *spec.Config) ([]spec.Change, error) {
	if len(g.SignKeys) != len(g.ClientIDs) || len(g.BoxKeys) != len(g.ClientIDs) {
		return nil, fmt.Errorf("the enrollment has %d client ids, %d sign keys and %d box keys", len(g.ClientIDs), len(g.SignKeys), len(g.BoxKeys))
	}
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
