package confa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// onConfigure handles configure (SPEC.md §8.1, F1–F4, agreea.CheckConfigure). On
// acceptance the view is 0 and active, the stable checkpoint the genesis certificate,
// and every store empty.
func (c *Conf) onConfigure(m *spec.Configure) verdict {
	cfg, code := agreea.CheckConfigure(m, c.inited, &c.self)
	if code != 0 {
		return fail(code)
	}
	c.configured = true
	c.enterEpoch(cfg)
	return accept
}

// enterEpoch starts configuration cfg (at configure, or after an accepted epoch change,
// SPEC.md §8.1, §17.4): view 0 and active, the epoch's genesis certificate stable (h =
// StartSeq), every store empty.
func (c *Conf) enterEpoch(cfg *spec.Config) {
	c.cfg, c.cd = cfg, spec.ConfigDigest(cfg)
	c.v, c.active, c.last = 0, true, cfg.StartSeq
	c.cp = agreea.NewCheckpointsAt(cfg.GenesisCert())
	c.slots = map[uint64]*slot{}
	c.pset = map[uint64]*spec.PreparedCert{}
}

// onEpochChange handles epoch-change (SPEC.md §17.4, EC1–EC4): a conf no longer
// enrolled in the next configuration retires; otherwise it enters the next epoch.
func (c *Conf) onEpochChange(m *spec.EpochChange) verdict {
	next, code := agreea.CheckEpochChange(c.cfg, c.cd, c.cp.H(), m, c.workers)
	if code != 0 {
		return fail(code)
	}
	if !agreea.StillEnrolled(next, &c.self) {
		c.retired = true
		return accept
	}
	c.enterEpoch(next)
	return accept
}
