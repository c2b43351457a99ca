package exec

import "github.com/splitbft/splitbft/spec"

// This file is checkpoint collection (SPEC.md §8.3, §8.4) and Execution's own
// checkpoints (§11.5) with the effect of a new stable checkpoint (§11.6).

// checkpoints is the checkpoint state every compartment keeps (§8.3).
type checkpoints struct {
	h          uint64              // sequence number of the stable checkpoint
	stableCert spec.CheckpointCert // a certificate for h; the genesis certificate at first
	// cps[sender][seq] is the checkpoint stored from sender for seq. Invariant: every
	// seq > h, a positive multiple of K; per sender at most one seq > h + L (its far
	// checkpoint), so at most L/K + 1 per sender.
	cps map[uint64]map[uint64]*spec.Checkpoint
}

func newCheckpoints() checkpoints {
	return checkpoints{cps: map[uint64]map[uint64]*spec.Checkpoint{}}
}

// onCheckpoint handles a CHECKPOINT input (CP1–CP7), then stores it.
func (e *Exec) onCheckpoint(c *spec.Checkpoint) uint64 {
	if code := e.checkCheckpoint(c); code != 0 {
		return code
	}
	e.storeCheckpoint(c)
	return 0
}

// checkCheckpoint evaluates CP1–CP7 in order without changing state.
func (e *Exec) checkCheckpoint(c *spec.Checkpoint) uint64 {
	b := &c.Body
	switch {
	case b.Replica >= e.cfg.N: // CP1
		return spec.CodeUnknownSender
	case b.Seq == 0 || b.Seq%e.cfg.CheckpointInterval != 0: // CP2
		return spec.CodeBadCheckpoint
	case b.Seq <= e.ck.h: // CP3
		return spec.CodeStale
	case !verifySig(e.key(spec.RoleExec, b.Replica), spec.DomainCheckpoint, e.cd, spec.Encode(b), c.Sig): // CP4
		return spec.CodeBadSignature
	}
	if old := e.ck.cps[b.Replica][b.Seq]; old != nil {
		if old.Body.State == b.State { // CP5
			return spec.CodeDuplicate
		}
		return spec.CodeConflict // CP6
	}
	if b.Seq > e.window() { // CP7
		if far, ok := e.farCheckpoint(b.Replica); ok && far >= b.Seq {
			return spec.CodeStale
		}
	}
	return 0
}

// farCheckpoint returns the sequence number of sender's stored checkpoint above h + L.
func (e *Exec) farCheckpoint(sender uint64) (uint64, bool) {
	for s := range e.ck.cps[sender] {
		if s > e.window() {
			return s, true
		}
	}
	return 0, false
}

// storeCheckpoint stores an accepted checkpoint under its sender (replacing the
// sender's previous far checkpoint if this one is far) and makes (Seq, State) stable
// once q distinct senders have stored it.
func (e *Exec) storeCheckpoint(c *spec.Checkpoint) {
	b := &c.Body
	if b.Seq > e.window() {
		if far, ok := e.farCheckpoint(b.Replica); ok {
			delete(e.ck.cps[b.Replica], far)
		}
	}
	if e.ck.cps[b.Replica] == nil {
		e.ck.cps[b.Replica] = map[uint64]*spec.Checkpoint{}
	}
	e.ck.cps[b.Replica][b.Seq] = c
	proof := make([]spec.Checkpoint, 0, e.quorum())
	for r := uint64(0); r < e.cfg.N && len(proof) < e.quorum(); r++ {
		if m := e.ck.cps[r][b.Seq]; m != nil && m.Body.State == b.State {
			proof = append(proof, *m)
		}
	}
	if len(proof) == e.quorum() {
		e.makeStable(spec.CheckpointCert{Seq: b.Seq, State: b.State, Proof: proof})
	}
}

// makeStable installs cert (with cert.Seq > h) as the stable checkpoint: §8.3's
// pruning, then Execution's effect (§11.6).
func (e *Exec) makeStable(cert spec.CheckpointCert) {
	h := cert.Seq
	e.ck.h, e.ck.stableCert = h, cert
	for r, m := range e.ck.cps {
		for s := range m {
			if s <= h {
				delete(m, s)
			}
		}
		if len(m) == 0 {
			delete(e.ck.cps, r)
		}
	}
	e.stable = nil
	// SPEC.md (clarified after review): §11.6 makes snapshots[h] the stable snapshot "if it exists"; it is
	// made so only if it also hashes to the certified State, so that this exec never
	// serves a snapshot that cannot pass the receiver's digest check.
	if snap := e.snapshots[h]; snap != nil && snap.digest == cert.State {
		e.stable = snap
	}
	pruneBelow(e.snapshots, h)
	pruneBelow(e.commits, h)
	pruneBelow(e.committed, h)
	e.pruneOldBatches(h)
	e.transfer = nil // any transfer in progress was for an older target
}

// signCheckpoint signs this exec's CHECKPOINT for (s, d) and emits it to every
// compartment of every replica (§11.5, and §11.7 after installing a transfer).
func (e *Exec) signCheckpoint(s uint64, d spec.Digest) *spec.Checkpoint {
	body := spec.CheckpointBody{Seq: s, State: d, Replica: e.replica}
	cp := &spec.Checkpoint{Body: body, Sig: e.signKey.sign(spec.DomainCheckpoint, e.cd, spec.Encode(&body))}
	e.emit(spec.KindCheckpoint, spec.Destination{Roles: spec.ToPrep | spec.ToConf | spec.ToExec, Replicas: e.allReplicas()}, spec.Encode(cp))
	return cp
}

// pruneBelow deletes the entries of m with key ≤ h.
func pruneBelow[V any](m map[uint64]V, h uint64) {
	for s := range m {
		if s <= h {
			delete(m, s)
		}
	}
}

// produceCheckpoint takes the snapshot after executing s (a multiple of K), emits the
// signed CHECKPOINT to every compartment of every replica, and stores it (§11.5).
func (e *Exec) produceCheckpoint(s uint64) {
	data := spec.Encode(&spec.Snapshot{Seq: s, App: e.app.Snapshot(), Clients: e.clientEntries()})
	d := spec.StateDigest(data)
	e.snapshots[s] = &heldSnapshot{seq: s, data: data, digest: d}
	cp := e.signCheckpoint(s, d)
	// By the same rule (§8.3): s > h and s ≤ h + L always hold here, and this exec has
	// signed nothing else for s, so CP1–CP7 accept it.
	if code := e.checkCheckpoint(cp); code != 0 {
		panic("exec: own checkpoint rejected by §8.3")
	}
	e.storeCheckpoint(cp)
}

// pruneOldBatches applies the age rule of §11.6: a batch stored when the stable
// checkpoint was at, with at + L ≤ h, and named by no committed entry above h, is
// dropped. A valid batch stored then was for a sequence number ≤ at + L ≤ h, so it has
// executed or been superseded; if it is still needed the broker re-fetches it.
func (e *Exec) pruneOldBatches(h uint64) {
	for d, at := range e.batchAge {
		if at+e.cfg.Window <= h && !e.stillCommitted(d) {
			e.dropBatch(d)
		}
	}
}

// dropBatch removes a stored batch.
func (e *Exec) dropBatch(d spec.Digest) {
	delete(e.batches, d)
	delete(e.batchAge, d)
}
