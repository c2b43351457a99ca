package operator

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// Broker transport keys (SPEC §13.2): each replica's broker authenticates its TLS
// links with an Ed25519 transport key. The key is a liveness identity only (it
// protects no protocol secret), so it lives outside spec.Config: `splitbft init`
// writes the private key to the replica's folder and the public key to the template,
// which clients and replicas already trust for the replicas' addresses.

// TransportKeyFile is the name of a replica's transport key inside its folder
// replica-<id> of the cluster directory. It is a secret (mode 0600): the 32-byte
// Ed25519 seed in hexadecimal.
const TransportKeyFile = "transport.key"

// ReplicaDir returns the folder of replica id inside cluster dir.
func ReplicaDir(dir string, id uint64) string {
	return filepath.Join(dir, fmt.Sprintf("replica-%d", id))
}

// newTransportKeys creates n transport keys from rand.
func newTransportKeys(n uint64, rand io.Reader) ([]ed25519.PrivateKey, error) {
	keys := make([]ed25519.PrivateKey, n)
	for i := range keys {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := io.ReadFull(rand, seed); err != nil {
			return nil, fmt.Errorf("operator: transport key: %w", err)
		}
		keys[i] = ed25519.NewKeyFromSeed(seed)
	}
	return keys, nil
}

// saveTransportKey writes replica id's transport key, readable by its owner only.
func saveTransportKey(dir string, id uint64, key ed25519.PrivateKey) error {
	d := ReplicaDir(dir, id)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return fmt.Errorf("operator: %w", err)
	}
	path := filepath.Join(d, TransportKeyFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("operator: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key.Seed()) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("operator: %w", err)
	}
	return f.Close()
}

// LoadTransportKey reads replica id's transport key from cluster dir and checks that
// it is the one the template names for that replica.
func LoadTransportKey(dir string, t *Template, id uint64) (ed25519.PrivateKey, error) {
	path := filepath.Join(ReplicaDir(dir, id), TransportKeyFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("operator: transport key of replica %d (written by `splitbft init`; copy it to this host): %w", id, err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("operator: %s: not a %d-byte hexadecimal Ed25519 seed", path, ed25519.SeedSize)
	}
	key := ed25519.NewKeyFromSeed(seed)
	if id >= uint64(len(t.Replicas)) || !key.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(t.Replicas[id].TransportKey)) {
		return nil, fmt.Errorf("operator: %s is not the transport key %s names for replica %d (re-run init, or copy the right file)", path, TemplateFile, id)
	}
	return key, nil
}

// TransportKeys returns the replicas' transport public keys, index = replica id.
func (t *Template) TransportKeys() []ed25519.PublicKey {
	out := make([]ed25519.PublicKey, len(t.Replicas))
	for i, r := range t.Replicas {
		out[i] = ed25519.PublicKey(r.TransportKey)
	}
	return out
}

// ClientSignKeys returns the registered clients' signing keys, with which they
// authenticate to the client ports.
func (t *Template) ClientSignKeys() map[uint64]ed25519.PublicKey {
	out := make(map[uint64]ed25519.PublicKey, len(t.Clients))
	for _, c := range t.Clients {
		out[c.ID] = ed25519.PublicKey(c.SignKey)
	}
	return out
}

// checkTransportKey checks one replica's transport public key.
func checkTransportKey(k Hex) error {
	if len(k) != ed25519.PublicKeySize || !broker.AdmitKey(spec.PublicKey(k)) {
		return fmt.Errorf("transport_key must be a canonical %d-byte Ed25519 public key (run `splitbft init`)", ed25519.PublicKeySize)
	}
	return nil
}
