package confb

import (
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// DebugState returns a deterministic text dump of the whole protocol state (not the
// private key), one fact per line, for tests and the simulator. Two Confirmations
// with equal dumps behave identically on every future input.
func (x *Confirmation) DebugState() string {
	var b strings.Builder
	if !agreeb.WriteDebugHeader(&b, &x.id, x.cl) {
		return b.String()
	}
	fmt.Fprintf(&b, "retired=%v view=%d active=%v last=%d\n", x.retired, x.view, x.active, x.last)
	x.cps.WriteDebug(&b)
	for _, s := range agreeb.SortedKeys(x.slots) {
		writeSlot(&b, s, x.slots[s])
	}
	for _, s := range agreeb.SortedKeys(x.pset) {
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
	for _, r := range agreeb.SortedKeys(sl.prepares) {
		fmt.Fprintf(b, "  prepare from=%d %x\n", r, spec.Encode(sl.prepares[r]))
	}
}
