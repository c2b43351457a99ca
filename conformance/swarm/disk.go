package swarm

import (
	"cmp"
	"crypto/ed25519"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// This file is what each replica's broker persists for a whole-cluster restart
// (SPEC.md §13.5, §17.8): the committed batches with their commit certificates, the
// latest stable snapshot's chunks (from a self state request) with its checkpoint
// certificate, and the sealed group key. A disk belongs to the replica, not to an
// enclave: it survives every restart. What it offers the members' tool is its latest
// base and the highest sequence number up to which it holds every batch above it.

// disk is one replica's persisted state.
type disk struct {
	log    map[uint64]logRecord // by sequence number
	snap   *snapRecord          // the latest stable snapshot taken, or nil
	sealed *spec.SealedGroupKey // the group key as its exec sealed it, or nil
}

// logRecord is one committed batch: its digest, encoding (nil for the null batch)
// and the q encoded COMMITs that certify it.
type logRecord struct {
	digest spec.Digest
	batch  []byte
	cert   [][]byte
}

// snapRecord is a stable snapshot: its certificate (valid in epoch) and the encoded
// StateChunks its exec served for it (none for the genesis state at 0).
type snapRecord struct {
	epoch  uint64
	cert   spec.CheckpointCert
	chunks [][]byte
}

// offer is what one disk proves to the members' tool: a base and the head up to
// which it holds every committed batch above the base.
type offer struct {
	replica uint64
	base    spec.CheckpointCert
	chunks  [][]byte
	head    uint64
}

// diskOf returns replica r's disk, creating the disks on first use.
func (s *sim) diskOf(r uint64) *disk {
	for uint64(len(s.disks)) <= r {
		s.disks = append(s.disks, &disk{log: map[uint64]logRecord{}})
	}
	return s.disks[r]
}

// persistExecuted records the batches a correct exec just executed, with the
// commit certificates the oracles' model of it holds: its broker writes a batch to
// its ledger before it releases a reply to it (SPEC §13.5).
func (s *sim) persistExecuted(nd *node, seqs []uint64) {
	d := s.diskOf(nd.id.Replica)
	for _, q := range seqs {
		dg, ok := nd.shadow.committed[q]
		cert := nd.shadow.certs[q]
		if !ok || len(cert) == 0 {
			continue
		}
		rec := logRecord{digest: dg, cert: cert}
		if dg != s.null {
			bi := s.batches[dg]
			if bi == nil {
				continue
			}
			rec.batch = bi.raw
		}
		d.log[q] = rec
	}
}

// persistAtCrash is what replica r's broker holds of its exec when every enclave
// stops: the chunks of its stable snapshot (a self state request, §13.5) and the
// sealed group key (seal-key, §11.2). An exec that is not correct, not configured in
// the latest epoch or waiting for state leaves the disk as it was.
func (s *sim) persistAtCrash(r uint64) {
	nd, d := s.nodes[r][spec.RoleExec], s.diskOf(r)
	st := nd.status
	if !nd.correct() || nd.inst.dead || nd.epoch != s.latest() || !st.Configured || st.NeedState || st.Stable < s.cfg.StartSeq {
		return
	}
	if out, ok := s.plainStep(nd.inst, []spec.Input{{Kind: spec.KindSealKey, Body: spec.Encode(&spec.SealGet{})}}); ok {
		for _, o := range out.outputs {
			var sk spec.SealedGroupKey
			if o.Kind == spec.KindSealedKey && spec.Decode(o.Body, &sk, spec.MaxBodyBytes(o.Kind)) == nil {
				d.sealed = &sk
			}
		}
	}
	cert, ok := s.checkpointCert(st.Stable)
	if !ok {
		return
	}
	if cert.Seq == 0 {
		d.snap = &snapRecord{epoch: s.latest(), cert: cert}
		return
	}
	if chunks, ok := s.selfStateRequest(nd, cert); ok {
		d.snap = &snapRecord{epoch: s.latest(), cert: cert, chunks: chunks}
	}
}

// selfStateRequest asks exec nd for the chunks of the snapshot cert certifies, on
// behalf of its own replica, until it holds all of them.
func (s *sim) selfStateRequest(nd *node, cert spec.CheckpointCert) ([][]byte, bool) {
	var chunks [][]byte
	for {
		req := spec.StateRequest{Seq: cert.Seq, State: cert.State, Replica: nd.id.Replica, Index: uint64(len(chunks))}
		out, ok := s.plainStep(nd.inst, []spec.Input{{Kind: spec.KindStateRequest, Body: spec.Encode(&req)}})
		if !ok || out.codes[0] != 0 {
			return nil, false
		}
		s.scanSecret(nd, out.raws[0])
		count, got := uint64(0), 0
		for _, o := range out.outputs {
			var c spec.StateChunk
			if o.Kind == spec.KindStateChunk && spec.Decode(o.Body, &c, spec.MaxBodyBytes(o.Kind)) == nil {
				chunks, count, got = append(chunks, o.Body), c.Count, got+1
			}
		}
		if got == 0 {
			return nil, false
		}
		if uint64(len(chunks)) >= count {
			return chunks, true
		}
	}
}

// checkpointCert builds the latest configuration's checkpoint certificate for seq:
// its genesis certificate at StartSeq, else q CHECKPOINTs from the pool that agree
// on one state and verify under it (as a broker collects them).
func (s *sim) checkpointCert(seq uint64) (spec.CheckpointCert, bool) {
	if seq == s.cfg.StartSeq {
		return s.cfg.GenesisCert(), true
	}
	byState := map[spec.Digest]map[uint64]spec.Checkpoint{}
	for _, id := range s.byKind[spec.KindCheckpoint] {
		var c spec.Checkpoint
		if spec.Decode(s.pool[id].body, &c, spec.MaxBodyBytes(spec.KindCheckpoint)) != nil || c.Body.Seq != seq || c.Body.Replica >= s.cfg.N {
			continue
		}
		key := s.cfg.Replicas[c.Body.Replica].Exec.Body.SignKey
		if !ed25519.Verify(key[:], spec.SignedBytes(spec.DomainCheckpoint, s.cd, spec.Encode(&c.Body)), c.Sig[:]) {
			continue
		}
		if byState[c.Body.State] == nil {
			byState[c.Body.State] = map[uint64]spec.Checkpoint{}
		}
		byState[c.Body.State][c.Body.Replica] = c
	}
	for st, by := range byState {
		if len(by) < s.quorum() {
			continue
		}
		cert := spec.CheckpointCert{Seq: seq, State: st}
		for r := range s.cfg.N {
			if c, ok := by[r]; ok && len(cert.Proof) < s.quorum() {
				cert.Proof = append(cert.Proof, c)
			}
		}
		if spec.VerifyCheckpointCert(s.cfg, s.cd, &cert, verifySig) == nil {
			return cert, true
		}
	}
	return spec.CheckpointCert{}, false
}

// offerOf returns what replica r's disk offers for a recovery from the latest
// configuration C: its snapshot's base if it is of C, else C's genesis when that
// needs no snapshot (StartSeq 0); and the head up to which it holds every batch.
func (s *sim) offerOf(r uint64) (offer, bool) {
	d := s.diskOf(r)
	o := offer{replica: r}
	switch {
	case d.snap != nil && d.snap.epoch == s.latest():
		o.base, o.chunks = d.snap.cert, d.snap.chunks
	case s.cfg.StartSeq == 0:
		o.base = s.cfg.GenesisCert()
	default:
		return o, false
	}
	o.head = o.base.Seq
	for {
		if rec, ok := d.log[o.head+1]; !ok || !rec.proves(o.head+1) {
			return o, true
		}
		o.head++
	}
}

// proves is the members' tool's check of a record for seq (SPEC §17.8: it verifies
// what each offer claims): the batch is the one its first COMMIT certifies. (The
// signatures are the exec's to check; a forged batch under a genuine certificate is
// what the adversary's disk holds.)
func (r logRecord) proves(seq uint64) bool {
	var c spec.Commit
	if len(r.cert) == 0 || spec.Decode(r.cert[0], &c, spec.MaxBodyBytes(spec.KindCommit)) != nil || c.Body.Seq != seq || c.Body.Digest != r.digest {
		return false
	}
	if r.batch == nil {
		return r.digest == spec.NullBatchDigest()
	}
	var b spec.Batch
	return spec.Decode(r.batch, &b, spec.MaxBodyBytes(spec.KindBatch)) == nil && spec.BatchDigest(&b) == r.digest
}

// chooseOffer is the members' tool's choice (SPEC §17.8): the highest head, ties
// broken by the highest base.
func chooseOffer(offers []offer) offer {
	return slices.MaxFunc(offers, func(a, b offer) int {
		if a.head != b.head {
			return cmp.Compare(a.head, b.head)
		}
		return cmp.Compare(a.base.Seq, b.base.Seq)
	})
}

// breakDisk is the adversary's faulty disk (at most f replicas, SPEC §17.8): a
// replica whose exec is not correct (its broker is the faulty one) or, if every exec
// is correct, sometimes a random one, loses the tail of its log, its snapshot (an
// older base), or everything but its sealed key, or holds a forged batch under a
// genuine commit certificate.
func (s *sim) breakDisk() {
	victim := -1
	for r := range s.nodes {
		if !s.nodes[r][spec.RoleExec].correct() {
			victim = r
		}
	}
	if victim < 0 && s.rng.IntN(2) == 0 {
		victim = s.rng.IntN(len(s.nodes))
	}
	if victim < 0 {
		return
	}
	d := s.diskOf(uint64(victim))
	switch s.rng.IntN(4) {
	case 3:
		s.forgeRecord(victim, d)
	case 0:
		cut := s.cfg.StartSeq
		if o, ok := s.offerOf(uint64(victim)); ok && o.head > o.base.Seq {
			cut = o.base.Seq + s.rng.Uint64N(o.head-o.base.Seq)
		}
		for q := range d.log {
			if q > cut {
				delete(d.log, q)
			}
		}
		s.logf("  disk of replica %d: log cut after %d", victim, cut)
	case 1:
		d.snap = nil
		s.logf("  disk of replica %d: snapshot lost", victim)
	default:
		d.log, d.snap = map[uint64]logRecord{}, nil
		s.logf("  disk of replica %d: log and snapshot lost", victim)
	}
}

// forgeRecord replaces the batch of one record of the latest epoch on disk d by
// another batch seen in the run (its certificate stays genuine).
func (s *sim) forgeRecord(victim int, d *disk) {
	var seqs []uint64
	for q, r := range d.log {
		if q > s.cfg.StartSeq && r.batch != nil {
			seqs = append(seqs, q)
		}
	}
	if len(seqs) == 0 || len(s.batchList) < 2 {
		return
	}
	slices.Sort(seqs)
	q := seqs[s.rng.IntN(len(seqs))]
	r := d.log[q]
	for _, dg := range s.batchList {
		if dg != r.digest {
			r.batch = s.batches[dg].raw
			d.log[q] = r
			s.logf("  disk of replica %d: batch at %d forged", victim, q)
			return
		}
	}
}
