package operator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/splitbft/splitbft/client"
)

// ClientsDir is the folder of client credentials inside a cluster directory.
const ClientsDir = "clients"

// credentials is the JSON form of a client.Identity. It is a secret.
type credentials struct {
	ID         uint64 `json:"id"`
	Seed       Hex    `json:"ed25519_seed"`   // signs REQUESTs
	BoxPrivate Hex    `json:"x25519_private"` // request and reply keys
}

// CredentialsPath returns the path of client id's credentials in cluster dir.
func CredentialsPath(dir string, id uint64) string {
	return filepath.Join(dir, ClientsDir, fmt.Sprintf("client-%d.json", id))
}

// SaveIdentity writes a client's secret identity to its credentials file, readable by
// its owner only (mode 0600). It refuses to overwrite an existing file.
func SaveIdentity(dir string, id client.Identity) error {
	raw, err := json.MarshalIndent(credentials{ID: id.ID, Seed: id.Seed[:], BoxPrivate: id.BoxPrivate[:]}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(CredentialsPath(dir, id.ID), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("operator: %w", err)
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("operator: %w", err)
	}
	return f.Close()
}

// LoadIdentity reads client id's credentials from cluster dir.
func LoadIdentity(dir string, id uint64) (client.Identity, error) {
	path := CredentialsPath(dir, id)
	raw, err := os.ReadFile(path)
	if err != nil {
		return client.Identity{}, fmt.Errorf("operator: client credentials: %w", err)
	}
	var c credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return client.Identity{}, fmt.Errorf("operator: %s: %w", path, err)
	}
	if c.ID != id || len(c.Seed) != 32 || len(c.BoxPrivate) != 32 {
		return client.Identity{}, fmt.Errorf("operator: %s: not the credentials of client %d (id %d, key sizes %d and %d)",
			path, id, c.ID, len(c.Seed), len(c.BoxPrivate))
	}
	ident := client.Identity{ID: c.ID}
	copy(ident.Seed[:], c.Seed)
	copy(ident.BoxPrivate[:], c.BoxPrivate)
	return ident, nil
}
