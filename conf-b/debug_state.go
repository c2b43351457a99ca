package confb

import (
	"fmt"
	"sort"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// DebugState returns a deterministic text dump of the whole protocol state (not the
// private key), one fact per line, for tests and the simulator. Two Confirmations
// with equal dumps behave identically on every future input.
func (x *Confirmation) DebugState() string {
	var b strings.Builder
	fmt.Fprintf(&b, "build %s inited=%v replica=%d key=%x\n", Build, x.inited, x.self.Replica, x.self.SignKey)
	if x.cl == nil {
		b.WriteString("unconfigured\n")
		return b.String()
	}
	fmt.Fprintf(&b, "configured cd=%x n=%d f=%d K=%d L=%d\n", x.cl.cd, x.cl.n, x.cl.f, x.cl.k, x.cl.l)
	fmt.Fprintf(&b, "view=%d active=%v last=%d\n", x.view, x.active, x.last)
	writeCheckpoints(&b, &x.cps)
	for _, s := range sortedKeys(x.slots) {
		writeSlot(&b, s, x.slots[s])
	}
	for _, s := range sortedKeys(x.pset) {
		fmt.Fprintf(&b, "pset seq=%d cert=%x\n", s, spec.Encode(x.pset[s]))
	}
	return b.String()
}

// writeSlot dumps one slot: its PRE-PREPARE, PREPAREs by sender and commit flag.
func writeSlot(b *strings.Builder, s uint64, sl *slot) {
	fmt.Fprintf(b, "slot seq=%d committed=%v\n", s, sl.committed)
	if sl.prePrepare != nil {
		fmt.Fprintf(b, "  pre-prepare %x\n", spec.Encode(sl.prePrepare))
	}
	for _, r := range sortedKeys(sl.prepares) {
		fmt.Fprintf(b, "  prepare from=%d %x\n", r, spec.Encode(sl.prepares[r]))
	}
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
