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
	p.configured = true
	p.enterEpoch(cfg)
	return accept
}

// enterEpoch starts configuration cfg (at configure, or after an accepted epoch change,
// SPEC.md §8.1, §17.4): view 0, the epoch's genesis certificate stable (h =
// StartSeq), every store empty, the next sequence number StartSeq+1.
func (p *Prep) enterEpoch(cfg *spec.Config) {
	p.cfg, p.cd = cfg, spec.ConfigDigest(cfg)
	p.v, p.seqHigh, p.lastNewView = 0, cfg.StartSeq, 0
	p.cp = agreea.NewCheckpointsAt(cfg.GenesisCert())
	p.accepted = map[uint64]spec.Digest{}
	p.vcs = map[uint64]*storedViewChange{}
}

// onEpochChange handles epoch-change (SPEC.md §17.4, EC1–EC4): a prep no longer
// enrolled in the next configuration retires; otherwise it enters the next epoch.
func (p *Prep) onEpochChange(m *spec.EpochChange) verdict {
	next, code := agreea.CheckEpochChange(p.cfg, p.cd, p.cp.H(), m, p.workers)
	if code != 0 {
		return fail(code)
	}
	if !agreea.StillEnrolled(next, &p.self) {
		p.retired = true
		return accept
	}
	p.enterEpoch(next)
	return accept
}
