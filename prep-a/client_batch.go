package prepa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// onClientBatch handles client-batch at the primary (SPEC.md §9.3): B1–B3, then R1–R5
// per request; each failing request gets its own Rejection (Sub = its 1-based index)
// and is dropped; the rest, in their original order, are proposed at seqHigh + 1.
func (p *Prep) onClientBatch(idx uint64, b *spec.Batch) verdict {
	if !p.isPrimary(p.v) {
		return fail(spec.CodeNotPrimary) // B1
	}
	if code := p.batchSizeCode(len(b.Requests)); code != 0 {
		return fail(code) // B2
	}
	s := p.seqHigh + 1
	if !agreea.InWindow(s, p.cp.H(), p.window()) {
		return fail(spec.CodeWindowFull) // B3 (s > h holds: seqHigh ≥ h)
	}
	var kept []spec.Request
	for j, code := range p.checkRequests(b.Requests) {
		if code != 0 {
			p.out.Reject(idx, spec.KindClientBatch, verdict{Code: code, Sub: uint64(j) + 1})
			continue
		}
		kept = append(kept, b.Requests[j])
	}
	if len(kept) == 0 {
		return fail(spec.CodeEmptyBatch)
	}
	p.propose(s, spec.Batch{Requests: kept})
	return accept
}

// propose records batch at (v, s) and emits the signed proposal to every prep, conf
// and exec.
func (p *Prep) propose(s uint64, batch spec.Batch) {
	d := spec.BatchDigest(&batch)
	p.accepted[s], p.seqHigh = d, s
	slot := spec.Slot{View: p.v, Seq: s, Digest: d, Replica: p.id()}
	pp := spec.PrePrepare{Body: slot, Sig: p.key.Sign(spec.DomainPrePrepare, p.cd, spec.Encode(&slot))}
	p.broadcast(spec.KindProposal, spec.ToPrep|spec.ToConf|spec.ToExec, spec.Encode(&spec.Proposal{Header: pp, Batch: batch}))
}
