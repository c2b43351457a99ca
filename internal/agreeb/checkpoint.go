package agreeb

import (
	"sort"

	"github.com/splitbft/splitbft/spec"
)

// Checkpoints is the checkpoint collection state of SPEC.md §8.3: h, stableCert and
// the store of accepted CHECKPOINTs. The zero value is not usable; build one with
// NewCheckpoints. Every method leaves it unchanged when it rejects.
type Checkpoints struct {
	// h is the sequence number of the latest stable checkpoint; h == stable.Seq, and
	// it never decreases.
	h uint64
	// stable is a valid checkpoint certificate for h (at first the epoch's genesis
	// certificate, SPEC §17.1).
	stable spec.CheckpointCert
	// bySender[r][s] is the accepted CHECKPOINT of exec r for sequence number s.
	// Invariants: every stored s > h; at most one stored s per sender is above h + L
	// (its "far" checkpoint); so the store holds at most n·(L/K + 1) entries.
	bySender map[uint64]map[uint64]*spec.Checkpoint
}

// NewCheckpoints returns the state at the start of cl's epoch, after configure or
// the adoption of an epoch change (SPEC §8.1, §17.4): h = StartSeq, the epoch's
// genesis certificate, an empty store.
func NewCheckpoints(cl *Cluster) Checkpoints {
	g := cl.Cfg.GenesisCert()
	return Checkpoints{h: g.Seq, stable: g, bySender: map[uint64]map[uint64]*spec.Checkpoint{}}
}

// H returns h, the sequence number of the latest stable checkpoint.
func (cp *Checkpoints) H() uint64 { return cp.h }

// Stable returns stableCert, the certificate of the latest stable checkpoint. Its
// Proof is shared with the state and must not be modified.
func (cp *Checkpoints) Stable() spec.CheckpointCert { return cp.stable }

// Accept handles a CHECKPOINT (§8.3) under cluster cl: it applies lines CP1–CP7 and
// returns the first failing line's code (the state unchanged), or stores c and
// returns 0. stable reports whether c made a new checkpoint stable; if so h and
// stableCert are updated and the store pruned, and the caller must apply its
// role-specific effect.
func (cp *Checkpoints) Accept(cl *Cluster, c *spec.Checkpoint) (code uint64, stable bool) {
	if code := cp.check(cl, c); code != 0 {
		return code, false
	}
	return 0, cp.add(cl, c)
}

// check applies lines CP1–CP7 and returns the reject code, or 0 if c is acceptable.
func (cp *Checkpoints) check(cl *Cluster, c *spec.Checkpoint) uint64 {
	b := &c.Body
	switch {
	case b.Replica >= cl.N: // CP1
		return spec.CodeUnknownSender
	case b.Seq == 0 || b.Seq%cl.K != 0: // CP2
		return spec.CodeBadCheckpoint
	case b.Seq <= cp.h: // CP3
		return spec.CodeStale
	case !cl.Verify(spec.RoleExec, b.Replica, spec.DomainCheckpoint, b, c.Sig): // CP4
		return spec.CodeBadSignature
	}
	if old, ok := cp.bySender[b.Replica][b.Seq]; ok {
		if old.Body.State == b.State { // CP5
			return spec.CodeDuplicate
		}
		return spec.CodeConflict // CP6
	}
	if b.Seq-cp.h > cl.L { // CP7: a far checkpoint must be above the sender's previous far one
		if far, ok := cp.far(cl, b.Replica); ok && far >= b.Seq {
			return spec.CodeStale
		}
	}
	return 0
}

// far returns the sequence number of the sender's far checkpoint (Seq > h + L), if any.
func (cp *Checkpoints) far(cl *Cluster, r uint64) (uint64, bool) {
	for s := range cp.bySender[r] {
		if s-cp.h > cl.L {
			return s, true
		}
	}
	return 0, false
}

// add stores an accepted checkpoint (after check returned 0) and reports whether it
// made a new checkpoint stable; if so h and stable are updated and the store pruned.
func (cp *Checkpoints) add(cl *Cluster, c *spec.Checkpoint) bool {
	b := &c.Body
	if b.Seq-cp.h > cl.L {
		if far, ok := cp.far(cl, b.Replica); ok {
			delete(cp.bySender[b.Replica], far)
		}
	}
	if cp.bySender[b.Replica] == nil {
		cp.bySender[b.Replica] = map[uint64]*spec.Checkpoint{}
	}
	cp.bySender[b.Replica][b.Seq] = c
	proof := cp.matching(b.Seq, b.State)
	if uint64(len(proof)) < cl.Q {
		return false
	}
	cp.setStable(spec.CheckpointCert{Seq: b.Seq, State: b.State, Proof: proof[:cl.Q]})
	return true
}

// matching returns the stored checkpoints with (seq, state), sorted by sender.
func (cp *Checkpoints) matching(seq uint64, state spec.Digest) []spec.Checkpoint {
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

// Adopt makes cert the stable checkpoint if it is above h (SPEC.md §8.4) and reports
// whether it did; the caller must then apply its role-specific effect. cert must be
// a valid checkpoint certificate; its Proof is copied.
func (cp *Checkpoints) Adopt(cert *spec.CheckpointCert) bool {
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
func (cp *Checkpoints) setStable(cert spec.CheckpointCert) {
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
