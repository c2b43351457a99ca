package confa

import "github.com/splitbft/splitbft/spec"

// checkpoints is the checkpoint state every compartment keeps (SPEC.md §8.3).
type checkpoints struct {
	h      uint64              // stable sequence number: 0 or a multiple of K
	stable spec.CheckpointCert // certificate of h; the genesis certificate while h == 0
	// store[r][s] is the checkpoint accepted from exec r for seq s. Invariant: every
	// s > h; per sender at most one s > h + L (its "far" checkpoint); so at most
	// n·(L/K + 1) entries.
	store map[uint64]map[uint64]spec.Checkpoint
}

// newCheckpoints returns the state after configure: genesis, empty store.
func newCheckpoints() checkpoints {
	return checkpoints{store: map[uint64]map[uint64]spec.Checkpoint{}}
}

// onCheckpoint handles a CHECKPOINT (§8.3, CP1–CP7).
func (c *Conf) onCheckpoint(ck *spec.Checkpoint) verdict {
	if v := c.checkCheckpoint(ck); v.code != 0 {
		return v
	}
	if cert := c.cp.add(ck, c.window(), c.q()); cert != nil {
		c.stabilize(cert)
	}
	return accept
}

// checkCheckpoint applies CP1–CP7 in order.
func (c *Conf) checkCheckpoint(ck *spec.Checkpoint) verdict {
	b := &ck.Body
	switch {
	case b.Replica >= c.n():
		return fail(spec.CodeUnknownSender) // CP1
	case b.Seq == 0 || b.Seq%c.cfg.CheckpointInterval != 0:
		return fail(spec.CodeBadCheckpoint) // CP2
	case b.Seq <= c.cp.h:
		return fail(spec.CodeStale) // CP3
	case !verifySig(c.enrolledKey(spec.RoleExec, b.Replica), spec.DomainCheckpoint, c.cd, spec.Encode(b), ck.Sig):
		return fail(spec.CodeBadSignature) // CP4
	}
	if old, ok := c.cp.store[b.Replica][b.Seq]; ok {
		if old.Body.State == b.State {
			return fail(spec.CodeDuplicate) // CP5
		}
		return fail(spec.CodeConflict) // CP6
	}
	if !inWindow(b.Seq, c.cp.h, c.window()) {
		if far, ok := c.cp.far(b.Replica, c.window()); ok && far >= b.Seq {
			return fail(spec.CodeStale) // CP7
		}
	}
	return accept
}

// far returns the seq of sender r's stored far checkpoint (s > h + L), if any.
func (cp *checkpoints) far(r, l uint64) (uint64, bool) {
	for s := range cp.store[r] {
		if !inWindow(s, cp.h, l) {
			return s, true
		}
	}
	return 0, false
}

// add stores an accepted checkpoint, replacing its sender's previous far one if it is
// far itself, and returns the new stable certificate if q senders now hold this
// (Seq, State), else nil.
func (cp *checkpoints) add(ck *spec.Checkpoint, l uint64, q int) *spec.CheckpointCert {
	b := &ck.Body
	if !inWindow(b.Seq, cp.h, l) {
		if s, ok := cp.far(b.Replica, l); ok {
			delete(cp.store[b.Replica], s)
		}
	}
	if cp.store[b.Replica] == nil {
		cp.store[b.Replica] = map[uint64]spec.Checkpoint{}
	}
	cp.store[b.Replica][b.Seq] = *ck
	return cp.certificate(b.Seq, b.State, q)
}

// certificate returns the certificate of (seq, state) from the q matching stored
// checkpoints of the lowest replica ids, or nil if fewer than q match.
func (cp *checkpoints) certificate(seq uint64, state spec.Digest, q int) *spec.CheckpointCert {
	cert := &spec.CheckpointCert{Seq: seq, State: state}
	for _, r := range sortedKeys(cp.store) {
		if ck, ok := cp.store[r][seq]; ok && ck.Body.State == state {
			cert.Proof = append(cert.Proof, ck)
			if len(cert.Proof) == q {
				return cert
			}
		}
	}
	return nil
}

// stabilize makes cert (for a seq above h, valid) the stable checkpoint, as a new
// stable checkpoint of §8.3 or an adopted one of §8.4, then applies the effect of
// §10.5: slots and pset entries at or below h go.
func (c *Conf) stabilize(cert *spec.CheckpointCert) {
	if cert.Seq <= c.cp.h {
		panic("confa: stabilize would move h backwards")
	}
	c.cp.h, c.cp.stable = cert.Seq, *cert
	for r, m := range c.cp.store {
		for s := range m {
			if s <= c.cp.h {
				delete(m, s)
			}
		}
		if len(m) == 0 {
			delete(c.cp.store, r)
		}
	}
	for s := range c.slots {
		if s <= c.cp.h {
			delete(c.slots, s)
		}
	}
	for s := range c.pset {
		if s <= c.cp.h {
			delete(c.pset, s)
		}
	}
}
