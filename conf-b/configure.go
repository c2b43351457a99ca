package confb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onConfigure applies lines F1–F4 of §8.1 and, on acceptance, installs the
// configuration: view 0 and active, h = 0 with the genesis certificate, empty stores.
func (x *Confirmation) onConfigure(m *spec.Configure) uint64 {
	cl, code := agreeb.Configure(m, &x.id)
	if code != 0 {
		return code
	}
	x.cl = cl
	x.view, x.active, x.last = 0, true, 0
	x.slots = map[uint64]*slot{}
	x.pset = map[uint64]*spec.PreparedCert{}
	x.cps = agreeb.NewCheckpoints()
	return 0
}
