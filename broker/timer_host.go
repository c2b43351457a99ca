package broker

import "github.com/splitbft/splitbft/spec"

// timerHostOf is the replica as its timers see it (timerHost).
type timerHostOf struct{ r *Replica }

func (h timerHostOf) now() uint64          { return h.r.now }
func (h timerHostOf) conf() spec.Status    { return h.r.status[spec.RoleConf] }
func (h timerHostOf) behind() bool         { return h.r.behind() }
func (h timerHostOf) dropped()             { h.r.m.QueueDrops++ }
func (h timerHostOf) progressed()          { h.r.progressAt = h.r.now }
func (h timerHostOf) suspectConf(v uint64) { h.r.suspectConf(v) }

func (h timerHostOf) genuine(c uint64, p *pendingReq) bool { return h.r.genuineRequest(c, p) }

func (h timerHostOf) viewChangeSigned(vc *spec.ViewChange) bool {
	key := h.r.cfg.Replicas[vc.Body.Replica].Conf.Body.SignKey
	return verifySig(key, spec.DomainViewChange, h.r.cd, spec.Encode(&vc.Body), &vc.Sig)
}

// suspectConf delivers Suspect{view} to the local conf.
func (r *Replica) suspectConf(view uint64) {
	r.m.Suspects++
	r.enqueue(spec.RoleConf, spec.KindSuspect, spec.Encode(&spec.Suspect{View: view}))
}
