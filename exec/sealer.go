package exec

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// This file is sealing the group key for the broker's storage (SPEC.md §11.2,
// "Sealing the group key"): the seal-key input, and unsealing a stored key at
// recover (rule RV5 of §17.8).

// Sealer seals and unseals the exec group private key for storage by the untrusted
// broker. Format is the spec.SealedGroupKey format it produces and the only one it
// opens. Seal and Unseal take the group public key G as additional data; Unseal
// returns an error for data it cannot open. Implementations are deterministic in
// what they accept and never panic on any data.
type Sealer interface {
	Format() uint64
	Seal(g, ad []byte) ([]byte, error)
	Unseal(data, ad []byte) ([]byte, error)
}

// WithSealer makes s seal the group key (seal-key) and open it (recover, RV5). The
// exec binary passes EGo's product-key sealer only after a self-report proved it runs
// inside an enclave (SPEC.md §11.2); without this option an Exec uses the insecure
// format 0, for an exec that is not in an enclave.
func WithSealer(s Sealer) Option {
	return func(e *Exec) { e.sealer = s }
}

// InsecureSealer is the format 0 sealer (spec.SealInsecure): Data is the group key
// itself, on the broker's disk in the clear. It is the default, for an exec outside
// an enclave only.
type InsecureSealer struct{}

// Format returns spec.SealInsecure.
func (InsecureSealer) Format() uint64 { return spec.SealInsecure }

// Seal returns a copy of g: there is nothing to seal with outside an enclave.
func (InsecureSealer) Seal(g, _ []byte) ([]byte, error) { return bytes.Clone(g), nil }

// Unseal returns a copy of data; the caller checks it against G.
func (InsecureSealer) Unseal(data, _ []byte) ([]byte, error) { return bytes.Clone(data), nil }

// onSealKey handles seal-key: it emits the group key sealed for the broker's storage
// and changes nothing. A sealer that fails inside an enclave is an environment
// failure, not an input problem: it panics, as a failing randomness source does.
func (e *Exec) onSealKey() uint64 {
	data, err := e.sealer.Seal(e.group[:], e.groupPub[:])
	if err != nil {
		panic("exec: sealing the group key failed: " + err.Error())
	}
	out := spec.SealedGroupKey{Format: e.sealer.Format(), Data: data}
	e.emit(spec.KindSealedKey, spec.Destination{}, spec.Encode(&out))
	return 0
}

// unsealGroup applies RV5 to sk for group public key G: the format this exec's
// sealer opens, 32 bytes, and X25519(g, basepoint) == G.
func (e *Exec) unsealGroup(sk *spec.SealedGroupKey, G spec.PublicKey) ([keySize]byte, bool) {
	var g [keySize]byte
	if sk.Format != e.sealer.Format() {
		return g, false
	}
	plain, err := e.sealer.Unseal(sk.Data, G[:])
	if err != nil || len(plain) != keySize {
		return g, false
	}
	copy(g[:], plain)
	return g, x25519Public(&g) == G
}
