package swarm

import (
	"crypto/ed25519"
	"fmt"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/spec"
)

// This file is proactive recovery as the simulated broker runs it (SPEC.md §17.6):
// a fresh instance is started next to a running correct enclave, admitted by §17.5,
// and takes over when the epoch that enrols it is certified; the old instance must
// then retire (§17.4 step 1). Unlike a restart, the slot stays correct throughout, so
// a rejuvenation does not count against f.

// freshInstance is a started instance waiting for its admission.
type freshInstance struct {
	inst *instance
	app  *recApp
	key  ed25519.PrivateKey
	box  [32]byte
	gen  uint64
}

// rejuvenate starts a fresh instance for the correct slot nd (one rejuvenation at a
// time in the cluster) and opens its admission.
func (s *sim) rejuvenate(nd *node) {
	for r := range s.nodes {
		for _, o := range s.nodes[r] {
			if o.fresh != nil {
				return
			}
		}
	}
	s.restarts++
	s.stats.Rejuvenations++
	nd.gen++
	seed := enclaveSeed(s.opt.Seed, nd.id.Role, nd.id.Replica, nd.gen)
	f := &freshInstance{gen: nd.gen}
	var app exec.Application
	if nd.id.Role == spec.RoleExec {
		f.app = newRecApp()
		app = f.app
	}
	f.inst = s.newInstance(nd.build, seed, app)
	f.inst.name = fmt.Sprintf("%s#%d", nd.id, nd.gen)
	raw, err := f.inst.initialize(spec.Encode(&spec.InitRequest{Role: nd.id.Role, Replica: nd.id.Replica, Challenge: s.cd}))
	var enr spec.Enrollment
	if err != nil || spec.Decode(raw, &enr, spec.MaxMessageBytes) != nil {
		s.fail("restart-isolation", "rejuvenated %s failed Init: %v", nd.id, err)
		return
	}
	f.key, f.box = enclaveKeys(seed)
	nd.fresh, nd.adm = f, newAdmission(enr, s.latest())
	s.admissions[nd.adm.digest] = nd.adm
	s.logf("  rejuvenate %s: generation %d started", nd.id, nd.gen)
}

// takeOver hands slot nd to its fresh instance, admitted in the latest epoch. The
// old instance, which the epoch change replaces, must retire: given the epoch change
// it accepts it, and it rejects the next input as retired (retirement oracle).
func (s *sim) takeOver(nd *node) {
	old, f := nd.inst, nd.fresh
	if nd.correct() && !old.dead {
		s.checkRetires(nd, old)
	}
	nd.inst, nd.key, nd.box, nd.fresh = f.inst, f.key, f.box, nil
	nd.twin, nd.twinApp, nd.byz, nd.mut = nil, nil, nil, nil
	if nd.id.Role == spec.RoleExec {
		nd.app, nd.shadow = f.app, newExecShadow()
	}
	nd.restarted, nd.epoch = true, 0 // not running until configured
	nd.status = spec.Status{Role: nd.id.Role, Replica: nd.id.Replica}
	nd.adm.admitted = true
	s.logf("  %s: generation %d takes over in epoch %d", nd.id, f.gen, s.cfg.Epoch)
	s.configureAdmitted(nd)
}

// checkRetires delivers the latest epoch change, then a replayed message, to the
// replaced instance: if it accepts the change (it was in the epoch before), it must
// reject the replay as retired.
func (s *sim) checkRetires(nd *node, old *instance) {
	ids := s.byKind[spec.KindEpochChange]
	var ec []byte
	for i := len(ids) - 1; i >= 0 && ec == nil; i-- {
		if m := &s.pool[ids[i]]; m.epoch == s.latest() {
			ec = m.body
		}
	}
	if ec == nil || nd.epoch+1 != s.latest() {
		return
	}
	probe := spec.Input{Kind: spec.KindSuspect, Body: spec.Encode(&spec.Suspect{View: nd.status.View})}
	if nd.id.Role == spec.RoleExec {
		probe = spec.Input{Kind: spec.KindStateRequest, Body: spec.Encode(&spec.StateRequest{Seq: nd.status.Stable, Replica: (nd.id.Replica + 1) % s.cfg.N})}
	} else if nd.id.Role == spec.RolePrep {
		probe = spec.Input{Kind: spec.KindClientBatch, Body: spec.Encode(&spec.Batch{})}
	}
	res, ok := s.plainStep(old, []spec.Input{{Kind: spec.KindEpochChange, Body: ec}, probe})
	if !ok {
		return
	}
	if res.codes[0] == 0 && res.codes[1] != spec.CodeRetired {
		s.fail("retirement", "%s accepted the epoch change that replaces it, then answered %s with code %d, not retired",
			nd.id, spec.KindName(probe.Kind), res.codes[1])
	}
	if res.codes[0] == 0 {
		s.stats.Retired++
	}
}
