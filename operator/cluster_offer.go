package operator

import (
	"errors"
	"fmt"

	"github.com/splitbft/splitbft/broker"
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
	// Lead is empty, or the lead-in (SPEC.md §17.8 RV6) by which a replay reaches
	// Base, C's genesis certificate, when the ledger holds no snapshot of C's start:
	// the earlier epochs since its newest snapshot, and that snapshot's certificate.
	Lead []spec.LeadIn
	// Gateway is empty, or enc(spec.GatewayAttestation) of the Redis gateway the
	// replica started for this recovery (SPEC §16.2): the plan registers it. In the
	// offer, fixed for the recovery, so that the plan the tool builds from the offers
	// is the same each time it runs.
	Gateway []byte
}

// RecoveryPost is the body of POST /recovery.
type RecoveryPost struct {
	_      struct{} `cbor:",toarray"`
	Plan   spec.RecoveryPlan
	Source uint64        // the replica whose offer was chosen: it serves what others lack
	Lead   []spec.LeadIn // the chosen offer's lead-in: every replay starts from its base
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
// certificate when it needs no snapshot), and the contiguous head above it. When the
// newest snapshot was sealed in an earlier epoch of the chain (the broker stopped
// before it took one at cfg's start), the base is cfg's genesis certificate reached
// by a lead-in from that snapshot, if the log above it reaches cfg.StartSeq.
func buildOffer(id uint64, own [3]spec.Enrollment, gateway []byte, c *Chain, cfg *spec.Config, led *ledger.Ledger) *RecoveryOffer {
	o := &RecoveryOffer{Replica: id, Enrollments: own[:], Chain: *c, Gateway: gateway}
	from := uint64(0) // the seq the contiguous head is counted from
	if rec, err := led.LatestSnapshot(); err == nil {
		switch cert, err := led.Checkpoint(rec.Seq); {
		case rec.Config != spec.ConfigDigest(cfg):
			// sealed under an earlier epoch's state key: no exec of cfg opens it, but
			// a replay can start under that epoch and cross into cfg
			if lead, ok := leadIn(c, cfg, rec, led); ok && led.Contiguous(lead.Base.Seq) >= cfg.StartSeq {
				o.HasBase, o.Base, o.Lead, from = true, cfg.GenesisCert(), []spec.LeadIn{*lead}, lead.Base.Seq
			}
		case rec.Seq == cfg.StartSeq && rec.State == cfg.StartState:
			o.HasBase, o.Base, from = true, cfg.GenesisCert(), rec.Seq
		case err == nil && rec.Seq > cfg.StartSeq && cert.State == rec.State:
			o.HasBase, o.Base, from = true, *cert, rec.Seq
		}
	}
	if !o.HasBase && cfg.StartSeq == 0 {
		o.HasBase, o.Base = true, cfg.GenesisCert() // the empty state: no snapshot needed
	}
	o.Head = o.Base.Seq
	if o.HasBase {
		o.Head = max(led.Contiguous(from), o.Base.Seq)
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

// leadIn returns the lead-in from rec, the ledger's newest snapshot, sealed under an
// earlier configuration E of chain c (which ends in cfg): the configurations from E
// to the one before cfg, and rec's certificate under E (E's genesis certificate, or
// the checkpoint certificate the ledger holds). False when rec's configuration is
// not in the chain, the lead-in would cross more than spec.MaxLeadConfigs epochs
// or another exec group key, or no certificate of rec is held.
func leadIn(c *Chain, cfg *spec.Config, rec *ledger.SnapshotRecord, led *ledger.Ledger) (*spec.LeadIn, bool) {
	raws := chainConfigs(c)
	if len(raws) < 2 {
		return nil, false
	}
	raws = raws[:len(raws)-1] // the last is cfg itself
	for i := len(raws) - 1; i >= 0 && len(raws)-i <= spec.MaxLeadConfigs; i-- {
		var e spec.Config
		if spec.Decode(raws[i], &e, spec.MaxMessageBytes) != nil || e.ExecGroupKey != cfg.ExecGroupKey {
			return nil, false
		}
		if spec.ConfigDigest(&e) != rec.Config {
			continue
		}
		lead := &spec.LeadIn{Configs: raws[i:]}
		if rec.Seq == e.StartSeq && rec.State == e.StartState {
			lead.Base = e.GenesisCert()
		} else if cert, err := led.Checkpoint(rec.Seq); err == nil && cert.State == rec.State {
			lead.Base = *cert
		} else {
			return nil, false
		}
		return lead, true
	}
	return nil, false
}

// chainConfigs returns the canonical encodings of the configurations of chain c in
// order: its genesis, then the one each step starts (c is verified by the caller).
func chainConfigs(c *Chain) [][]byte {
	out := [][]byte{c.Genesis}
	for _, st := range c.Changes {
		switch {
		case st.Change != nil:
			out = append(out, st.Change.Config)
		case st.Recovery != nil:
			out = append(out, st.Recovery.Config)
		}
	}
	return out
}

// checkOfferProofs verifies what an offer claims under cfg (digest cd): the base
// certificate (K1–K5, in cfg's epoch), its lead-in if any (RV6: the epochs before
// cfg and a certified state of the first; that the log reaches cfg's start is the
// offering broker's word, which the replay checks), and the head batch's commit
// certificate.
func checkOfferProofs(o *RecoveryOffer, cfg *spec.Config, cd spec.Digest) error {
	if !o.HasBase {
		return errors.New("no certified base with a snapshot")
	}
	if err := spec.VerifyCheckpointCert(cfg, cd, &o.Base, verifyEd); err != nil || o.Base.Seq < cfg.StartSeq {
		return fmt.Errorf("base certificate of seq %d invalid for epoch %d: %v", o.Base.Seq, cfg.Epoch, err)
	}
	switch len(o.Lead) {
	case 0:
	case 1:
		plan := spec.RecoveryPlan{Body: spec.RecoveryPlanBody{Base: o.Base}}
		if _, _, err := spec.VerifyLeadIn(cfg, &plan, &o.Lead[0], verifyEd, broker.AdmitKey); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%d lead-ins, want at most one", len(o.Lead))
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
