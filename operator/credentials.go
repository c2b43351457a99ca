package operator

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
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
	return loadIdentity(CredentialsPath(dir, id), id)
}

// loadIdentity reads client id's credentials from path.
func loadIdentity(path string, id uint64) (client.Identity, error) {
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

// NewClient makes a fresh identity for client id, writes its credentials to cluster
// dir (mode 0600, never over an existing file) and returns its registration, which a
// governance proposal adds to the configuration (add-client, SPEC §17.2).
func NewClient(dir string, id uint64, rand io.Reader) (spec.ClientConfig, error) {
	if id == 0 {
		return spec.ClientConfig{}, fmt.Errorf("operator: client ids start at 1")
	}
	ident, err := client.NewIdentity(id, rand)
	if err != nil {
		return spec.ClientConfig{}, err
	}
	if err := os.MkdirAll(filepath.Join(dir, ClientsDir), 0o700); err != nil {
		return spec.ClientConfig{}, fmt.Errorf("operator: %w", err)
	}
	if err := SaveIdentity(dir, ident); err != nil {
		return spec.ClientConfig{}, err
	}
	return ident.Registration(), nil
}

// LoadRegistration reads the public half of a client's credentials file (made by
// NewClient or init): the registration an add-client change carries.
func LoadRegistration(path string, id uint64) (spec.ClientConfig, error) {
	ident, err := loadIdentity(path, id)
	if err != nil {
		return spec.ClientConfig{}, err
	}
	return ident.Registration(), nil
}
