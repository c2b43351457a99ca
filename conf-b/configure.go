package confb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onConfigure applies lines F1–F4 of §8.1 and, on acceptance, starts the epoch of
// the configuration (install).
func (x *Confirmation) onConfigure(m *spec.Configure) uint64 {
	cl, code := agreeb.Configure(m, &x.id)
	if code != 0 {
		return code
	}
	x.install(cl)
	return 0
}

// onEpochChange handles an epoch-change (SPEC §17.4): lines EC1–EC4 of §17.1
// against the current configuration and h; on acceptance this conf retires if its
// slot in C' no longer holds its keys, and otherwise starts the epoch of C'.
func (x *Confirmation) onEpochChange(ec *spec.EpochChange) uint64 {
	next, code := x.cl.CheckEpochChange(ec, x.cps.H())
	if code != 0 {
		return code
	}
	if !x.id.EnrolledIn(next) { // §17.4 step 1 (compared as F3): the status stays what it was
		x.retired = true
		return 0
	}
	x.install(next) // §17.4 step 2
	return 0
}

// install starts the epoch of cl, at configure (§8.1) or at an epoch change
// (§17.4 step 2): view 0 and active; h = StartSeq with the epoch's genesis
// certificate; last = StartSeq (SPEC §10.2: no COMMIT signed in this epoch yet);
// every stored protocol message and prepared certificate dropped.
func (x *Confirmation) install(cl *agreeb.Cluster) {
	x.cl = cl
	x.view, x.active, x.last = 0, true, cl.Cfg.StartSeq
	x.slots = map[uint64]*slot{}
	x.pset = map[uint64]*spec.PreparedCert{}
	x.cps = agreeb.NewCheckpoints(cl)
}
