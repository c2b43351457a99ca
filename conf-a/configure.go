package confa

import (
	"github.com/splitbft/splitbft/spec"
)

// onConfigure handles configure (SPEC.md §8.1, F1–F4). On acceptance the view is 0
// and active, the stable checkpoint the genesis certificate, and every store empty.
func (c *Conf) onConfigure(m *spec.Configure) verdict {
	var cfg spec.Config
	// F1: the nested Config has the cap of the configure body (48 MiB, §8.1).
	if err := spec.Decode(m.Config, &cfg, spec.MaxMessageBytes); err != nil {
		return fail(spec.CodeBadConfig) // F1
	}
	if err := cfg.Validate(admitKey); err != nil {
		return fail(spec.CodeBadConfig) // F2
	}
	if !c.inited || !c.isOwnEnrollment(&cfg) {
		return fail(spec.CodeBadConfig) // F3
	}
	if len(m.Share) != 0 {
		return fail(spec.CodeBadConfig) // F4
	}
	c.configured, c.cfg, c.cd = true, &cfg, spec.ConfigDigest(&cfg)
	c.v, c.active, c.last = 0, true, 0
	c.cp = newCheckpoints()
	c.slots = map[uint64]*slot{}
	c.pset = map[uint64]*spec.PreparedCert{}
	return accept
}

// isOwnEnrollment reports whether cfg enrolls this enclave as the conf of its
// replica: same role, replica and signing key (F3; the build name is not compared, it
// is vouched for by the evidence, SPEC.md §7.3).
func (c *Conf) isOwnEnrollment(cfg *spec.Config) bool {
	e := cfg.Enrollment(spec.RoleConf, c.self.Replica)
	return e != nil && e.Body.Role == c.self.Role && e.Body.Replica == c.self.Replica &&
		e.Body.SignKey == c.self.SignKey && e.Body.BoxKey == c.self.BoxKey
}
