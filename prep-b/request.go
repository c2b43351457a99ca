package prepb

import (
	"math"

	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// checkRequest applies lines R1–R5 of §5 (a request well-formed for the
// configuration) and returns the code of the first failing line, or 0.
func checkRequest(c *agreeb.Cluster, r *spec.Request) uint64 {
	b := &r.Body
	client := c.Cfg.Client(b.Client)
	if client == nil { // R1
		return spec.CodeUnknownSender
	}
	if len(b.Ops) < 1 || uint64(len(b.Ops)) > c.Cfg.MaxRequestOps { // R2
		return spec.CodeBatchLimit
	}
	for i := range b.Ops { // R3
		if n := uint64(len(b.Ops[i].Ciphertext)); n < 17 || n > c.Cfg.MaxOpBytes {
			return spec.CodeBatchLimit
		}
	}
	if b.Timestamp < 1 || uint64(len(b.Ops))-1 > math.MaxUint64-b.Timestamp { // R4
		return spec.CodeBadTimestamp
	}
	if !agreeb.VerifySig(client.SignKey, spec.DomainRequest, c.CD, b, r.Sig) { // R5
		return spec.CodeBadSignature
	}
	return 0
}

// checkBatchSize applies the batch size line shared by B2 and P10: batch-limit, or
// empty-batch for an empty batch.
func checkBatchSize(c *agreeb.Cluster, b *spec.Batch) uint64 {
	switch {
	case len(b.Requests) == 0:
		return spec.CodeEmptyBatch
	case uint64(len(b.Requests)) > c.Cfg.MaxBatchRequests:
		return spec.CodeBatchLimit
	}
	return 0
}
