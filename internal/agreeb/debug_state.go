package agreeb

import (
	"fmt"
	"sort"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// WriteDebugHeader writes the first lines of a compartment's deterministic state
// dump: the build and identity (not the private key), then "unconfigured" when cl
// is nil, else the cluster values. It reports whether cl is set, that is whether
// the caller should go on dumping its configured state.
func WriteDebugHeader(b *strings.Builder, id *Identity, cl *Cluster) bool {
	fmt.Fprintf(b, "build %s inited=%v replica=%d key=%x\n", id.profile.Name, id.inited, id.self.Replica, id.self.SignKey)
	if cl == nil {
		b.WriteString("unconfigured\n")
		return false
	}
	fmt.Fprintf(b, "configured cd=%x epoch=%d start=%d n=%d f=%d K=%d L=%d\n", cl.CD, cl.Cfg.Epoch, cl.Cfg.StartSeq, cl.N, cl.F, cl.K, cl.L)
	return true
}

// WriteDebug dumps h, the stable certificate and the checkpoint store, one fact per
// line in a deterministic order.
func (cp *Checkpoints) WriteDebug(b *strings.Builder) {
	fmt.Fprintf(b, "stable seq=%d state=%x proof=%x\n", cp.h, cp.stable.State, spec.Encode(&cp.stable))
	for _, r := range SortedKeys(cp.bySender) {
		for _, s := range SortedKeys(cp.bySender[r]) {
			c := cp.bySender[r][s]
			fmt.Fprintf(b, "checkpoint from=%d seq=%d state=%x sig=%x\n", r, s, c.Body.State, c.Sig)
		}
	}
}

// SortedKeys returns the keys of m in increasing order.
func SortedKeys[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
