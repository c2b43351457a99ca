package prepb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onProposal handles a primary's proposal at a backup (§9.4): lines P1–P11, then a
// PREPARE for the slot to every conf. It returns the reject code and Sub.
func (p *Preparation) onProposal(out *agreeb.Outputs, m *spec.Proposal) (uint64, uint64) {
	if code := p.checkProposal(m); code != 0 {
		return code, 0
	}
	for j := range m.Batch.Requests { // P11
		if checkRequest(p.cl, &m.Batch.Requests[j]) != 0 {
			return spec.CodeBadRequest, uint64(j) + 1
		}
	}
	h := &m.Header.Body
	p.accepted[h.Seq] = h.Digest
	p.seqHigh = max(p.seqHigh, h.Seq)
	p.sendPrepare(out, h.Seq, h.Digest)
	return 0, 0
}

// checkProposal applies lines P1–P10 and returns the first failing line's code.
func (p *Preparation) checkProposal(m *spec.Proposal) uint64 {
	c := p.cl
	h := &m.Header.Body
	switch {
	case h.Replica >= c.N: // P1
		return spec.CodeUnknownSender
	case h.View < p.view: // P2
		return spec.CodeStale
	case h.View > p.view: // P2
		return spec.CodeWrongView
	case h.Replica != c.Primary(p.view): // P3
		return spec.CodeNotPrimary
	case p.id.Replica() == c.Primary(p.view): // P4
		return spec.CodeNotPrimary
	case h.Seq <= p.cps.H(): // P5
		return spec.CodeStale
	case h.Seq-p.cps.H() > c.L: // P5
		return spec.CodeOutOfWindow
	case !c.Verify(spec.RolePrep, h.Replica, spec.DomainPrePrepare, h, m.Header.Sig): // P6
		return spec.CodeBadSignature
	}
	if d, ok := p.accepted[h.Seq]; ok {
		if d != h.Digest { // P7
			return spec.CodeConflict
		}
		return spec.CodeDuplicate // P8
	}
	if spec.BatchDigest(&m.Batch) != h.Digest { // P9
		return spec.CodeDigestMismatch
	}
	return checkBatchSize(c, &m.Batch) // P10
}

// sendPrepare signs and emits PREPARE (v, seq, d, i) to every conf.
func (p *Preparation) sendPrepare(out *agreeb.Outputs, seq uint64, d spec.Digest) {
	slot := spec.Slot{View: p.view, Seq: seq, Digest: d, Replica: p.id.Replica()}
	pr := spec.Prepare{Body: slot, Sig: p.id.Sign(spec.DomainPrepare, p.cl.CD, &slot)}
	out.Send(spec.KindPrepare, spec.ToConf, p.cl.AllReplicas(), &pr)
}
