package exec

import "github.com/splitbft/splitbft/spec"

// onConfigure handles configure (SPEC.md §8.1 F1–F3, F5 with §11.2 G1–G3). On
// acceptance the compartment is configured: view 0, the epoch's genesis certificate as
// stable checkpoint (h = StartSeq, §17.1), nothing executed (so an exec configured with
// StartSeq > 0 wants state transfer at once).
func (e *Exec) onConfigure(c *spec.Configure) uint64 {
	var cfg spec.Config
	if err := spec.Decode(c.Config, &cfg, spec.MaxMessageBytes); err != nil { // F1
		return spec.CodeBadConfig
	}
	if err := cfg.Validate(admitKey); err != nil { // F2
		return spec.CodeBadConfig
	}
	own := cfg.Enrollment(spec.RoleExec, e.replica) // F3
	if own == nil || !e.isOwn(&own.Body) {
		return spec.CodeBadConfig
	}
	g, ok := e.openShare(&cfg, c.Share) // F5
	if !ok {
		return spec.CodeBadShare
	}
	e.install(&cfg, g)
	return 0
}

// install sets up the configured state for cfg with group private key g.
func (e *Exec) install(cfg *spec.Config, g [keySize]byte) {
	e.configured = true
	e.cfg = cfg
	e.cd = spec.ConfigDigest(cfg)
	e.null = spec.NullBatchDigest()
	e.group = g
	e.groupPub = cfg.ExecGroupKey
	e.stKey = stateKey(&e.group, e.cd)
	e.ck = newCheckpoints()
	e.ck.h, e.ck.stableCert = cfg.StartSeq, cfg.GenesisCert()
	e.votes = map[uint64]*spec.EpochVote{}
	e.commits = map[uint64]map[uint64]*spec.Commit{}
	e.committed = map[uint64]spec.Digest{}
	e.batches = map[spec.Digest]*spec.Batch{}
	e.batchAge = map[spec.Digest]uint64{}
	e.table = map[uint64]*spec.ClientEntry{}
	e.snapshots = map[uint64]*heldSnapshot{}
}

// isOwn reports whether b names this enclave: its Role, Replica, SignKey and BoxKey
// (rule F3; the Build is deliberately not compared). False before Init.
func (e *Exec) isOwn(b *spec.EnrollmentBody) bool {
	return e.inited && b.Role == e.body.Role && b.Replica == e.body.Replica &&
		b.SignKey == e.body.SignKey && b.BoxKey == e.body.BoxKey
}

// quorum returns q = 2f + 1.
func (e *Exec) quorum() int { return e.cfg.Quorum() }

// key returns the Ed25519 key enrolled for role at replica r; r must be < n.
func (e *Exec) key(role spec.Role, r uint64) spec.PublicKey {
	return e.cfg.Enrollment(role, r).Body.SignKey
}
