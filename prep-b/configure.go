package prepb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onConfigure applies lines F1–F4 of §8.1 and, on acceptance, starts the epoch of
// the configuration (install).
func (p *Preparation) onConfigure(m *spec.Configure) uint64 {
	cl, code := agreeb.Configure(m, &p.id)
	if code != 0 {
		return code
	}
	p.install(cl)
	return 0
}

// onEpochChange handles an epoch-change (SPEC §17.4): lines EC1–EC4 of §17.1
// against the current configuration and h; on acceptance this prep retires if its
// slot in C' no longer holds its keys, and otherwise starts the epoch of C'.
func (p *Preparation) onEpochChange(ec *spec.EpochChange) uint64 {
	next, code := p.cl.CheckEpochChange(ec, p.cps.H())
	if code != 0 {
		return code
	}
	if !p.id.EnrolledIn(next) { // §17.4 step 1 (compared as F3): the status stays what it was
		p.retired = true
		return 0
	}
	p.install(next) // §17.4 step 2
	return 0
}

// install starts the epoch of cl, at configure (§8.1) or at an epoch change
// (§17.4 step 2): view 0; h = StartSeq with the epoch's genesis certificate; the
// next sequence number StartSeq + 1 (seqHigh = StartSeq, §9.2); every stored
// protocol message dropped; nvSent emptied (nvHigh = 0).
func (p *Preparation) install(cl *agreeb.Cluster) {
	p.cl = cl
	p.view, p.seqHigh, p.nvHigh = 0, cl.Cfg.StartSeq, 0
	p.accepted = map[uint64]spec.Digest{}
	p.vcs = map[uint64]*storedViewChange{}
	p.cps = agreeb.NewCheckpoints(cl)
}
