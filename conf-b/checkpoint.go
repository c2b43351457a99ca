package confb

import "github.com/splitbft/splitbft/spec"

// onCheckpoint handles a CHECKPOINT (§8.3) and, when it makes a checkpoint stable,
// applies conf's effect (§10.5).
func (x *Confirmation) onCheckpoint(m *spec.Checkpoint) uint64 {
	code, stable := x.cps.Accept(x.cl, m)
	if stable {
		x.onStable()
	}
	return code
}

// onStable is conf's effect of a new stable checkpoint h (§10.5): drop slots and
// prepared certificates at or below h.
func (x *Confirmation) onStable() {
	for s := range x.slots {
		if s <= x.cps.H() {
			delete(x.slots, s)
		}
	}
	for s := range x.pset {
		if s <= x.cps.H() {
			delete(x.pset, s)
		}
	}
}
