package prepb

import "github.com/splitbft/splitbft/spec"

// onClientBatch handles a client-batch at the primary (§9.3): lines B1–B3, then
// R1–R5 per request (each failing request gets its own Rejection with Sub = j+1 and
// is dropped), then the PRE-PREPARE of the remaining requests as a proposal.
func (p *Preparation) onClientBatch(out *outputs, idx uint64, b *spec.Batch) uint64 {
	c := p.cl
	if p.self.Replica != c.primary(p.view) { // B1
		return spec.CodeNotPrimary
	}
	if code := c.checkBatchSize(b); code != 0 { // B2
		return code
	}
	s := p.seqHigh + 1
	if s-p.cps.h > c.l { // B3: s ≤ h + L (seqHigh ≥ h, so s > h)
		return spec.CodeWindowFull
	}
	kept := make([]spec.Request, 0, len(b.Requests))
	for j := range b.Requests {
		if code := c.checkRequest(&b.Requests[j]); code != 0 {
			out.reject(idx, spec.KindClientBatch, code, uint64(j)+1)
			continue
		}
		kept = append(kept, b.Requests[j])
	}
	if len(kept) == 0 {
		return spec.CodeEmptyBatch
	}
	batch := spec.Batch{Requests: kept}
	slot := spec.Slot{View: p.view, Seq: s, Digest: spec.BatchDigest(&batch), Replica: p.self.Replica}
	p.accepted[s] = slot.Digest
	p.seqHigh = s
	pp := spec.PrePrepare{Body: slot, Sig: p.key.sign(spec.DomainPrePrepare, c.cd, &slot)}
	out.send(spec.KindProposal, spec.ToPrep|spec.ToConf|spec.ToExec, c.allReplicas(), &spec.Proposal{Header: pp, Batch: batch})
	return 0
}
