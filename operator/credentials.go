package operator

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/splitbft/splitbft/broker"
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
// governance proposal adds to the configuration (add-client, SPEC §17.2). dir must be
// a cluster directory (its cluster.json loads: a mistyped dir is not created), and
// the template must not use id already, for a client, a broker client or a gateway.
func NewClient(dir string, id uint64, rand io.Reader) (spec.ClientConfig, error) {
	if id == 0 {
		return spec.ClientConfig{}, fmt.Errorf("operator: client ids start at 1")
	}
	t, err := LoadTemplate(dir) // a cluster directory: a mistyped one is not created
	if err != nil {
		return spec.ClientConfig{}, fmt.Errorf("%w (--dir must be a cluster directory made by init)", err)
	}
	if err := t.freeClientID(id); err != nil {
		return spec.ClientConfig{}, err
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

// freeClientID fails, saying what uses it, when the template already uses id for a
// client, a replica's broker client or a gateway's client identity.
func (t *Template) freeClientID(id uint64) error {
	for i, r := range t.Replicas {
		if r.BrokerClient == id {
			return fmt.Errorf("operator: client id %d is replica %d's broker client in %s: choose another id", id, i, TemplateFile)
		}
		if slices.Contains(r.GatewayClients, id) {
			return fmt.Errorf("operator: client id %d is a client identity of replica %d's gateway in %s: choose another id", id, i, TemplateFile)
		}
	}
	for _, c := range t.Clients {
		if c.ID == id {
			return fmt.Errorf("operator: client id %d is already registered in %s: choose another id", id, TemplateFile)
		}
	}
	return nil
}

// ParseRegistration parses client id's registration from its public keys in the
// form keygen --client prints them, SIGNHEX:BOXHEX (64 hex digits each: the Ed25519
// signing key, the X25519 box key), so that a client that made its own keys hands
// over only their public half. The signing key must pass the key admission rule
// (SPEC §3.3: canonical, not of small order).
func ParseRegistration(id uint64, v string) (spec.ClientConfig, error) {
	signText, boxText, ok := strings.Cut(v, ":")
	if !ok {
		return spec.ClientConfig{}, fmt.Errorf("operator: %q: want SIGNHEX:BOXHEX", v)
	}
	cc := spec.ClientConfig{ID: id}
	for _, k := range []struct {
		name, text string
		into       *spec.PublicKey
	}{{"sign", signText, &cc.SignKey}, {"box", boxText, &cc.BoxKey}} {
		b, err := hex.DecodeString(k.text)
		if err != nil || len(b) != len(k.into) {
			return spec.ClientConfig{}, fmt.Errorf("operator: client %d: the %s key %q is not %d hex digits", id, k.name, k.text, 2*len(k.into))
		}
		copy(k.into[:], b)
	}
	if !broker.AdmitKey(cc.SignKey) {
		return spec.ClientConfig{}, fmt.Errorf("operator: client %d: the sign key %s is not a canonical Ed25519 public key of large order (SPEC §3.3)", id, signText)
	}
	return cc, nil
}

// IsKeyPair reports whether v has the form of ParseRegistration's argument (hex
// digits, a colon, hex digits) rather than of a file name.
func IsKeyPair(v string) bool {
	a, b, ok := strings.Cut(v, ":")
	isHex := func(s string) bool {
		return s != "" && strings.Trim(s, "0123456789abcdefABCDEF") == ""
	}
	return ok && isHex(a) && isHex(b)
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
