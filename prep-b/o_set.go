package prepb

import (
	"bytes"

	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// newViewPlan is what §8.5 derives from the q VIEW-CHANGEs of a NEW-VIEW.
type newViewPlan struct {
	best *spec.ViewChange // the VIEW-CHANGE with the highest Stable.Seq, lowest replica id first
	minS uint64           // best.Body.Stable.Seq
	maxS uint64           // highest sequence number named anywhere in V, at least minS
	o    []spec.Slot      // PBFT's O: one entry per s in minS+1..maxS, increasing
}

// planNewView computes §8.5 for view w with primary p from valid VIEW-CHANGEs vs
// (sorted by replica id, non-empty). Validity bounds maxS − minS by L.
func planNewView(w, p uint64, vs []spec.ViewChange) newViewPlan {
	bi, minS := agreeb.StableBase(vs)
	plan := newViewPlan{best: &vs[bi], minS: minS, maxS: minS}
	type choice struct {
		view   uint64
		digest spec.Digest
	}
	chosen := map[uint64]choice{}
	for i := range vs {
		for j := range vs[i].Body.Prepared {
			h := &vs[i].Body.Prepared[j].Header.Body
			plan.maxS = max(plan.maxS, h.Seq)
			if h.Seq <= minS {
				continue
			}
			c, ok := chosen[h.Seq]
			if !ok || h.View > c.view || (h.View == c.view && bytes.Compare(h.Digest[:], c.digest[:]) < 0) {
				chosen[h.Seq] = choice{h.View, h.Digest}
			}
		}
	}
	null := spec.NullBatchDigest()
	for s := minS + 1; s <= plan.maxS && s > minS; s++ {
		d := null
		if c, ok := chosen[s]; ok {
			d = c.digest
		}
		plan.o = append(plan.o, spec.Slot{View: w, Seq: s, Digest: d, Replica: p})
	}
	return plan
}
