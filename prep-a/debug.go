package prepa

import (
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// DebugState returns a deterministic text dump of the whole protocol state: identity,
// configuration digest, view, h and its certificate, seqHigh, lastNewView, and every
// store in sorted order. It reads only; tests compare dumps to check that a rejected
// input changed nothing. The format is for humans and tests, not a wire format.
func (p *Prep) DebugState() string {
	var b strings.Builder
	fmt.Fprintf(&b, "prep-a replica=%d inited=%t sign=%x configured=%t\n", p.self.Replica, p.inited, p.self.SignKey, p.configured)
	if !p.configured {
		return b.String()
	}
	fmt.Fprintf(&b, "cd=%x view=%d seqHigh=%d lastNewView=%d\n", p.cd, p.v, p.seqHigh, p.lastNewView)
	p.cp.Dump(&b)
	for _, s := range agreea.SortedKeys(p.accepted) {
		fmt.Fprintf(&b, "accepted s=%d d=%x\n", s, p.accepted[s])
	}
	for _, r := range agreea.SortedKeys(p.vcs) {
		s := p.vcs[r]
		fmt.Fprintf(&b, "viewchange r=%d view=%d bytes=%x\n", r, s.vc.Body.View, spec.Hash("debug", s.raw))
	}
	return b.String()
}
