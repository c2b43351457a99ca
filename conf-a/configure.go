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
	c.configured, c.cfg, c.cd = true, cfg, spec.ConfigDigest(cfg)
	c.v, c.active, c.last = 0, true, 0
	c.cp = agreea.NewCheckpoints()
	c.slots = map[uint64]*slot{}
	c.pset = map[uint64]*spec.PreparedCert{}
	return accept
}
