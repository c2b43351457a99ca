package prepb

import (
	"math"

	"github.com/splitbft/splitbft/spec"
)

// checkRequest applies lines R1–R5 of §5 (a request well-formed for the
// configuration) and returns the code of the first failing line, or 0.
func (c *cluster) checkRequest(r *spec.Request) uint64 {
	b := &r.Body
	client := c.cfg.Client(b.Client)
	if client == nil { // R1
		return spec.CodeUnknownSender
	}
	if len(b.Ops) < 1 || uint64(len(b.Ops)) > c.cfg.MaxRequestOps { // R2
		return spec.CodeBatchLimit
	}
	for i := range b.Ops { // R3
		if n := uint64(len(b.Ops[i].Ciphertext)); n < 17 || n > c.cfg.MaxOpBytes {
			return spec.CodeBatchLimit
		}
	}
	if b.Timestamp < 1 || uint64(len(b.Ops))-1 > math.MaxUint64-b.Timestamp { // R4
		return spec.CodeBadTimestamp
	}
	if !verifySig(client.SignKey, spec.DomainRequest, c.cd, b, r.Sig) { // R5
		return spec.CodeBadSignature
	}
	return 0
}

// checkBatchSize applies the batch size line shared by B2 and P10: batch-limit, or
// empty-batch for an empty batch.
func (c *cluster) checkBatchSize(b *spec.Batch) uint64 {
	switch {
	case len(b.Requests) == 0:
		return spec.CodeEmptyBatch
	case uint64(len(b.Requests)) > c.cfg.MaxBatchRequests:
		return spec.CodeBatchLimit
	}
	return 0
}
