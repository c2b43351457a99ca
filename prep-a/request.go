package prepa

import (
	"math"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// checkRequests applies R1–R5 (SPEC.md §5) to every request and returns, for each,
// 0 or the reject code of the first rule it fails. The cheap rules R1–R4 run first;
// the signatures (R5) of the requests that pass them are then verified together,
// in parallel when p.workers > 1 — with exactly the result of checking each request
// in turn.
func (p *Prep) checkRequests(reqs []spec.Request) []uint64 {
	codes := make([]uint64, len(reqs))
	var jobs []agreea.SigJob
	var owner []int // owner[k] is the request index of jobs[k]
	for j := range reqs {
		key, code := p.checkRequestShape(&reqs[j].Body)
		if code != 0 {
			codes[j] = code
			continue
		}
		jobs = append(jobs, agreea.SigJob{Key: key, Domain: spec.DomainRequest, Body: spec.Encode(&reqs[j].Body), Sig: reqs[j].Sig})
		owner = append(owner, j)
	}
	for k, ok := range agreea.VerifyEach(p.cd, jobs, p.workers) {
		if !ok {
			codes[owner[k]] = spec.CodeBadSignature // R5
		}
	}
	return codes
}

// checkRequestShape applies R1–R4 and returns the client's signing key, or the code
// of the first failed rule.
func (p *Prep) checkRequestShape(b *spec.RequestBody) (spec.PublicKey, uint64) {
	cl := p.cfg.Client(b.Client)
	if cl == nil {
		return spec.PublicKey{}, spec.CodeUnknownSender // R1
	}
	nops := uint64(len(b.Ops))
	if nops < 1 || nops > p.cfg.MaxRequestOps {
		return spec.PublicKey{}, spec.CodeBatchLimit // R2
	}
	for i := range b.Ops {
		if l := uint64(len(b.Ops[i].Ciphertext)); l < 17 || l > p.cfg.MaxOpBytes {
			return spec.PublicKey{}, spec.CodeBatchLimit // R3
		}
	}
	if b.Timestamp < 1 || nops-1 > math.MaxUint64-b.Timestamp {
		return spec.PublicKey{}, spec.CodeBadTimestamp // R4
	}
	return cl.SignKey, 0
}

// batchSizeCode returns the code for a batch of n requests that breaks the size
// rule (B2, P10), or 0.
func (p *Prep) batchSizeCode(n int) uint64 {
	switch {
	case n == 0:
		return spec.CodeEmptyBatch
	case uint64(n) > p.cfg.MaxBatchRequests:
		return spec.CodeBatchLimit
	}
	return 0
}
