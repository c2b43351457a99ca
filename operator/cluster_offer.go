package operator

import (
	"errors"
	"fmt"

	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/spec"
)

// The documents of the recovery of a whole cluster (SPEC.md §17.8) between the
// recovering replicas and the members' tool (recover-cluster), over the status port:
//
//	GET  /recovery          CBOR RecoveryOffer: fresh enrollments and what the ledger proves
//	POST /recovery          CBOR RecoveryPost: the member-signed plan and the chosen replica
//	GET  /recovery/records  CBOR RecoveryRecords: batch records above ?from= (at most 64)
//	GET  /recovery/snapshot CBOR ledger.SnapshotRecord: the newest snapshot (sealed chunks)
//
// Nothing in them is trusted: the tool verifies every offer from the configuration it
// trusts, a broker verifies the plan (RC1–RC4), and the exec verifies every batch,
// COMMIT and chunk of the replay.

// RecoveryPath is the status-port path of the offer (GET) and the plan (POST).
const RecoveryPath = "/recovery"

// RecoveryOffer is what a recovering replica offers (GET /recovery).
type RecoveryOffer struct {
	_           struct{} `cbor:",toarray"`
	Replica     uint64
	Enrollments []spec.Enrollment // prep, conf, exec: fresh, Init'ed with Challenge = digest of the chain's last configuration
	Chain       Chain             // the chain the replica's ledger follows (from its genesis)
	HasBase     bool              // Base is a certified state whose snapshot the ledger holds
	Base        spec.CheckpointCert
	Head        uint64   // every batch in (Base.Seq, Head] is in the ledger; Head == Base.Seq: none above
	HeadBatch   []byte   // enc(spec.Batch) of Head (empty when Head == Base.Seq)
	HeadCert    [][]byte // its q enc(spec.Commit)
	HasKey      bool     // the ledger holds the sealed group key …
	KeyFormat   uint64   // … in this format (spec.SealInsecure: unprotected, announced loudly)
}

// RecoveryPost is the body of POST /recovery.
type RecoveryPost struct {
	_      struct{} `cbor:",toarray"`
	Plan   spec.RecoveryPlan
	Source uint64 // the replica whose offer was chosen: it serves what others lack
}

// RecoveryRecords is the body of GET /recovery/records.
type RecoveryRecords struct {
	_       struct{} `cbor:",toarray"`
	Batches []ledger.BatchRecord
}

// maxRecordsPerGet bounds the batch records of one GET /recovery/records.
const maxRecordsPerGet = 64

// maxOfferBody caps an offer, a plan and a records answer.
const maxOfferBody = 4 * spec.MaxMessageBytes

// buildOffer describes what led proves under cfg (the chain's last configuration):
// the newest snapshot with a certificate of cfg as base (else cfg's genesis
// certificate when it needs no snapshot), and the contiguous head above it.
func buildOffer(id uint64, own [3]spec.Enrollment, c *Chain, cfg *spec.Config, led *ledger.Ledger) *RecoveryOffer {
	o := &RecoveryOffer{Replica: id, Enrollments: own[:], Chain: *c}
	if rec, err := led.LatestSnapshot(); err == nil {
		switch cert, err := led.Checkpoint(rec.Seq); {
		case rec.Config != spec.ConfigDigest(cfg):
			// sealed under an earlier epoch's state key (the broker stopped before it
			// took the snapshot again at this epoch's start): no exec of cfg opens it
		case rec.Seq == cfg.StartSeq && rec.State == cfg.StartState:
			o.HasBase, o.Base = true, cfg.GenesisCert()
		case err == nil && rec.Seq > cfg.StartSeq && cert.State == rec.State:
			o.HasBase, o.Base = true, *cert
		}
	}
	if !o.HasBase && cfg.StartSeq == 0 {
		o.HasBase, o.Base = true, cfg.GenesisCert() // the empty state: no snapshot needed
	}
	o.Head = o.Base.Seq
	if o.HasBase {
		o.Head = led.Contiguous(o.Base.Seq)
	}
	if o.Head > o.Base.Seq {
		if b, err := led.Batch(o.Head); err == nil {
			o.HeadBatch, o.HeadCert = b.Batch, b.Cert
		}
	}
	if sk, err := led.Key(); err == nil {
		o.HasKey, o.KeyFormat = true, sk.Format
	}
	return o
}

// checkOfferProofs verifies what an offer claims under cfg (digest cd): the base
// certificate (K1–K5, in cfg's epoch) and the head batch's commit certificate.
func checkOfferProofs(o *RecoveryOffer, cfg *spec.Config, cd spec.Digest) error {
	if !o.HasBase {
		return errors.New("no certified base with a snapshot")
	}
	if err := spec.VerifyCheckpointCert(cfg, cd, &o.Base, verifyEd); err != nil || o.Base.Seq < cfg.StartSeq {
		return fmt.Errorf("base certificate of seq %d invalid for epoch %d: %v", o.Base.Seq, cfg.Epoch, err)
	}
	switch {
	case o.Head < o.Base.Seq:
		return fmt.Errorf("head %d below its base %d", o.Head, o.Base.Seq)
	case o.Head == o.Base.Seq:
		return nil
	}
	return checkCommitCert(cfg, cd, o.Head, o.HeadBatch, o.HeadCert)
}

// checkCommitCert checks that cert is q COMMITs of distinct conf enclaves of cfg, in
// increasing replica order, in one view, for (seq, BatchDigest(batch)) (SPEC.md §3.4).
func checkCommitCert(cfg *spec.Config, cd spec.Digest, seq uint64, batch []byte, cert [][]byte) error {
	var b spec.Batch
	if err := spec.Decode(batch, &b, spec.MaxBodyBytes(spec.KindBatch)); err != nil {
		return fmt.Errorf("head batch %d malformed: %v", seq, err)
	}
	if len(cert) != cfg.Quorum() {
		return fmt.Errorf("head %d: %d COMMITs, want %d", seq, len(cert), cfg.Quorum())
	}
	d := spec.Hash(spec.DomainBatch, batch)
	var view uint64
	for i, raw := range cert {
		var c spec.Commit
		if err := spec.Decode(raw, &c, spec.MaxBodyBytes(spec.KindCommit)); err != nil {
			return fmt.Errorf("head %d: COMMIT %d malformed", seq, i)
		}
		if i == 0 {
			view = c.Body.View
		}
		if c.Body.Seq != seq || c.Body.Digest != d || c.Body.View != view || c.Body.Replica >= cfg.N ||
			(i > 0 && c.Body.Replica <= lastReplica(cert[i-1])) {
			return fmt.Errorf("head %d: COMMIT %d is for another slot, view or batch, or out of order", seq, i)
		}
		key := cfg.Replicas[c.Body.Replica].Conf.Body.SignKey
		if !verifyEd(key, spec.SignedBytes(spec.DomainCommit, cd, spec.Encode(&c.Body)), c.Sig) {
			return fmt.Errorf("head %d: COMMIT of replica %d: bad signature", seq, c.Body.Replica)
		}
	}
	return nil
}

func lastReplica(raw []byte) uint64 {
	var c spec.Commit
	spec.Decode(raw, &c, spec.MaxBodyBytes(spec.KindCommit)) // checked by the caller before
	return c.Body.Replica
}
