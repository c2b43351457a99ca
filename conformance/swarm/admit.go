package swarm

import (
	"crypto/ed25519"
	"slices"

	"golang.org/x/crypto/curve25519"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/spec"
)

// This file is the admission of a fresh enclave as the simulated brokers run it
// (SPEC.md §17.5): the restarted enclave's enrollment is given to the execs as input
// attest, their attestations are collected, and the swarm's admin client submits
// ConfigOp{Admit} as an ordinary request. The adversary also submits admissions that
// only 2f attestations support, one of them a Byzantine exec's, for an enclave it
// vouches for: a correct exec rejects them (AD3), the mutant admits them.

// admission is one enrollment on its way into the configuration.
type admission struct {
	enr       spec.Enrollment
	digest    spec.Digest                 // EnrollmentDigest(enr.Body)
	epoch     uint64                      // the epoch the attestations are collected in
	atts      map[uint64]spec.Attestation // valid under that epoch, by attesting replica
	submitted bool                        // the admin client's outstanding request carries it
	admitted  bool                        // the enrollment is in the latest configuration
	shares    []spec.GroupKeyShare        // exec: shares not yet tried
	bogus     bool                        // the adversary's, submitted with 2f attestations
}

func newAdmission(enr spec.Enrollment, e uint64) *admission {
	a := &admission{enr: enr, digest: spec.EnrollmentDigest(&enr.Body)}
	a.reset(e)
	return a
}

// reset starts collecting attestations anew in epoch e.
func (a *admission) reset(e uint64) {
	a.epoch, a.atts, a.submitted = e, map[uint64]spec.Attestation{}, false
}

// boxPublic returns the X25519 public key of private key priv.
func boxPublic(priv [32]byte) spec.PublicKey {
	var pub spec.PublicKey
	p, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err == nil {
		copy(pub[:], p)
	}
	return pub
}

// actAdmit moves an admission on: asks one more exec to attest a restarted enclave's
// enrollment or, with q attestations, submits it; sometimes it starts an admission
// that only 2f attestations (one a Byzantine exec's) support.
func (s *sim) actAdmit() {
	if s.rng.IntN(4) == 0 {
		s.bogusAdmission()
		return
	}
	var open []*admission
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			if nd.adm != nil && !nd.adm.admitted {
				open = append(open, nd.adm)
			}
		}
	}
	if len(open) > 0 {
		s.progressAdmission(open[s.rng.IntN(len(open))])
	}
}

// progressAdmission asks a random exec of the latest configuration that has not
// attested yet, or submits the admission once q execs have.
func (s *sim) progressAdmission(a *admission) {
	if a.epoch != s.latest() {
		a.reset(s.latest())
	}
	if len(a.atts) >= s.quorum() {
		s.submitAdmission(a, s.quorum())
		return
	}
	r := s.rng.Uint64N(s.cfg.N)
	if _, done := a.atts[r]; !done {
		s.askAttest(a, r)
	}
}

// askAttest gives the enrollment to replica r's exec as input attest.
func (s *sim) askAttest(a *admission, r uint64) {
	nd := s.nodes[r][spec.RoleExec]
	if nd.silenced || nd.restarted {
		return
	}
	d := delivery{msg: -1, to: nd.id, kind: spec.KindAttest, body: spec.Encode(&a.enr)}
	s.deliver(nd.id, []delivery{d})
}

// noteAttestation handles an attestation an exec emitted: one from a correct exec is
// recorded for the admission oracle; one that verifies under the latest epoch joins
// its admission.
func (s *sim) noteAttestation(nd *node, og origin, body []byte) {
	var at spec.Attestation
	if spec.Decode(body, &at, spec.MaxBodyBytes(spec.KindAttestation)) != nil {
		return
	}
	if og == fromCorrect {
		if at.Body.Replica != nd.id.Replica {
			s.fail("output-shape", "%s attested as replica %d", nd.id, at.Body.Replica)
			return
		}
		s.recordAttestation(s.epochs[nd.epoch].cd, at.Body.Enrollment, at.Body.Replica)
	}
	a := s.admissions[at.Body.Enrollment]
	if a == nil || a.epoch != s.latest() || at.Body.Replica >= s.cfg.N {
		return
	}
	key := s.cfg.Replicas[at.Body.Replica].Exec.Body.SignKey
	if ed25519.Verify(key[:], spec.SignedBytes(spec.DomainAttest, s.cd, spec.Encode(&at.Body)), at.Sig[:]) {
		a.atts[at.Body.Replica] = at
	}
}

// submitAdmission has the admin client submit ConfigOp{Admit: [a]} with k of its
// attestations (lowest replicas first), unless it has a request outstanding.
func (s *sim) submitAdmission(a *admission, k int) {
	c := s.admin
	if _, _, busy := c.sess.Outstanding(); busy || len(a.atts) < k {
		return
	}
	ids := make([]uint64, 0, len(a.atts))
	for r := range a.atts {
		ids = append(ids, r)
	}
	slices.Sort(ids)
	adm := spec.Admission{Enrollment: a.enr}
	for _, r := range ids[:k] {
		adm.Attestations = append(adm.Attestations, a.atts[r])
	}
	op := spec.Encode(&spec.ConfigOp{Tag: spec.ConfigOpTag, Admit: []spec.Admission{adm}})
	raw, ts, err := c.sess.Prepare([][]byte{op})
	if err != nil {
		s.fail("client-safety", "the admin client cannot submit an admission: %v", err)
		return
	}
	c.outOps, c.carrying, a.submitted = [][]byte{op}, a, true
	c.issued++
	s.requests = append(s.requests, request{raw: raw, client: c.id.ID, ts: ts})
	s.logf("  admin submits ts %d: admit %s%d with %d attestations", ts, spec.RoleName(a.enr.Body.Role), a.enr.Body.Replica, k)
}

// adminDone handles the completion of the admin client's request: an admission that
// did not make it into the configuration (its attestations went stale, or it was one
// of the adversary's) starts over or is dropped.
func (s *sim) adminDone() {
	a := s.admin.carrying
	s.admin.carrying = nil
	if a == nil {
		return
	}
	a.submitted = false
	if a.bogus {
		delete(s.admissions, a.digest)
	} else if !a.admitted {
		a.reset(s.latest())
	}
}

// bogusAdmission is the adversary vouching, with the key of a Byzantine exec of the
// latest configuration, for a fresh enclave in that exec's slot and submitting it
// with 2f attestations: the Byzantine ones and genuine ones of correct execs. Under
// MutantExecAdmitTwoF every non-Byzantine exec admits on 2f; the simulator models the
// broken threshold by completing the admission with one attestation signed by a key
// it holds (no correct exec emitted it, so the admission oracle counts f correct).
func (s *sim) bogusAdmission() {
	byz := s.byzExecs()
	if len(byz) == 0 || s.admin.carrying != nil {
		return
	}
	s.bogusCount++
	nd := byz[0]
	app := exec.Application(newRecApp())
	in := s.newInstance(nd.build, enclaveSeed(s.opt.Seed, spec.RoleExec, nd.id.Replica, 1<<32+s.bogusCount), app)
	raw, err := in.initialize(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: nd.id.Replica, Challenge: s.cd}))
	var enr spec.Enrollment
	if err != nil || spec.Decode(raw, &enr, spec.MaxMessageBytes) != nil {
		return
	}
	a := newAdmission(enr, s.latest())
	a.bogus = true
	s.admissions[a.digest] = a
	for _, b := range byz {
		body := spec.AttestationBody{Enrollment: a.digest, Replica: b.id.Replica}
		a.atts[b.id.Replica] = spec.Attestation{Body: body, Sig: s.sign(b.key, spec.DomainAttest, &body)}
	}
	twoF := int(2 * s.cfg.F)
	for _, r := range s.rng.Perm(int(s.cfg.N)) {
		if len(a.atts) < twoF && s.nodes[r][spec.RoleExec].correct() {
			s.askAttest(a, uint64(r))
		}
	}
	if len(a.atts) != twoF {
		delete(s.admissions, a.digest)
		return
	}
	if s.opt.Mutant == MutantExecAdmitTwoF {
		s.padAttestation(a)
	}
	s.logf("  adversary vouches for a fresh exec%d with %d attestations", nd.id.Replica, len(a.atts))
	s.submitAdmission(a, len(a.atts))
}

// openAdmissions returns the admissions of restarted enclaves that are not yet
// configured in the latest epoch.
func (s *sim) openAdmissions() []*admission {
	var out []*admission
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			if nd.adm != nil && nd.restarted {
				out = append(out, nd.adm)
			}
		}
	}
	return out
}

// fairAdmit is a correct broker's admission (liveness phase): every exec of the
// latest configuration is asked to attest, and the admission is submitted once q did.
func (s *sim) fairAdmit() {
	for _, a := range s.openAdmissions() {
		if a.admitted {
			continue // its epoch is certified; an exec waits for a share
		}
		if a.epoch != s.latest() {
			a.reset(s.latest())
		}
		for r := range s.cfg.N {
			if _, ok := a.atts[r]; !ok && len(a.atts) < s.quorum() {
				s.step++
				s.askAttest(a, r)
			}
		}
		if !a.submitted {
			s.submitAdmission(a, s.quorum())
		}
	}
}

// byzExecs returns the Byzantine execs the latest configuration enrols.
func (s *sim) byzExecs() []*node {
	var out []*node
	for r := range s.nodes {
		if nd := s.nodes[r][spec.RoleExec]; nd.byz != nil && !nd.silenced && enrolled(s.cfg, nd) {
			out = append(out, nd)
		}
	}
	return out
}
