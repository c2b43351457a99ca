package prepb

import (
	"github.com/splitbft/splitbft/spec"
)

// onConfigure applies lines F1–F4 of §8.1 and, on acceptance, installs the
// configuration: view 0, h = 0 with the genesis certificate, empty stores.
func (p *Preparation) onConfigure(m *spec.Configure) uint64 {
	cfg := new(spec.Config)
	if err := spec.Decode(m.Config, cfg, spec.MaxMessageBytes); err != nil { // F1
		return spec.CodeBadConfig
	}
	if err := cfg.Validate(admitKey); err != nil { // F2
		return spec.CodeBadConfig
	}
	if !p.inited || !sameEnrollment(cfg.Enrollment(spec.RolePrep, p.self.Replica), &p.self) { // F3
		return spec.CodeBadConfig
	}
	if len(m.Share) != 0 { // F4
		return spec.CodeBadConfig
	}
	p.cl = newCluster(cfg)
	p.view, p.seqHigh, p.nvHigh = 0, 0, 0
	p.accepted = map[uint64]spec.Digest{}
	p.vcs = map[uint64]*storedViewChange{}
	p.cps = newCheckpoints()
	return 0
}

// sameEnrollment reports whether e (possibly nil) enrolls this enclave: the same role,
// replica and keys. The build name is not compared (F3): the evidence vouches for it.
func sameEnrollment(e *spec.Enrollment, self *spec.EnrollmentBody) bool {
	if e == nil {
		return false
	}
	b := &e.Body
	return b.Role == self.Role && b.Replica == self.Replica && b.SignKey == self.SignKey && b.BoxKey == self.BoxKey
}
