package prepb

import (
	"fmt"
	"sort"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// DebugState returns a deterministic text dump of the whole protocol state (not the
// private key), one fact per line, for tests and the simulator. Two Preparations
// with equal dumps behave identically on every future input.
func (p *Preparation) DebugState() string {
	var b strings.Builder
	fmt.Fprintf(&b, "build %s inited=%v replica=%d key=%x\n", Build, p.inited, p.self.Replica, p.self.SignKey)
	if p.cl == nil {
		b.WriteString("unconfigured\n")
		return b.String()
	}
	fmt.Fprintf(&b, "configured cd=%x n=%d f=%d K=%d L=%d\n", p.cl.cd, p.cl.n, p.cl.f, p.cl.k, p.cl.l)
	fmt.Fprintf(&b, "view=%d seqHigh=%d nvHigh=%d\n", p.view, p.seqHigh, p.nvHigh)
	writeCheckpoints(&b, &p.cps)
	for _, s := range sortedKeys(p.accepted) {
		fmt.Fprintf(&b, "accepted seq=%d digest=%x\n", s, p.accepted[s])
	}
	for _, r := range sortedKeys(p.vcs) {
		fmt.Fprintf(&b, "view-change from=%d view=%d enc=%x\n", r, p.vcs[r].vc.Body.View, p.vcs[r].sum)
	}
	return b.String()
}

// writeCheckpoints dumps h, the stable certificate and the checkpoint store.
func writeCheckpoints(b *strings.Builder, cp *checkpoints) {
	fmt.Fprintf(b, "stable seq=%d state=%x proof=%x\n", cp.h, cp.stable.State, spec.Encode(&cp.stable))
	for _, r := range sortedKeys(cp.bySender) {
		for _, s := range sortedKeys(cp.bySender[r]) {
			c := cp.bySender[r][s]
			fmt.Fprintf(b, "checkpoint from=%d seq=%d state=%x sig=%x\n", r, s, c.Body.State, c.Sig)
		}
	}
}

// sortedKeys returns the keys of m in increasing order.
func sortedKeys[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
