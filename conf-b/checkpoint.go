package confb

import (
	"sort"

	"github.com/splitbft/splitbft/spec"
)

// checkpoints is the checkpoint collection state of SPEC.md §8.3, shared in shape by
// every compartment.
type checkpoints struct {
	// h is the sequence number of the latest stable checkpoint; h == stable.Seq.
	h uint64
	// stable is a valid checkpoint certificate for h (the genesis certificate at 0).
	stable spec.CheckpointCert
	// bySender[r][s] is the accepted CHECKPOINT of exec r for sequence number s.
	// Invariants: every stored s > h; at most one stored s per sender is above h + L
	// (its "far" checkpoint); so the store holds at most n·(L/K + 1) entries.
	bySender map[uint64]map[uint64]*spec.Checkpoint
}

// newCheckpoints returns the state after configure: h = 0, the genesis certificate.
func newCheckpoints() checkpoints {
	return checkpoints{bySender: map[uint64]map[uint64]*spec.Checkpoint{}}
}

// check applies lines CP1–CP7 and returns the reject code, or 0 if c is acceptable.
func (cp *checkpoints) check(cl *cluster, c *spec.Checkpoint) uint64 {
	b := &c.Body
	switch {
	case b.Replica >= cl.n: // CP1
		return spec.CodeUnknownSender
	case b.Seq == 0 || b.Seq%cl.k != 0: // CP2
		return spec.CodeBadCheckpoint
	case b.Seq <= cp.h: // CP3
		return spec.CodeStale
	case !cl.verify(spec.RoleExec, b.Replica, spec.DomainCheckpoint, b, c.Sig): // CP4
		return spec.CodeBadSignature
	}
	if old, ok := cp.bySender[b.Replica][b.Seq]; ok {
		if old.Body.State == b.State { // CP5
			return spec.CodeDuplicate
		}
		return spec.CodeConflict // CP6
	}
	if b.Seq-cp.h > cl.l { // CP7: a far checkpoint must be above the sender's previous far one
		if far, ok := cp.far(cl, b.Replica); ok && far >= b.Seq {
			return spec.CodeStale
		}
	}
	return 0
}

// far returns the sequence number of the sender's far checkpoint (Seq > h + L), if any.
func (cp *checkpoints) far(cl *cluster, r uint64) (uint64, bool) {
	for s := range cp.bySender[r] {
		if s-cp.h > cl.l {
			return s, true
		}
	}
	return 0, false
}

// add stores an accepted checkpoint (after check returned 0) and reports whether it
// made a new checkpoint stable; if so h and stable are updated and the store pruned,
// and the caller must apply its role-specific effect.
func (cp *checkpoints) add(cl *cluster, c *spec.Checkpoint) bool {
	b := &c.Body
	if b.Seq-cp.h > cl.l {
		if far, ok := cp.far(cl, b.Replica); ok {
			delete(cp.bySender[b.Replica], far)
		}
	}
	if cp.bySender[b.Replica] == nil {
		cp.bySender[b.Replica] = map[uint64]*spec.Checkpoint{}
	}
	cp.bySender[b.Replica][b.Seq] = c
	proof := cp.matching(b.Seq, b.State)
	if uint64(len(proof)) < cl.q {
		return false
	}
	cp.setStable(spec.CheckpointCert{Seq: b.Seq, State: b.State, Proof: proof[:cl.q]})
	return true
}

// matching returns the stored checkpoints with (seq, state), sorted by sender.
func (cp *checkpoints) matching(seq uint64, state spec.Digest) []spec.Checkpoint {
	senders := make([]uint64, 0, len(cp.bySender))
	for r, m := range cp.bySender {
		if c, ok := m[seq]; ok && c.Body.State == state {
			senders = append(senders, r)
		}
	}
	sort.Slice(senders, func(i, j int) bool { return senders[i] < senders[j] })
	out := make([]spec.Checkpoint, len(senders))
	for i, r := range senders {
		out[i] = *cp.bySender[r][seq]
	}
	return out
}

// adopt makes cert the stable checkpoint if it is above h (SPEC.md §8.4) and reports
// whether it did; the caller must then apply its role-specific effect. cert must be
// a valid checkpoint certificate.
func (cp *checkpoints) adopt(cert *spec.CheckpointCert) bool {
	if cert.Seq <= cp.h {
		return false
	}
	// SPEC-AMBIGUITY: §8.4 says "adopts it as if it had become stable by §8.3" without
	// saying which proof stableCert then carries; we keep the adopted certificate as
	// it is (the VIEW-CHANGE's Proof), rather than rebuilding a proof from the lowest
	// replica ids among our own stored checkpoints.
	cp.setStable(spec.CheckpointCert{Seq: cert.Seq, State: cert.State, Proof: append([]spec.Checkpoint(nil), cert.Proof...)})
	return true
}

// setStable installs a new stable certificate and removes every stored checkpoint
// at or below it.
func (cp *checkpoints) setStable(cert spec.CheckpointCert) {
	cp.stable = cert
	cp.h = cert.Seq
	for r, m := range cp.bySender {
		for s := range m {
			if s <= cp.h {
				delete(m, s)
			}
		}
		if len(m) == 0 {
			delete(cp.bySender, r)
		}
	}
}

// onCheckpoint handles a CHECKPOINT (§8.3) and, when it makes a checkpoint stable,
// applies conf's effect (§10.5).
func (x *Confirmation) onCheckpoint(m *spec.Checkpoint) uint64 {
	if code := x.cps.check(x.cl, m); code != 0 {
		return code
	}
	if x.cps.add(x.cl, m) {
		x.onStable()
	}
	return 0
}

// onStable is conf's effect of a new stable checkpoint h (§10.5): drop slots and
// prepared certificates at or below h.
func (x *Confirmation) onStable() {
	for s := range x.slots {
		if s <= x.cps.h {
			delete(x.slots, s)
		}
	}
	for s := range x.pset {
		if s <= x.cps.h {
			delete(x.pset, s)
		}
	}
}
