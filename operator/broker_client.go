package operator

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/splitbft/splitbft/client"
)

// Every replica's broker has a client identity of its own, registered in the
// configuration like any client, to submit the config operations of its admissions
// (SPEC.md §13.4, §17.5 step 3). `splitbft init` writes its credentials to the
// replica's folder (BrokerClientFile, mode 0600) and names it in the template
// (ReplicaTemplate.BrokerClient). Its authority is nothing: a config operation
// counts only for the attestations or member signatures it carries.

// BrokerClientFile holds a replica's broker client credentials in replica-<id>/.
const BrokerClientFile = "broker-client.json"

// addBrokerClients registers one new client per replica, with ids after every client
// of t, and returns their identities (64 bytes of rand each).
func addBrokerClients(t *Template, rand io.Reader) ([]client.Identity, error) {
	next := uint64(1) // after every registered client and every gateway's client id
	for _, c := range t.Clients {
		next = max(next, c.ID+1)
	}
	for _, r := range t.Replicas {
		for _, id := range r.GatewayClients {
			next = max(next, id+1)
		}
	}
	var out []client.Identity
	for i := range t.Replicas {
		id, err := client.NewIdentity(next+uint64(i), rand)
		if err != nil {
			return nil, err
		}
		reg := id.Registration()
		t.Clients = append(t.Clients, ClientKeys{ID: id.ID, SignKey: reg.SignKey[:], BoxKey: reg.BoxKey[:]})
		t.Replicas[i].BrokerClient = id.ID
		out = append(out, id)
	}
	return out, nil
}

// brokerClientPath returns the path of replica id's broker client credentials.
func brokerClientPath(dir string, id uint64) string {
	return filepath.Join(dir, fmt.Sprintf("replica-%d", id), BrokerClientFile)
}

// saveBrokerClient writes replica id's broker client credentials (mode 0600).
func saveBrokerClient(dir string, replica uint64, c client.Identity) error {
	raw, err := json.MarshalIndent(credentials{ID: c.ID, Seed: c.Seed[:], BoxPrivate: c.BoxPrivate[:]}, "", "  ")
	if err != nil {
		return err
	}
	p := brokerClientPath(dir, replica)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, append(raw, '\n'), 0o600)
}

// LoadBrokerClient reads replica id's broker client credentials and checks them
// against the template's registration.
func LoadBrokerClient(dir string, t *Template, replica uint64) (client.Identity, error) {
	want := t.Replicas[replica].BrokerClient
	if want == 0 {
		return client.Identity{}, fmt.Errorf("operator: replica %d has no broker client in %s (made by an older `splitbft init`): it cannot be admitted again; form a new cluster", replica, TemplateFile)
	}
	p := brokerClientPath(dir, replica)
	raw, err := os.ReadFile(p)
	if err != nil {
		return client.Identity{}, fmt.Errorf("operator: broker client: %w", err)
	}
	var c credentials
	if err := json.Unmarshal(raw, &c); err != nil || c.ID != want || len(c.Seed) != 32 || len(c.BoxPrivate) != 32 {
		return client.Identity{}, fmt.Errorf("operator: %s: not the credentials of client %d (%v)", p, want, err)
	}
	id := client.Identity{ID: c.ID}
	copy(id.Seed[:], c.Seed)
	copy(id.BoxPrivate[:], c.BoxPrivate)
	reg := id.Registration()
	for _, k := range t.Clients {
		if k.ID == want && string(k.SignKey) == string(reg.SignKey[:]) {
			return id, nil
		}
	}
	return client.Identity{}, fmt.Errorf("operator: %s: its key is not client %d's in %s", p, want, TemplateFile)
}

// checkBrokerClients checks that each replica's broker client is registered, and
// that no two replicas and no gateway share one.
func (t *Template) checkBrokerClients() error {
	registered := map[uint64]bool{}
	for _, c := range t.Clients {
		registered[c.ID] = true
	}
	used := map[uint64]bool{}
	for _, rt := range t.Replicas {
		for _, g := range rt.GatewayClients {
			used[g] = true
		}
	}
	for i, rt := range t.Replicas {
		switch id := rt.BrokerClient; {
		case id == 0:
		case !registered[id]:
			return tmplErr("replica %d: broker client %d is not registered", i, id)
		case used[id]:
			return tmplErr("replica %d: broker client %d is also used by another replica or a gateway", i, id)
		default:
			used[id] = true
		}
	}
	return nil
}
