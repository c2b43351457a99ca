package confb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onConfigure applies lines F1–F4 of §8.1 and, on acceptance, starts the epoch of
// the configuration (install) with no COMMIT signed yet.
func (x *Confirmation) onConfigure(m *spec.Configure) uint64 {
	cl, code := agreeb.Configure(m, &x.id)
	if code != 0 {
		return code
	}
	x.install(cl)
	x.last = 0
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
	if !x.id.EnrolledIn(next) { // §17.4 step 1: the status keeps its last values
		x.retired = true
		return 0
	}
	// SPEC-AMBIGUITY: §17.4 step 2 does not mention last (the highest Seq of any
	// COMMIT this conf signed, a status hint); it is not a stored message, so we
	// keep it.
	x.install(next) // §17.4 step 2
	return 0
}

// install starts the epoch of cl, at configure (§8.1) or at an epoch change
// (§17.4 step 2): view 0 and active; h = StartSeq with the epoch's genesis
// certificate; every stored protocol message and prepared certificate dropped.
func (x *Confirmation) install(cl *agreeb.Cluster) {
	x.cl = cl
	x.view, x.active = 0, true
	x.slots = map[uint64]*slot{}
	x.pset = map[uint64]*spec.PreparedCert{}
	x.cps = agreeb.NewCheckpoints(cl)
}
