package prepa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// onConfigure handles configure (SPEC.md §8.1, F1–F4, agreea.CheckConfigure). On
// acceptance the view is 0, the stable checkpoint the genesis certificate, and every
// store empty.
func (p *Prep) onConfigure(m *spec.Configure) verdict {
	cfg, code := agreea.CheckConfigure(m, p.inited, &p.self)
	if code != 0 {
		return fail(code)
	}
	p.configured, p.cfg, p.cd = true, cfg, spec.ConfigDigest(cfg)
	p.v, p.seqHigh, p.lastNewView = 0, 0, 0
	p.cp = agreea.NewCheckpoints()
	p.accepted = map[uint64]spec.Digest{}
	p.vcs = map[uint64]*storedViewChange{}
	return accept
}
