package prepa

import (
	"bytes"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// oSet is PBFT's O for a NEW-VIEW (SPEC.md §8.5), derived from q valid VIEW-CHANGEs.
type oSet struct {
	best  int         // index of the VIEW-CHANGE whose Stable is the NEW-VIEW's checkpoint
	minS  uint64      // that checkpoint's seq: the highest Stable.Seq
	maxS  uint64      // max(minS, every prepared seq); maxS - minS ≤ L for valid input
	slots []spec.Slot // Slot{w, s, d, primary(w)} for s = minS+1 .. maxS
}

// choice is the highest-view, then smallest, prepared digest seen for one seq.
type choice struct {
	view   uint64
	digest spec.Digest
}

// computeO derives O for view w from vcs: q ≥ 1 valid VIEW-CHANGEs sorted by replica
// id (V5 bounds every prepared seq by its Stable.Seq + L ≤ minS + L).
func computeO(cfg *spec.Config, w uint64, vcs []spec.ViewChange) oSet {
	o := oSet{best: agreea.BestStable(vcs)} // step 1: the lowest replica id attaining minS
	o.minS = vcs[o.best].Body.Stable.Seq
	o.maxS = o.minS
	chosen := map[uint64]choice{}
	for i := range vcs {
		for j := range vcs[i].Body.Prepared {
			h := &vcs[i].Body.Prepared[j].Header.Body
			o.maxS = max(o.maxS, h.Seq)
			c, seen := chosen[h.Seq]
			if !seen || h.View > c.view || (h.View == c.view && bytes.Compare(h.Digest[:], c.digest[:]) < 0) {
				chosen[h.Seq] = choice{view: h.View, digest: h.Digest}
			}
		}
	}
	for k := uint64(1); k <= o.maxS-o.minS; k++ {
		s := o.minS + k
		d := spec.NullBatchDigest()
		if c, ok := chosen[s]; ok {
			d = c.digest
		}
		o.slots = append(o.slots, spec.Slot{View: w, Seq: s, Digest: d, Replica: cfg.Primary(w)})
	}
	return o
}
