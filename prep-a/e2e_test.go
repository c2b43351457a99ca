package prepa

import (
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// TestFourPreps runs four real preps in one cluster: the primary proposes, the broker
// routes the proposal to the backups, each backup prepares the same slot; then a view
// change makes replica 1 primary, its NEW-VIEW is accepted by the others, and they
// prepare the re-proposed batch (SPEC.md §9.3–§9.7).
func TestFourPreps(t *testing.T) {
	seed := uint64(80)
	var preps []*Prep
	var enrs []spec.Enrollment
	for id := uint64(0); id < 4; id++ {
		p, e := newPrep(t, seed, id)
		preps, enrs = append(preps, p), append(enrs, e)
	}
	c := fixture.New(defaultOpts(seed), enrs...)
	hs := make([]*harness, 4)
	for i, p := range preps {
		hs[i] = wrap(t, seed, p, c)
		hs[i].Accept(c.Configure())
	}
	b := spec.Batch{Requests: []spec.Request{c.Request(10, 1, 2), c.Request(20, 7, 1)}}
	pr := hs[0].proposeAsPrimary(b)
	var certPrepares []spec.Prepare
	for _, h := range hs[1:] {
		o := h.Only(h.Accept(fixture.In(spec.KindProposal, &pr)), spec.KindPrepare)
		var p spec.Prepare
		h.Decode(o, &p)
		if p.Body.Seq != 1 || p.Body.Digest != pr.Header.Body.Digest || p.Body.View != 0 {
			h.Fatalf("prepare %+v", p.Body)
		}
		certPrepares = append(certPrepares, p)
	}
	cert := spec.PreparedCert{Header: pr.Header, Prepares: certPrepares[:2]}
	vcs := []spec.ViewChange{c.ViewChange(1, 0, genesis(), cert), c.ViewChange(1, 2, genesis()), c.ViewChange(1, 3, genesis())}
	var nvOut []spec.Output
	for _, vc := range vcs {
		nvOut = hs[1].Accept(vcIn(vc))
	}
	var nv spec.NewView
	hs[1].Decode(hs[1].Only(nvOut, spec.KindNewView), &nv)
	if len(nv.Body.PrePrepares) != 1 || nv.Body.PrePrepares[0].Body.Digest != pr.Header.Body.Digest {
		t.Fatalf("NEW-VIEW does not re-propose the prepared batch: %+v", nv.Body.PrePrepares)
	}
	for _, i := range []int{0, 2, 3} {
		o := hs[i].Only(hs[i].Accept(nvIn(nv)), spec.KindPrepare)
		var p spec.Prepare
		hs[i].Decode(o, &p)
		if p.Body != (spec.Slot{View: 1, Seq: 1, Digest: pr.Header.Body.Digest, Replica: uint64(i)}) {
			t.Fatalf("replica %d prepares %+v", i, p.Body)
		}
	}
	hs[1].Reject(nvIn(nv), spec.CodeNotPrimary, 0) // the new primary never takes a NEW-VIEW for its own view (W2)
	pr2 := hs[1].proposeAsPrimary(b)
	if pr2.Header.Body.View != 1 || pr2.Header.Body.Seq != 2 {
		t.Fatalf("new primary proposes %+v", pr2.Header.Body)
	}
	hs[3].Accept(fixture.In(spec.KindProposal, &pr2))
}
