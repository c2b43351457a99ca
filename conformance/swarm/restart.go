package swarm

import (
	"crypto/ed25519"
	"fmt"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/spec"
)

// actRestart restarts an enclave (SPEC.md §7.1, DESIGN §5): the broker kills it and
// starts a fresh one, which draws fresh randomness and so has new keys that are not
// in the configuration. A restarted slot counts against f for its role until it is
// admitted in a new epoch (§17.5; then it is correct again), so only a slot that is
// already faulty, or one of a role with spare budget, is restarted.
func (s *sim) actRestart() {
	if s.restarts >= s.p.Restarts {
		return
	}
	if s.rng.IntN(2) == 0 { // proactive recovery of a correct enclave
		var ok []*node
		for r := range s.nodes {
			for _, nd := range s.nodes[r] {
				if nd.correct() && nd.fresh == nil && nd.adm == nil {
					ok = append(ok, nd)
				}
			}
		}
		if len(ok) > 0 {
			s.rejuvenate(ok[s.rng.IntN(len(ok))])
		}
		return
	}
	var cands []*node
	for r := range s.nodes {
		for role, nd := range s.nodes[r] {
			if !nd.correct() || s.faulty(spec.Role(role)) < int(s.p.F) {
				cands = append(cands, nd)
			}
		}
	}
	if len(cands) > 0 {
		s.restart(cands[s.rng.IntN(len(cands))])
	}
}

// faulty counts the Byzantine and restarted slots of a role.
func (s *sim) faulty(role spec.Role) int {
	n := 0
	for r := range s.nodes {
		if !s.nodes[r][role].correct() {
			n++
		}
	}
	return n
}

// restart replaces nd's enclave by a fresh one of the same build, started for the
// latest epoch (Init's Challenge is its digest). The new enclave must refuse the
// cluster's configuration (its key is not enrolled, rule F3). Then, mostly, its
// admission starts (admit.go); sometimes the malicious broker instead configures it
// with a forked configuration enrolling its new keys, so that it runs and signs — and
// every message it signs must be rejected by correct compartments (checkIsolation);
// such an enclave can never be admitted (it is configured), only restarted again.
func (s *sim) restart(nd *node) {
	s.restarts++
	s.stats.Restarts++
	nd.gen++
	seed := enclaveSeed(s.opt.Seed, nd.id.Role, nd.id.Replica, nd.gen)
	var app exec.Application
	if nd.id.Role == spec.RoleExec {
		nd.app = newRecApp()
		app = nd.app
	}
	in := s.newInstance(nd.build, seed, app)
	in.name = fmt.Sprintf("%s#%d", nd.id, nd.gen)
	raw, err := in.initialize(spec.Encode(&spec.InitRequest{Role: nd.id.Role, Replica: nd.id.Replica, Challenge: s.cd}))
	var enr spec.Enrollment
	if err != nil || spec.Decode(raw, &enr, spec.MaxMessageBytes) != nil {
		s.fail("restart-isolation", "restarted %s failed Init: %v", nd.id, err)
		return
	}
	old := nd.key
	nd.inst, nd.twin, nd.twinApp, nd.byz, nd.mut, nd.restarted, nd.adm, nd.fresh = in, nil, nil, nil, nil, true, nil, nil
	nd.key, nd.box = enclaveKeys(seed)
	nd.shadow = nil
	if nd.id.Role == spec.RoleExec {
		nd.shadow = newExecShadow()
	}
	if string(enr.Body.SignKey[:]) == string(old.Public().(ed25519.PublicKey)) {
		s.fail("restart-isolation", "restarted %s has its predecessor's signing key", nd.id)
		return
	}
	s.logf("  restart %s (generation %d)", nd.id, nd.gen)
	if !s.refuses(nd) {
		return
	}
	nd.status = spec.Status{Role: nd.id.Role, Replica: nd.id.Replica}
	if s.rng.IntN(4) == 0 {
		s.configureForked(nd, enr.Body)
	} else {
		nd.adm = newAdmission(enr, s.latest())
		s.admissions[nd.adm.digest] = nd.adm
	}
	s.checkBudget()
}

// refuses offers the latest configuration to a restarted enclave, which must refuse
// it (F3: its fresh keys are not enrolled); it reports whether it did.
func (s *sim) refuses(nd *node) bool {
	real := spec.Configure{Config: spec.Encode(s.cfg)} // no share: F3 fails first anyway
	out, _, ok := s.runInstance(nd.inst, []spec.Input{{Kind: spec.KindConfigure, Body: spec.Encode(&real)}})
	if !ok {
		return false
	}
	if st, ok := lastStatus(out.Outputs); !ok || st.Configured {
		s.fail("restart-isolation", "restarted %s accepted the cluster configuration with fresh keys", nd.id)
		return false
	}
	return true
}

// configureForked configures a restarted enclave with a forked configuration that
// enrols its new keys.
func (s *sim) configureForked(nd *node, enr spec.EnrollmentBody) {
	s.logf("  %s runs in a forked configuration", nd.id)
	fork := *s.cfg
	fork.Replicas = append([]spec.ReplicaConfig(nil), s.cfg.Replicas...)
	fork.Replicas[nd.id.Replica].Slot(nd.id.Role).Body = enr
	var share []spec.GroupKeyShare
	if nd.id.Role == spec.RoleExec {
		share = s.dealOwn(nd, enr)
		if share == nil {
			return
		}
		fork.ExecGroupKey = share[0].GroupKey
	}
	if fork.Validate(broker.AdmitKey) != nil {
		return
	}
	c := spec.Configure{Config: spec.Encode(&fork), Share: share}
	if out, _, ok := s.runInstance(nd.inst, []spec.Input{{Kind: spec.KindConfigure, Body: spec.Encode(&c)}}); ok {
		if st, ok := lastStatus(out.Outputs); ok {
			nd.status = st
		}
	}
}

// dealOwn has a restarted exec deal itself a new group key (it cannot learn the
// cluster's): a share for its forked configuration.
func (s *sim) dealOwn(nd *node, enr spec.EnrollmentBody) []spec.GroupKeyShare {
	deal := spec.GroupKeyDeal{Execs: []spec.EnrollmentBody{enr}}
	out, _, ok := s.runInstance(nd.inst, []spec.Input{{Kind: spec.KindGroupKeyDeal, Body: spec.Encode(&deal)}})
	if !ok {
		return nil
	}
	for _, o := range out.Outputs {
		var gs spec.GroupKeyShares
		if o.Kind == spec.KindGroupKeyShares && spec.Decode(o.Body, &gs, spec.MaxBodyBytes(o.Kind)) == nil && len(gs.Shares) == 1 {
			return gs.Shares
		}
	}
	return nil
}

// restartedStep runs a restarted enclave (or one out of the configuration); what it
// emits goes into the pool marked as such.
func (s *sim) restartedStep(nd *node, inputs []spec.Input) {
	out, raw, ok := s.runInstance(nd.inst, inputs)
	if !ok {
		return
	}
	s.scanSecret(nd, raw)
	if nd.app != nil {
		nd.app.take()
	}
	if st, ok := lastStatus(out.Outputs); ok {
		nd.status = st
	}
	s.logStep(nd, inputs, nil)
	og := fromRestarted
	if nd.retired { // keys valid in the epochs before it was replaced: held to nothing, like a Byzantine one
		og = fromByzantine
	}
	s.routeOutputs(nd, og, out.Outputs)
}
