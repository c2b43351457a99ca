package confa

import (
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/internal/agreea"
)

// DebugState returns a deterministic text dump of the whole protocol state: identity,
// configuration digest, view and activity, h and its certificate, last, the
// checkpoint store, every slot and every prepared certificate, in sorted order. It
// reads only; tests compare dumps to check that a rejected input changed nothing.
// The format is for humans and tests, not a wire format.
func (c *Conf) DebugState() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conf-a replica=%d inited=%t sign=%x configured=%t\n", c.self.Replica, c.inited, c.self.SignKey, c.configured)
	if !c.configured {
		return b.String()
	}
	fmt.Fprintf(&b, "cd=%x view=%d active=%t last=%d\n", c.cd, c.v, c.active, c.last)
	c.cp.Dump(&b)
	for _, s := range agreea.SortedKeys(c.slots) {
		sl := c.slots[s]
		fmt.Fprintf(&b, "slot s=%d committed=%t\n", s, sl.committed)
		if sl.pp != nil {
			fmt.Fprintf(&b, "  pre-prepare %+v sig=%x\n", sl.pp.Body, sl.pp.Sig)
		}
		for _, r := range agreea.SortedKeys(sl.prepares) {
			fmt.Fprintf(&b, "  prepare %+v sig=%x\n", sl.prepares[r].Body, sl.prepares[r].Sig)
		}
	}
	for _, s := range agreea.SortedKeys(c.pset) {
		pc := c.pset[s]
		fmt.Fprintf(&b, "pset s=%d header=%+v sig=%x\n", s, pc.Header.Body, pc.Header.Sig)
		for _, p := range pc.Prepares {
			fmt.Fprintf(&b, "  prepare r=%d sig=%x\n", p.Body.Replica, p.Sig)
		}
	}
	return b.String()
}
