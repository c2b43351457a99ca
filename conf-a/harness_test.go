package confa

import (
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// harness drives one configured Conf inside a fixture cluster: the shared
// fixture.Harness plus this package's view of the conf under test.
type harness struct {
	*fixture.Harness
	t    testing.TB
	seed uint64
	p    *Conf
	c    *fixture.Cluster
}

// defaultOpts is the cluster of most tests: n = 4, f = 1, K = 2, L = 8.
func defaultOpts(seed uint64) fixture.Options { return fixture.Options{Seed: seed} }

// newConf returns an initialised, unconfigured Conf for replica id and its enrollment.
func newConf(t testing.TB, seed, id uint64) (*Conf, spec.Enrollment) {
	t.Helper()
	p := New(fixture.NewReader(seed*1000 + id))
	return p, fixture.Enroll(t, seed, p, spec.RoleConf, id)
}

// newHarness returns a configured conf of replica id in a cluster shaped by opt.
func newHarness(t testing.TB, id uint64, opt fixture.Options) *harness {
	t.Helper()
	p, e := newConf(t, opt.Seed, id)
	h := wrap(t, opt.Seed, p, fixture.New(opt, e))
	h.Accept(h.c.Configure())
	return h
}

// wrap returns the harness of p in c, as it is (not configured).
func wrap(t testing.TB, seed uint64, p *Conf, c *fixture.Cluster) *harness {
	return &harness{Harness: fixture.NewHarness(t, seed, c, p), t: t, seed: seed, p: p, c: c}
}

// describe renders outputs for failure messages.
var describe = fixture.Describe

// ppIn and prIn return the input of a PRE-PREPARE or a PREPARE.
func ppIn(pp spec.PrePrepare) spec.Input { return fixture.In(spec.KindPrePrepare, &pp) }

func prIn(p spec.Prepare) spec.Input { return fixture.In(spec.KindPrepare, &p) }

func ptr[T any](v T) *T { return &v }

// dg and state return distinct test digests (batch digests and state digests).
func dg(b byte) spec.Digest { return spec.Digest{b, 0xd1} }

func state(b byte) spec.Digest { return spec.Digest{b, 0xcc} }

func genesis() spec.CheckpointCert { return spec.CheckpointCert{} }

// id returns the replica id of the conf under test.
func (h *harness) id() uint64 { return h.p.self.Replica }

func (h *harness) checkpoint(seq uint64, st spec.Digest, r uint64) spec.Input {
	return fixture.In(spec.KindCheckpoint, ptr(h.c.Checkpoint(seq, st, r)))
}

// suspectIn returns the suspect input for view.
func suspectIn(view uint64) spec.Input {
	return fixture.In(spec.KindSuspect, &spec.Suspect{View: view})
}

// prepared feeds the PRE-PREPARE and the PREPAREs of the backups rs for (view, seq,
// d) and returns the outputs of the last input.
func (h *harness) prepared(view, seq uint64, d spec.Digest, rs ...uint64) []spec.Output {
	h.t.Helper()
	outs := h.Accept(ppIn(h.c.PrePrepare(view, seq, d)))
	for _, r := range rs {
		outs = h.Accept(prIn(h.c.Prepare(view, seq, d, r)))
	}
	return outs
}

// commit decodes the single COMMIT among outs and checks its destination and
// signature.
func (h *harness) commit(outs []spec.Output) spec.Commit {
	h.t.Helper()
	o := h.Only(outs, spec.KindCommit)
	h.CheckTo(o, spec.ToExec)
	var cm spec.Commit
	h.Decode(o, &cm)
	if cm.Body.Replica != h.id() || !h.c.Verify(spec.RoleConf, h.id(), spec.DomainCommit, &cm.Body, cm.Sig) {
		h.Fatalf("commit %+v does not verify as ours", cm.Body)
	}
	return cm
}
