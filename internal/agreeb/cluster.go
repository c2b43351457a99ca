package agreeb

import (
	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/spec"
)

// Cluster is an accepted configuration and the values derived from it. It is
// immutable once built by NewCluster: callers read its fields and never write them
// (prepKeys is a cache, safe for concurrent use, that never changes a verdict).
type Cluster struct {
	Cfg *spec.Config // valid by Config.Validate with AdmitKey (§8.1 F2)
	CD  spec.Digest  // ConfigDigest(Cfg)
	N   uint64       // number of replicas
	F   uint64       // faults tolerated per compartment type
	Q   uint64       // quorum 2F+1
	K   uint64       // checkpoint interval K ≥ 1
	L   uint64       // window L, a multiple of K, ≥ 2K

	// prepKeys are the prep enclaves' keys prepared for fast verification (one slot
	// per replica, at most 61,440 bytes each): PRE-PREPAREs and PREPAREs, nearly every
	// signature a b compartment verifies but the clients', are signed by them.
	prepKeys *edcrypto.Keys
}

// NewCluster derives the cluster values of cfg, which must be valid by
// Config.Validate with AdmitKey.
func NewCluster(cfg *spec.Config) *Cluster {
	return &Cluster{
		Cfg: cfg, CD: spec.ConfigDigest(cfg),
		N: cfg.N, F: cfg.F, Q: 2*cfg.F + 1,
		K: cfg.CheckpointInterval, L: cfg.Window,
		prepKeys: edcrypto.NewKeys(int(cfg.N)),
	}
}

// Primary returns primary(v) = v mod n.
func (c *Cluster) Primary(v uint64) uint64 { return v % c.N }

// SignKey returns the Ed25519 key enrolled for role at replica r; r must be < n.
func (c *Cluster) SignKey(role spec.Role, r uint64) spec.PublicKey {
	return c.Cfg.Enrollment(role, r).Body.SignKey
}

// Verify checks a signature by the enclave (role, r) on body under domain; r must
// be < n.
func (c *Cluster) Verify(role spec.Role, r uint64, domain string, body any, sig spec.Signature) bool {
	var keys *edcrypto.Keys
	if role == spec.RolePrep {
		keys = c.prepKeys
	}
	return verifySigWith(keys, int(r), c.SignKey(role, r), domain, c.CD, body, sig)
}

// AllReplicas returns a fresh slice of the ids 0..n−1, the replica list of a
// broadcast.
func (c *Cluster) AllReplicas() []uint64 {
	ids := make([]uint64, c.N)
	for i := range ids {
		ids[i] = uint64(i)
	}
	return ids
}
