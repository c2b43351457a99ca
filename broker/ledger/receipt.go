package ledger

import (
	"errors"
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// Receipt proves that a client's request was committed at a sequence number (SPEC.md
// §13.5): the batch, its commit certificate and the request's position in it, under
// the configuration of Seq's epoch, reached from the configuration named by
// ConfigDigest (the ledger's first) by the chain steps of Chain. It proves
// commitment, not the result: exec answers a duplicate of an executed request with
// nothing or its cached reply.
type Receipt struct {
	_            struct{} `cbor:",toarray"`
	ConfigDigest spec.Digest
	Seq          uint64
	Batch        []byte      // enc(spec.Batch)
	Cert         [][]byte    // q enc(spec.Commit)
	Index        uint64      // the request's position in the batch
	Chain        []spec.Step // every chain step (epoch change or recovery) the ledger records, in order
}

// ErrNoReceipt is returned by FindReceipt when no batch record holds the operation.
var ErrNoReceipt = errors.New("ledger: no recorded batch holds that operation")

// FindReceipt returns the receipt of client's operation with timestamp ts from the
// ledger in dir: the lowest batch record holding a request of that client whose
// operations cover ts. Records are checked (checksum, decoding), not verified.
func FindReceipt(dir string, client, ts uint64) (*Receipt, error) {
	db, err := openReadOnly(dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cfg, _, err := checkedConfig(db, nil)
	if err != nil {
		return nil, err
	}
	st := scanState{eps: []*spec.Config{cfg}}
	if f := each(db, prefixEpoch, st.epoch); f != nil {
		return nil, f
	}
	var found *Receipt
	f := each(db, prefixBatch, func(k []byte, n uint64, val []byte) *Fault {
		var rec BatchRecord
		var b spec.Batch
		if err := openValue(k, val, &rec); err != nil {
			return &Fault{Kind: KindBatch, Seq: n, Msg: err.Error()}
		}
		if err := spec.Decode(rec.Batch, &b, spec.MaxBodyBytes(spec.KindBatch)); err != nil {
			return &Fault{Kind: KindBatch, Seq: n, Msg: "batch malformed"}
		}
		for i, q := range b.Requests {
			if q.Body.Client == client && q.Body.Timestamp <= ts && ts-q.Body.Timestamp < uint64(len(q.Body.Ops)) {
				found = &Receipt{ConfigDigest: spec.ConfigDigest(cfg), Seq: rec.Seq, Batch: rec.Batch, Cert: rec.Cert, Index: uint64(i), Chain: st.changes}
				return &Fault{} // found: stop the scan
			}
		}
		return nil
	})
	switch {
	case found != nil:
		return found, nil
	case f != nil:
		return nil, f
	}
	return nil, ErrNoReceipt
}

// Verify checks the receipt under cfg, the configuration the verifier trusts: the
// configuration digest, the chain (each step valid after the configuration in force,
// EC1–EC4 or RC1–RC5, spec.VerifyStep), and under the configuration in force at Seq the batch's decoding,
// the commit certificate for (Seq, BatchDigest(Batch)), the index, and the client's
// signature on the request (R1, R5 of SPEC.md §5). It returns the request.
func (r *Receipt) Verify(cfg *spec.Config) (*spec.Request, error) {
	if err := cfg.Validate(nil); err != nil {
		return nil, fmt.Errorf("ledger: configuration invalid: %w", err)
	}
	if cd := spec.ConfigDigest(cfg); r.ConfigDigest != cd {
		return nil, fmt.Errorf("ledger: receipt: for configuration %x, not %x", r.ConfigDigest[:8], cd[:8])
	}
	at, err := r.epochOf(cfg)
	if err != nil {
		return nil, err
	}
	v := newVerifier(at)
	var b spec.Batch
	if err := spec.Decode(r.Batch, &b, spec.MaxBodyBytes(spec.KindBatch)); err != nil {
		return nil, fmt.Errorf("ledger: receipt: batch malformed: %w", err)
	}
	if err := v.commitCert(r.Seq, spec.Hash(spec.DomainBatch, r.Batch), r.Cert); err != nil {
		return nil, fmt.Errorf("ledger: receipt: seq %d: commit certificate: %w", r.Seq, err)
	}
	if r.Index >= uint64(len(b.Requests)) {
		return nil, fmt.Errorf("ledger: receipt: index %d outside the batch of %d requests", r.Index, len(b.Requests))
	}
	q := &b.Requests[r.Index]
	c := cfg.Client(q.Body.Client)
	if c == nil {
		return nil, fmt.Errorf("ledger: receipt: client %d is not registered", q.Body.Client)
	}
	if !verifySig(c.SignKey, spec.DomainRequest, v.cd, spec.Encode(&q.Body), &q.Sig) {
		return nil, fmt.Errorf("ledger: receipt: the request's client signature is invalid")
	}
	return q, nil
}

// epochOf verifies the receipt's chain from cfg and returns the configuration in
// force at Seq: the last whose StartSeq is below it.
func (r *Receipt) epochOf(cfg *spec.Config) (*spec.Config, error) {
	if r.Seq <= cfg.StartSeq {
		return nil, fmt.Errorf("ledger: receipt: seq %d is not above the configuration's start %d", r.Seq, cfg.StartSeq)
	}
	cur, at := cfg, cfg
	for i := range r.Chain {
		next, err := spec.VerifyStep(cur, spec.ConfigDigest(cur), cur.StartSeq, &r.Chain[i], verifyEd, nil)
		if err != nil {
			return nil, fmt.Errorf("ledger: receipt: chain, change %d: %w", i, err)
		}
		if cur = next; next.StartSeq < r.Seq {
			at = next
		}
	}
	return at, nil
}

// maxReceiptBytes caps a receipt file.
const maxReceiptBytes = maxRecordBytes

// DecodeReceipt decodes a receipt strictly (SPEC.md §2.3).
func DecodeReceipt(raw []byte) (*Receipt, error) {
	var r Receipt
	if err := spec.Decode(raw, &r, maxReceiptBytes); err != nil {
		return nil, fmt.Errorf("ledger: receipt: %w", err)
	}
	return &r, nil
}
