package prepb

import "github.com/splitbft/splitbft/spec"

// cluster is the accepted configuration and the values derived from it. It is
// immutable once built by configure.
type cluster struct {
	cfg *spec.Config // valid by Config.Validate with admitKey (§8.1 F2)
	cd  spec.Digest  // ConfigDigest(cfg)
	n   uint64       // number of replicas
	f   uint64       // faults tolerated per compartment type
	q   uint64       // quorum 2f+1
	k   uint64       // checkpoint interval K ≥ 1
	l   uint64       // window L, a multiple of K, ≥ 2K
}

// newCluster derives the cluster values of a validated configuration.
func newCluster(cfg *spec.Config) *cluster {
	return &cluster{
		cfg: cfg, cd: spec.ConfigDigest(cfg),
		n: cfg.N, f: cfg.F, q: 2*cfg.F + 1,
		k: cfg.CheckpointInterval, l: cfg.Window,
	}
}

// primary returns primary(v) = v mod n.
func (c *cluster) primary(v uint64) uint64 { return v % c.n }

// signKey returns the Ed25519 key enrolled for role at replica r; r must be < n.
func (c *cluster) signKey(role spec.Role, r uint64) spec.PublicKey {
	return c.cfg.Enrollment(role, r).Body.SignKey
}

// verify checks a signature by the enclave (role, r) on body under domain; r must
// be < n.
func (c *cluster) verify(role spec.Role, r uint64, domain string, body any, sig spec.Signature) bool {
	return verifySig(c.signKey(role, r), domain, c.cd, body, sig)
}

// allReplicas returns the ids 0..n−1, the replica list of a broadcast.
func (c *cluster) allReplicas() []uint64 {
	ids := make([]uint64, c.n)
	for i := range ids {
		ids[i] = uint64(i)
	}
	return ids
}
