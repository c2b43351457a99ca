package client

import (
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Identity is a client's long-term identity: its registered id and its two secret
// keys. It is a secret: whoever holds it can sign requests and read replies as this
// client.
type Identity struct {
	ID         uint64
	Seed       [32]byte // RFC 8032 Ed25519 private key seed; signs REQUESTs
	BoxPrivate [32]byte // X25519 private key; request and reply keys (SPEC.md §12)
}

// NewIdentity creates an identity for client id, reading exactly 64 bytes from rand:
// 32 for the Ed25519 seed, then 32 for the X25519 private key (the same order Execution
// uses, SPEC.md §3.5).
func NewIdentity(id uint64, rand io.Reader) (Identity, error) {
	ident := Identity{ID: id}
	if _, err := io.ReadFull(rand, ident.Seed[:]); err != nil {
		return Identity{}, fmt.Errorf("client: reading signing seed: %w", err)
	}
	if _, err := io.ReadFull(rand, ident.BoxPrivate[:]); err != nil {
		return Identity{}, fmt.Errorf("client: reading box key: %w", err)
	}
	return ident, nil
}

// signingKey expands the Ed25519 seed.
func (id Identity) signingKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(id.Seed[:]) }

// SignKey returns the Ed25519 public key that verifies this client's REQUESTs.
func (id Identity) SignKey() spec.PublicKey {
	var k spec.PublicKey
	copy(k[:], id.signingKey().Public().(ed25519.PublicKey))
	return k
}

// BoxKey returns the client's X25519 public key.
func (id Identity) BoxKey() spec.PublicKey { return x25519Base(id.BoxPrivate) }

// Registration returns the ClientConfig that registers this identity in a cluster
// configuration (SPEC.md §6).
func (id Identity) Registration() spec.ClientConfig {
	return spec.ClientConfig{ID: id.ID, SignKey: id.SignKey(), BoxKey: id.BoxKey()}
}
