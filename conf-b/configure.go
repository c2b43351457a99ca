package confb

import (
	"github.com/splitbft/splitbft/spec"
)

// onConfigure applies lines F1–F4 of §8.1 and, on acceptance, installs the
// configuration: view 0 and active, h = 0 with the genesis certificate, empty stores.
func (x *Confirmation) onConfigure(m *spec.Configure) uint64 {
	cfg := new(spec.Config)
	if err := spec.Decode(m.Config, cfg, spec.MaxMessageBytes); err != nil { // F1
		return spec.CodeBadConfig
	}
	if err := cfg.Validate(admitKey); err != nil { // F2
		return spec.CodeBadConfig
	}
	if !x.inited || !sameEnrollment(cfg.Enrollment(spec.RoleConf, x.self.Replica), &x.self) { // F3
		return spec.CodeBadConfig
	}
	if len(m.Share) != 0 { // F4
		return spec.CodeBadConfig
	}
	x.cl = newCluster(cfg)
	x.view, x.active, x.last = 0, true, 0
	x.slots = map[uint64]*slot{}
	x.pset = map[uint64]*spec.PreparedCert{}
	x.cps = newCheckpoints()
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
