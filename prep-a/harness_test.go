package prepa

import (
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// harness drives one configured Prep inside a fixture cluster: the shared
// fixture.Harness plus this package's view of the prep under test.
type harness struct {
	*fixture.Harness
	t    testing.TB
	seed uint64
	p    *Prep
	c    *fixture.Cluster
}

// defaultOpts is the cluster of most tests: n = 4, f = 1, K = 2, L = 8.
func defaultOpts(seed uint64) fixture.Options { return fixture.Options{Seed: seed} }

// newPrep returns an initialised, unconfigured Prep for replica id and its enrollment.
func newPrep(t testing.TB, seed, id uint64) (*Prep, spec.Enrollment) {
	t.Helper()
	p := New(fixture.NewReader(seed*1000 + id))
	return p, fixture.Enroll(t, seed, p, spec.RolePrep, id)
}

// newHarness returns a configured prep of replica id in a cluster shaped by opt.
func newHarness(t testing.TB, id uint64, opt fixture.Options) *harness {
	t.Helper()
	p, e := newPrep(t, opt.Seed, id)
	h := wrap(t, opt.Seed, p, fixture.New(opt, e))
	h.Accept(h.c.Configure())
	return h
}

// wrap returns the harness of p in c, as it is (not configured).
func wrap(t testing.TB, seed uint64, p *Prep, c *fixture.Cluster) *harness {
	return &harness{Harness: fixture.NewHarness(t, seed, c, p), t: t, seed: seed, p: p, c: c}
}

// describe renders outputs for failure messages.
var describe = fixture.Describe

// batch returns a batch of one valid request per given client timestamp.
func (h *harness) batch(tss ...uint64) spec.Batch {
	var b spec.Batch
	for _, ts := range tss {
		b.Requests = append(b.Requests, h.c.Request(10, ts, 1))
	}
	return b
}

// proposeAsPrimary feeds a client batch to the harness prep (a primary) and returns
// the decoded proposal.
func (h *harness) proposeAsPrimary(b spec.Batch) spec.Proposal {
	h.t.Helper()
	o := h.Only(h.Accept(fixture.In(spec.KindClientBatch, &b)), spec.KindProposal)
	var pr spec.Proposal
	h.Decode(o, &pr)
	return pr
}

// prepareAsBackup feeds a valid proposal and returns the decoded PREPARE.
func (h *harness) prepareAsBackup(view, seq uint64, b spec.Batch) spec.Prepare {
	h.t.Helper()
	pr := h.c.Proposal(view, seq, b)
	o := h.Only(h.Accept(fixture.In(spec.KindProposal, &pr)), spec.KindPrepare)
	var p spec.Prepare
	h.Decode(o, &p)
	return p
}

func ptr[T any](v T) *T { return &v }

// dg and state return distinct test digests (batch digests and state digests).
func dg(b byte) spec.Digest { return spec.Digest{b, 0xd1} }

func state(b byte) spec.Digest { return spec.Digest{b, 0xcc} }

// genesis returns the genesis checkpoint certificate.
func genesis() spec.CheckpointCert { return spec.CheckpointCert{} }
