package prepb

import (
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/internal/agreeb"
)

// DebugState returns a deterministic text dump of the whole protocol state (not the
// private key), one fact per line, for tests and the simulator. Two Preparations
// with equal dumps behave identically on every future input.
func (p *Preparation) DebugState() string {
	var b strings.Builder
	if !agreeb.WriteDebugHeader(&b, &p.id, p.cl) {
		return b.String()
	}
	fmt.Fprintf(&b, "retired=%v view=%d seqHigh=%d nvHigh=%d\n", p.retired, p.view, p.seqHigh, p.nvHigh)
	p.cps.WriteDebug(&b)
	for _, s := range agreeb.SortedKeys(p.accepted) {
		fmt.Fprintf(&b, "accepted seq=%d digest=%x\n", s, p.accepted[s])
	}
	for _, r := range agreeb.SortedKeys(p.vcs) {
		fmt.Fprintf(&b, "view-change from=%d view=%d enc=%x\n", r, p.vcs[r].vc.Body.View, p.vcs[r].sum)
	}
	return b.String()
}
