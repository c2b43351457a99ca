package prepb

import "github.com/splitbft/splitbft/spec"

// onCheckpoint handles a CHECKPOINT (§8.3) and, when it makes a checkpoint stable,
// applies prep's effect (§9.5).
func (p *Preparation) onCheckpoint(m *spec.Checkpoint) uint64 {
	code, stable := p.cps.Accept(p.cl, m)
	if stable {
		p.onStable()
	}
	return code
}

// onStable is prep's effect of a new stable checkpoint h (§9.5): drop accepted
// entries at or below h and raise seqHigh to at least h.
func (p *Preparation) onStable() {
	for s := range p.accepted {
		if s <= p.cps.H() {
			delete(p.accepted, s)
		}
	}
	p.seqHigh = max(p.seqHigh, p.cps.H())
}
