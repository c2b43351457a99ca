package exec_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/spec"
)

// This file checks every accept rule of admissions (AD1–AD3, as results), epoch votes
// (EV1–EV3), epoch changes (EC1–EC4) and attest (AT1–AT3): each rejected with its code
// and no state change (SPEC.md §17).

// TestAdmissionRules: AD1–AD3 and the candidate check, as config operation results.
func TestAdmissionRules(t *testing.T) {
	c := newCluster(t, 45, defaultParams())
	rnd := rand.NewChaCha8(seedBytes("adm/%d", c.seed))
	enr := spec.Enrollment{Body: enrollmentBody(rnd, spec.RoleExec, 3, exec.BuildName)}
	good := c.admission(enr, 0, 1, 2)
	with := func(edit func(*spec.EnrollmentBody)) spec.Admission {
		e := spec.Enrollment{Body: enr.Body}
		edit(&e.Body)
		return c.admission(e, 0, 1, 2)
	}
	atts := func(edit func([]spec.Attestation) []spec.Attestation) spec.Admission {
		a := c.admission(enr, 0, 1, 2)
		a.Attestations = edit(a.Attestations)
		return a
	}
	unaccepted := spec.Enrollment{Body: enrollmentBody(rnd, spec.RolePrep, 1, "prep-z")}
	cases := []struct {
		name string
		op   *spec.ConfigOp
		code uint64
	}{
		{"AD1 role 3", admitOp(with(func(b *spec.EnrollmentBody) { b.Role = 3 })), spec.CodeBadConfig},
		{"AD1 replica 4", admitOp(with(func(b *spec.EnrollmentBody) { b.Replica = 4 })), spec.CodeBadConfig},
		{"AD1 build name", admitOp(with(func(b *spec.EnrollmentBody) { b.Build = []byte("Exec!") })), spec.CodeBadConfig},
		{"AD1 exec without box key", admitOp(with(func(b *spec.EnrollmentBody) { b.BoxKey = spec.PublicKey{} })), spec.CodeBadConfig},
		{"AD1 prep with box key", admitOp(with(func(b *spec.EnrollmentBody) { b.Role = spec.RolePrep })), spec.CodeBadConfig},
		{"AD2 sign key of exec 2", admitOp(with(func(b *spec.EnrollmentBody) { b.SignKey = c.cfg.Replicas[2].Exec.Body.SignKey })), spec.CodeDuplicate},
		{"AD2 box key of a client", admitOp(with(func(b *spec.EnrollmentBody) { b.BoxKey = c.cfg.Clients[1].BoxKey })), spec.CodeDuplicate},
		{"AD2 group key", admitOp(with(func(b *spec.EnrollmentBody) { b.BoxKey = c.cfg.ExecGroupKey })), spec.CodeDuplicate},
		{"AD2 twice in one operation", admitOp(good, good), spec.CodeDuplicate},
		{"AD3 two attestations", admitOp(atts(func(a []spec.Attestation) []spec.Attestation { return a[:2] })), spec.CodeBadCertificate},
		{"AD3 one replica twice", admitOp(atts(func(a []spec.Attestation) []spec.Attestation { return append(a[:2], a[0]) })), spec.CodeBadCertificate},
		{"AD3 replica 4", admitOp(atts(func(a []spec.Attestation) []spec.Attestation { a[2].Body.Replica = 4; return a })), spec.CodeBadCertificate},
		{"AD3 another enrollment", admitOp(atts(func(a []spec.Attestation) []spec.Attestation {
			a[1] = c.attestation(1, &unaccepted.Body)
			return a
		})), spec.CodeBadCertificate},
		{"AD3 bad signature", admitOp(atts(func(a []spec.Attestation) []spec.Attestation { a[0].Sig[3] ^= 4; return a })), spec.CodeBadCertificate},
		{"AD3 signed by another exec", admitOp(atts(func(a []spec.Attestation) []spec.Attestation { a[0].Body.Replica = 3; return a })), spec.CodeBadCertificate},
		{"candidate: build not accepted", admitOp(c.admission(unaccepted, 0, 1, 2)), spec.CodeBadConfig},
	}
	c.runConfigOpCases(t, cases)
	outs := c.order(0, uint64(len(cases)+1), c.configOpRequest(c.clients[0], admitOp(good)))
	c.wantResult(t, outs, accepted(1))
	if len(ofKind(outs, spec.KindEpochVote)) != 1 {
		t.Fatalf("no vote after the accepted admission:%s", describe(outs))
	}
}

// TestEpochVoteRules: EV1–EV3.
func TestEpochVoteRules(t *testing.T) {
	c := newCluster(t, 46, defaultParams())
	x := c.execs[0]
	next := spec.Digest{9}
	v := c.vote(1, next)
	far := c.vote(1, next)
	far.Body.Replica = 4
	bad := c.vote(2, next)
	bad.Sig[0] ^= 1
	forged := c.vote(2, next)
	forged.Body.Replica = 3
	expectReject(t, x, in(spec.KindEpochVote, &far), spec.CodeUnknownSender)   // EV1
	expectReject(t, x, in(spec.KindEpochVote, &bad), spec.CodeBadSignature)    // EV2
	expectReject(t, x, in(spec.KindEpochVote, &forged), spec.CodeBadSignature) // EV2: another exec's key
	expectAccept(t, x, in(spec.KindEpochVote, &v))
	expectReject(t, x, in(spec.KindEpochVote, &v), spec.CodeDuplicate) // EV3
	// Another vote replaces the sender's one; then the first is no duplicate.
	other := c.vote(1, spec.Digest{8})
	expectAccept(t, x, in(spec.KindEpochVote, &other))
	expectAccept(t, x, in(spec.KindEpochVote, &v))
}

// TestEpochChangeRules: EC1–EC4 at an exec that did not vote, then a valid epoch
// change adopted without the snapshot (state transfer wanted), then EC3's StartSeq ≥ h.
func TestEpochChangeRules(t *testing.T) {
	c := newCluster(t, 47, defaultParams())
	x := c.execs[1]
	st := spec.Digest{5, 5}
	good := c.successor(5, st, nil)
	ec := func(edit func(*spec.Config)) *spec.EpochChange {
		m := c.epochChange(c.successor(5, st, edit), 0, 1, 2)
		return &m
	}
	votes := func(edit func(*spec.EpochChange)) *spec.EpochChange {
		m := c.epochChange(good, 0, 1, 2)
		edit(&m)
		return &m
	}
	cases := []struct {
		name string
		ec   *spec.EpochChange
		code uint64
	}{
		{"EC1 not a config", &spec.EpochChange{Config: []byte{0x80}}, spec.CodeBadConfig},
		{"EC1 invalid config", ec(func(n *spec.Config) { n.Threshold = 1 }), spec.CodeBadConfig},
		{"EC2 epoch 2", ec(func(n *spec.Config) { n.Epoch = 2 }), spec.CodeStale},
		{"EC2 another predecessor", ec(func(n *spec.Config) { n.Prev = spec.Digest{1} }), spec.CodeStale},
		{"EC3 another name", ec(func(n *spec.Config) { n.Name = []byte("other") }), spec.CodeBadConfig},
		{"EC3 another K", ec(func(n *spec.Config) { n.CheckpointInterval = 5 }), spec.CodeBadConfig},
		{"EC3 another window", ec(func(n *spec.Config) { n.Window = 80 }), spec.CodeBadConfig},
		{"EC4 two votes", votes(func(m *spec.EpochChange) { m.Votes = m.Votes[:2] }), spec.CodeBadCertificate},
		{"EC4 four votes", votes(func(m *spec.EpochChange) { m.Votes = append(m.Votes, c.vote(3, spec.ConfigDigest(good))) }), spec.CodeBadCertificate},
		{"EC4 unsorted", votes(func(m *spec.EpochChange) { m.Votes[0], m.Votes[1] = m.Votes[1], m.Votes[0] }), spec.CodeBadCertificate},
		{"EC4 replica 4", votes(func(m *spec.EpochChange) { m.Votes[2].Body.Replica = 4 }), spec.CodeBadCertificate},
		{"EC4 vote for another config", votes(func(m *spec.EpochChange) { m.Votes[1] = c.vote(1, spec.Digest{3}) }), spec.CodeBadCertificate},
		{"EC4 bad signature", votes(func(m *spec.EpochChange) { m.Votes[2].Sig[9] ^= 1 }), spec.CodeBadCertificate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectReject(t, x, in(spec.KindEpochChange, tc.ec), tc.code) })
	}
	adopt := c.epochChange(good, 0, 1, 2)
	if s := status(t, expectAccept(t, x, in(spec.KindEpochChange, &adopt))); s.Stable != 5 || s.Last != 0 || !s.NeedState {
		t.Fatalf("after adopting an epoch starting at 5 without its snapshot: %+v", s)
	}
	expectReject(t, x, in(spec.KindEpochChange, &adopt), spec.CodeStale) // EC2: already in epoch 1
	c.setConfig(good)
	low := c.epochChange(c.successor(3, st, nil), 0, 1, 2)
	expectReject(t, x, in(spec.KindEpochChange, &low), spec.CodeBadConfig) // EC3: StartSeq < h
	same := c.epochChange(c.successor(5, st, nil), 0, 1, 2)
	expectReject(t, x, in(spec.KindEpochChange, &same), spec.CodeBadConfig) // EC3: an epoch ends after a batch of its own
	ok := c.epochChange(c.successor(6, st, nil), 0, 1, 2)
	expectAccept(t, x, in(spec.KindEpochChange, &ok)) // above the epoch's start and h
}

// TestAttestRules: AT1–AT3 with the default evidence check (no report verifier).
func TestAttestRules(t *testing.T) {
	c := newCluster(t, 48, defaultParams())
	rnd := rand.NewChaCha8(seedBytes("att/%d", c.seed))
	x := c.execs[2]
	fresh := spec.Enrollment{Body: enrollmentBody(rnd, spec.RoleConf, 1, "conf-t")}
	with := func(edit func(*spec.Enrollment)) *spec.Enrollment {
		e := spec.Enrollment{Body: fresh.Body}
		edit(&e)
		return &e
	}
	cases := []struct {
		name string
		enr  *spec.Enrollment
		code uint64
	}{
		{"AT1 role 3", with(func(e *spec.Enrollment) { e.Body.Role = 3 }), spec.CodeBadConfig},
		{"AT1 replica 4", with(func(e *spec.Enrollment) { e.Body.Replica = 4 }), spec.CodeBadConfig},
		{"AT1 empty build", with(func(e *spec.Enrollment) { e.Body.Build = nil }), spec.CodeBadConfig},
		{"AT1 conf with box key", with(func(e *spec.Enrollment) { e.Body.BoxKey = spec.PublicKey{7} }), spec.CodeBadConfig},
		{"AT2 key of conf 1", with(func(e *spec.Enrollment) { e.Body.SignKey = c.cfg.Replicas[1].Conf.Body.SignKey }), spec.CodeDuplicate},
		{"AT2 the enrolled conf 1", &c.cfg.Replicas[1].Conf, spec.CodeDuplicate},
		{"AT3 build not accepted", with(func(e *spec.Enrollment) { e.Body.Build = []byte("conf-z") }), spec.CodeBadEvidence},
		{"AT3 dev-insecure with data", with(func(e *spec.Enrollment) { e.Evidence.Data = []byte{1} }), spec.CodeBadEvidence},
		{"AT3 ego-sgx without a verifier", with(func(e *spec.Enrollment) {
			e.Evidence = spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte("report")}
		}), spec.CodeBadEvidence},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectReject(t, x, in(spec.KindAttest, tc.enr), tc.code) })
	}
	if a := ofKind(expectAccept(t, x, in(spec.KindAttest, &fresh)), spec.KindAttestation); len(a) != 1 {
		t.Fatalf("no attestation")
	}
}

// TestAttestInjectedCheck: an EvidenceCheck given to New decides AT3 and gets the
// current configuration digest as the challenge.
func TestAttestInjectedCheck(t *testing.T) {
	c := newCluster(t, 51, defaultParams())
	rnd := rand.NewChaCha8(seedBytes("inj/%d", c.seed))
	ego := &spec.Enrollment{Body: enrollmentBody(rnd, spec.RoleConf, 1, "conf-t"),
		Evidence: spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte("report")}}
	var gotChallenge spec.Digest
	refuse := true
	check := func(e *spec.Enrollment, cfg *spec.Config, ch spec.Digest) error {
		gotChallenge = ch
		if refuse {
			return errors.New("report does not verify")
		}
		return nil
	}
	y, enr := c.freshExec(2, 7, exec.WithEvidenceCheck(check))
	c.execs[2], c.enr[2] = y, enr // a cluster with y as exec 2: only y is stepped
	c.execBox[2] = nil
	c.cfg.Replicas[2].Exec = enr
	c.setConfig(c.cfg)
	c.shares[2] = c.forgeShare(0, 2, c.g)
	c.configure(2)
	expectReject(t, y, in(spec.KindAttest, ego), spec.CodeBadEvidence)
	if gotChallenge != c.cd {
		t.Fatalf("evidence check got challenge %x, want the configuration digest %x", gotChallenge, c.cd)
	}
	refuse = false
	expectAccept(t, y, in(spec.KindAttest, ego))
}
