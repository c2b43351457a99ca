package prepa

import (
	"github.com/splitbft/splitbft/spec"
)

// onConfigure handles configure (SPEC.md §8.1, F1–F4). On acceptance the view is 0,
// the stable checkpoint the genesis certificate, and every store empty.
func (p *Prep) onConfigure(m *spec.Configure) verdict {
	var cfg spec.Config
	// F1: the nested Config has the cap of the configure body (48 MiB, §8.1).
	if err := spec.Decode(m.Config, &cfg, spec.MaxMessageBytes); err != nil {
		return fail(spec.CodeBadConfig) // F1
	}
	if err := cfg.Validate(admitKey); err != nil {
		return fail(spec.CodeBadConfig) // F2
	}
	if !p.inited || !p.isOwnEnrollment(&cfg) {
		return fail(spec.CodeBadConfig) // F3
	}
	if len(m.Share) != 0 {
		return fail(spec.CodeBadConfig) // F4
	}
	p.configured, p.cfg, p.cd = true, &cfg, spec.ConfigDigest(&cfg)
	p.v, p.seqHigh, p.lastNewView = 0, 0, 0
	p.cp = newCheckpoints()
	p.accepted = map[uint64]spec.Digest{}
	p.vcs = map[uint64]*storedViewChange{}
	return accept
}

// isOwnEnrollment reports whether cfg enrolls this enclave as the prep of its
// replica: same role, replica and signing key (F3; the build name is not compared, it
// is vouched for by the evidence, SPEC.md §7.3).
func (p *Prep) isOwnEnrollment(cfg *spec.Config) bool {
	e := cfg.Enrollment(spec.RolePrep, p.self.Replica)
	return e != nil && e.Body.Role == p.self.Role && e.Body.Replica == p.self.Replica &&
		e.Body.SignKey == p.self.SignKey && e.Body.BoxKey == p.self.BoxKey
}
