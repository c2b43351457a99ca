package prepa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// onProposal handles a proposal at a backup (SPEC.md §9.4, P1–P11) and, on
// acceptance, signs and emits the PREPARE for it.
func (p *Prep) onProposal(m *spec.Proposal) verdict {
	if v := p.checkProposalHeader(&m.Header); v.Code != 0 {
		return v
	}
	hb := &m.Header.Body
	if d, ok := p.accepted[hb.Seq]; ok {
		if d != hb.Digest {
			return fail(spec.CodeConflict) // P7
		}
		return fail(spec.CodeDuplicate) // P8
	}
	if spec.BatchDigest(&m.Batch) != hb.Digest {
		return fail(spec.CodeDigestMismatch) // P9
	}
	if code := p.batchSizeCode(len(m.Batch.Requests)); code != 0 {
		return fail(code) // P10
	}
	for j, code := range p.checkRequests(m.Batch.Requests) {
		if code != 0 {
			return verdict{Code: spec.CodeBadRequest, Sub: uint64(j) + 1} // P11
		}
	}
	p.accepted[hb.Seq] = hb.Digest
	p.seqHigh = max(p.seqHigh, hb.Seq)
	p.sendPrepare(hb.Seq, hb.Digest)
	return accept
}

// checkProposalHeader applies P1–P6 to the PRE-PREPARE of a proposal.
func (p *Prep) checkProposalHeader(pp *spec.PrePrepare) verdict {
	hb := &pp.Body
	switch {
	case hb.Replica >= p.n():
		return fail(spec.CodeUnknownSender) // P1
	case hb.View < p.v:
		return fail(spec.CodeStale) // P2
	case hb.View > p.v:
		return fail(spec.CodeWrongView) // P2
	case hb.Replica != p.cfg.Primary(p.v):
		return fail(spec.CodeNotPrimary) // P3
	case p.isPrimary(p.v):
		return fail(spec.CodeNotPrimary) // P4
	case hb.Seq <= p.cp.H():
		return fail(spec.CodeStale) // P5
	case hb.Seq-p.cp.H() > p.window():
		return fail(spec.CodeOutOfWindow) // P5
	case !agreea.VerifySender(p.cfg, p.cd, spec.RolePrep, hb.Replica, spec.DomainPrePrepare, hb, pp.Sig):
		return fail(spec.CodeBadSignature) // P6
	}
	return accept
}

// sendPrepare emits this prep's signed PREPARE for (v, s, d) to every conf.
func (p *Prep) sendPrepare(s uint64, d spec.Digest) {
	slot := spec.Slot{View: p.v, Seq: s, Digest: d, Replica: p.id()}
	pr := spec.Prepare{Body: slot, Sig: p.key.Sign(spec.DomainPrepare, p.cd, spec.Encode(&slot))}
	p.broadcast(spec.KindPrepare, spec.ToConf, spec.Encode(&pr))
}
