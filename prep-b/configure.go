package prepb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onConfigure applies lines F1–F4 of §8.1 and, on acceptance, installs the
// configuration: view 0, h = 0 with the genesis certificate, empty stores.
func (p *Preparation) onConfigure(m *spec.Configure) uint64 {
	cl, code := agreeb.Configure(m, &p.id)
	if code != 0 {
		return code
	}
	p.cl = cl
	p.view, p.seqHigh, p.nvHigh = 0, 0, 0
	p.accepted = map[uint64]spec.Digest{}
	p.vcs = map[uint64]*storedViewChange{}
	p.cps = agreeb.NewCheckpoints()
	return 0
}
