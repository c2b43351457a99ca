package exec

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// This file is SPEC.md §11.4: storing batches by digest and collecting COMMITs into
// commit certificates.

// onBatch handles a batch (rules E1–E3): store it by digest and try to execute. raw is
// the batch's exact (canonical) encoding, so its digest is H(batch, raw).
//
// A batch that never executes here (replaced at a view change, covered by a state
// transfer, or junk from the broker) is dropped by the age rule of §11.6; and a batch
// that a committed sequence number needs displaces one that none needs (E3), so a
// store full of such batches cannot stall execution.
func (e *Exec) onBatch(b *spec.Batch, raw []byte) uint64 {
	switch n := uint64(len(b.Requests)); {
	case n == 0:
		return spec.CodeEmptyBatch
	case n > e.cfg.MaxBatchRequests:
		return spec.CodeBatchLimit
	}
	d := spec.Hash(spec.DomainBatch, raw)
	if _, ok := e.batches[d]; ok {
		return spec.CodeDuplicate
	}
	if uint64(len(e.batches)) >= 2*e.cfg.Window {
		if !e.stillCommitted(d) { // E3
			return spec.CodeStoreFull
		}
		e.evictUnneeded()
	}
	e.batches[d] = b
	e.batchAge[d] = e.ck.h
	e.tryExecute()
	return 0
}

// evictUnneeded removes, from a full store, the batch that no committed entry names
// with the lowest storedAt, ties broken by the smallest digest (§11.4 E3). committed
// names at most L digests and the store holds 2L, so there is one.
func (e *Exec) evictUnneeded() {
	needed := make(map[spec.Digest]bool, len(e.committed))
	for _, d := range e.committed {
		needed[d] = true
	}
	var victim spec.Digest
	found := false
	for d, at := range e.batchAge {
		if needed[d] {
			continue
		}
		if !found || at < e.batchAge[victim] || (at == e.batchAge[victim] && bytes.Compare(d[:], victim[:]) < 0) {
			victim, found = d, true
		}
	}
	if !found {
		panic("exec: full batch store with every batch committed")
	}
	e.dropBatch(victim)
}

// onCommit handles a COMMIT (rules E4–E9): store it as its sender's commit for Seq,
// certify Seq once q stored commits agree on (View, Digest), and try to execute.
func (e *Exec) onCommit(c *spec.Commit) uint64 {
	s := &c.Body
	if code := e.checkCommit(c); code != 0 {
		return code
	}
	if e.commits[s.Seq] == nil {
		e.commits[s.Seq] = map[uint64]*spec.Commit{}
	}
	e.commits[s.Seq][s.Replica] = c
	if _, done := e.committed[s.Seq]; !done && e.countMatching(s) >= e.quorum() {
		e.committed[s.Seq] = s.Digest
	}
	e.tryExecute()
	return 0
}

// checkCommit evaluates E4–E9 in order without changing state.
func (e *Exec) checkCommit(c *spec.Commit) uint64 {
	s := &c.Body
	if s.Replica >= e.cfg.N { // E4
		return spec.CodeUnknownSender
	}
	if s.Seq <= max(e.ck.h, e.lastExec) { // E5
		return spec.CodeStale
	}
	if s.Seq > e.window() {
		return spec.CodeOutOfWindow
	}
	if !verifyPrepared(e.commitKeys, s.Replica, e.key(spec.RoleConf, s.Replica), spec.DomainCommit, e.cd, spec.Encode(s), c.Sig) { // E6
		return spec.CodeBadSignature
	}
	old := e.commits[s.Seq][s.Replica]
	switch {
	case old == nil:
		return 0
	case old.Body.View > s.View: // E7
		return spec.CodeStale
	case old.Body.View == s.View && old.Body.Digest != s.Digest: // E8
		return spec.CodeConflict
	case old.Body.View == s.View: // E9
		return spec.CodeDuplicate
	}
	return 0
}

// countMatching counts the stored commits for s.Seq with s's View and Digest.
func (e *Exec) countMatching(s *spec.Slot) int {
	n := 0
	for _, c := range e.commits[s.Seq] {
		if c.Body.View == s.View && c.Body.Digest == s.Digest {
			n++
		}
	}
	return n
}
