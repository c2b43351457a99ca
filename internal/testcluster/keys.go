package testcluster

import (
	"crypto/ed25519"
	"fmt"
	"io"

	"golang.org/x/crypto/curve25519"

	"github.com/splitbft/splitbft/spec"
)

// Slot names one enclave of a cluster.
type Slot struct {
	Role    spec.Role
	Replica uint64
}

func (s Slot) String() string { return fmt.Sprintf("%s%d", spec.RoleName(s.Role), s.Replica) }

// Keys are one enclave's private keys.
type Keys struct {
	Sign ed25519.PrivateKey // Ed25519 signing key
	Box  [32]byte           // X25519 private key (exec only; zero otherwise)
}

// DeriveKeys reads the keys a conforming compartment of role generates from its
// randomness rand at Init (SPEC §3.5): 32 bytes of Ed25519 seed and, for exec, then
// 32 bytes of X25519 private key. Given the stream a compartment was built with, it
// yields that compartment's keys.
func DeriveKeys(rand io.Reader, role spec.Role) (Keys, error) {
	var seed [32]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return Keys{}, fmt.Errorf("testcluster: reading a signing seed: %w", err)
	}
	k := Keys{Sign: ed25519.NewKeyFromSeed(seed[:])}
	if role == spec.RoleExec {
		if _, err := io.ReadFull(rand, k.Box[:]); err != nil {
			return Keys{}, fmt.Errorf("testcluster: reading a box key: %w", err)
		}
	}
	return k, nil
}

// SignKey returns the Ed25519 public key.
func (k Keys) SignKey() spec.PublicKey { return edPublic(k.Sign) }

// BoxKey returns the X25519 public key of Box (the zero key for a non-exec enclave).
func (k Keys) BoxKey() spec.PublicKey {
	if k.Box == ([32]byte{}) {
		return spec.PublicKey{}
	}
	return X25519Base(k.Box)
}

// Enrollment returns the enrollment body of an enclave (role, replica) of build with
// these keys, as its Init returns it (SPEC §7.1).
func (k Keys) Enrollment(role spec.Role, replica uint64, build string) spec.EnrollmentBody {
	return spec.EnrollmentBody{Role: role, Replica: replica, Build: []byte(build), SignKey: k.SignKey(), BoxKey: k.BoxKey()}
}

// Client is a registered client's identity: the same fields, in the same order, as
// client.Identity, so client.Identity(c) converts it.
type Client struct {
	ID         uint64
	Seed       [32]byte // Ed25519 seed; signs REQUESTs
	BoxPrivate [32]byte // X25519 private key
}

// SignKey returns the client's Ed25519 public key.
func (c Client) SignKey() spec.PublicKey { return edPublic(ed25519.NewKeyFromSeed(c.Seed[:])) }

// Registration returns the client's entry in a configuration (SPEC §6).
func (c Client) Registration() spec.ClientConfig {
	return spec.ClientConfig{ID: c.ID, SignKey: c.SignKey(), BoxKey: X25519Base(c.BoxPrivate)}
}

// readClient reads a client's keys from rand: Ed25519 seed, then X25519 key (the order
// of client.NewIdentity).
func readClient(id uint64, rand io.Reader) (Client, error) {
	c := Client{ID: id}
	if _, err := io.ReadFull(rand, c.Seed[:]); err != nil {
		return Client{}, fmt.Errorf("testcluster: client %d: %w", id, err)
	}
	if _, err := io.ReadFull(rand, c.BoxPrivate[:]); err != nil {
		return Client{}, fmt.Errorf("testcluster: client %d: %w", id, err)
	}
	return c, nil
}

func edPublic(k ed25519.PrivateKey) spec.PublicKey {
	var p spec.PublicKey
	copy(p[:], k.Public().(ed25519.PublicKey))
	return p
}

// X25519Base returns the X25519 public key of priv. It panics only if X25519 fails on
// a 32-byte scalar and the base point, which it cannot.
func X25519Base(priv [32]byte) spec.PublicKey {
	pub, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err != nil {
		panic("testcluster: X25519 with the base point: " + err.Error())
	}
	var k spec.PublicKey
	copy(k[:], pub)
	return k
}
