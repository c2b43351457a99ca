package prepb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onClientBatch handles a client-batch at the primary (§9.3): lines B1–B3, then
// R1–R5 per request (each failing request gets its own Rejection with Sub = j+1 and
// is dropped), then the PRE-PREPARE of the remaining requests as a proposal.
func (p *Preparation) onClientBatch(out *agreeb.Outputs, idx uint64, b *spec.Batch) uint64 {
	c := p.cl
	if p.id.Replica() != c.Primary(p.view) { // B1
		return spec.CodeNotPrimary
	}
	if code := checkBatchSize(c, b); code != 0 { // B2
		return code
	}
	s := p.seqHigh + 1
	if s <= p.cps.H() || s-p.cps.H() > c.L { // B3: s ≤ h + L (seqHigh ≥ h, so s > h unless seqHigh+1 wrapped)
		return spec.CodeWindowFull
	}
	kept := make([]spec.Request, 0, len(b.Requests))
	for j := range b.Requests {
		if code := checkRequest(c, &b.Requests[j]); code != 0 {
			out.Reject(idx, spec.KindClientBatch, code, uint64(j)+1)
			continue
		}
		kept = append(kept, b.Requests[j])
	}
	if len(kept) == 0 {
		return spec.CodeEmptyBatch
	}
	batch := spec.Batch{Requests: kept}
	slot := spec.Slot{View: p.view, Seq: s, Digest: spec.BatchDigest(&batch), Replica: p.id.Replica()}
	p.accepted[s] = slot.Digest
	p.seqHigh = s
	pp := spec.PrePrepare{Body: slot, Sig: p.id.Sign(spec.DomainPrePrepare, c.CD, &slot)}
	out.Send(spec.KindProposal, spec.ToPrep|spec.ToConf|spec.ToExec, c.AllReplicas(), &spec.Proposal{Header: pp, Batch: batch})
	return 0
}
