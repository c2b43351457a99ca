package exec

import "github.com/splitbft/splitbft/spec"

// This file is adopting an epoch change at Execution (SPEC.md §17.1 EC1–EC4, §17.4):
// retiring when replaced, otherwise moving to the new configuration from the voted
// snapshot (or wanting state transfer), and dealing the group key to newly admitted
// execs.

// onEpochChange handles an EPOCH-CHANGE input: rules EC1–EC4, then adoption.
func (e *Exec) onEpochChange(ec *spec.EpochChange) uint64 {
	next, code := e.checkEpochChange(ec)
	if code != 0 {
		return code
	}
	e.adopt(next, spec.ConfigDigest(next))
	return 0
}

// checkEpochChange evaluates EC1–EC4 in order without changing state and returns the
// decoded next configuration.
func (e *Exec) checkEpochChange(ec *spec.EpochChange) (*spec.Config, uint64) {
	var next spec.Config
	if spec.Decode(ec.Config, &next, spec.MaxMessageBytes) != nil || next.Validate(admitKey) != nil { // EC1
		return nil, spec.CodeBadConfig
	}
	if next.Epoch != e.cfg.Epoch+1 || next.Prev != e.cd { // EC2
		return nil, spec.CodeStale
	}
	if !sameFrame(e.cfg, &next) || next.StartSeq <= e.cfg.StartSeq || next.StartSeq < e.ck.h { // EC3
		return nil, spec.CodeBadConfig
	}
	nd := spec.ConfigDigest(&next)
	if len(ec.Votes) != e.quorum() { // EC4
		return nil, spec.CodeBadCertificate
	}
	for i := range ec.Votes {
		b := &ec.Votes[i].Body
		if b.Replica >= e.cfg.N || (i > 0 && b.Replica <= ec.Votes[i-1].Body.Replica) || b.Next != nd {
			return nil, spec.CodeBadCertificate
		}
	}
	for i := range ec.Votes {
		b := &ec.Votes[i].Body
		if !verifySig(e.key(spec.RoleExec, b.Replica), spec.DomainEpochVote, e.cd, spec.Encode(b), ec.Votes[i].Sig) {
			return nil, spec.CodeBadCertificate
		}
	}
	return &next, 0
}

// sameFrame reports whether b keeps what EC3 fixes for the life of a cluster: n, f,
// name, K, L and the exec group key.
func sameFrame(a, b *spec.Config) bool {
	return a.N == b.N && a.F == b.F && string(a.Name) == string(b.Name) &&
		a.CheckpointInterval == b.CheckpointInterval && a.Window == b.Window && a.ExecGroupKey == b.ExecGroupKey
}

// adopt moves to next (digest nd), which passed EC1–EC4 or was certified by q votes
// here (§17.4): retire if this exec's slot holds other keys; otherwise the new
// configuration with the epoch's genesis checkpoint, every stored protocol message
// dropped, the voted snapshot as stable snapshot (or state transfer wanted), and one
// group key share per newly admitted exec.
func (e *Exec) adopt(next *spec.Config, nd spec.Digest) {
	if own := next.Enrollment(spec.RoleExec, e.replica); own == nil || !e.isOwn(&own.Body) {
		e.retired = true
		return
	}
	prev := e.cfg
	snap := e.heldAt(next.StartSeq, next.StartState)
	e.cfg, e.cd = next, nd
	e.stKey = stateKey(&e.group, e.cd)
	e.keys = map[uint64]clientKeys{}
	e.view = 0
	e.ck = newCheckpoints()
	e.ck.h, e.ck.stableCert = next.StartSeq, next.GenesisCert()
	e.commits = map[uint64]map[uint64]*spec.Commit{}
	e.committed = map[uint64]spec.Digest{}
	e.batches = map[spec.Digest]*spec.Batch{}
	e.batchAge = map[spec.Digest]uint64{}
	e.snapshots = map[uint64]*heldSnapshot{}
	e.votes = map[uint64]*spec.EpochVote{}
	e.transfer, e.next, e.pending = nil, nil, nil
	e.stable = snap
	if snap != nil {
		e.lastExec = next.StartSeq
	} else if e.lastExec >= next.StartSeq {
		// This state is not the certified one (more than f faulty execs; or this exec
		// state-transferred to the old epoch's checkpoint at StartSeq, whose digest
		// predates the client-table removal of §17.3), so it must be replaced by state
		// transfer (NeedState: h > lastExec).
		e.lastExec = 0
	}
	e.dealNew(prev, next)
}

// heldAt returns the snapshot this exec holds for (seq, state): the one it voted
// with, its stable snapshot, or an own checkpoint snapshot; nil if none.
func (e *Exec) heldAt(seq uint64, state spec.Digest) *heldSnapshot {
	for _, s := range []*heldSnapshot{e.nextSnap(), e.stable, e.snapshots[seq]} {
		if s != nil && s.seq == seq && s.digest == state {
			return s
		}
	}
	return nil
}

// nextSnap returns the snapshot of the end of the epoch, or nil before the boundary.
func (e *Exec) nextSnap() *heldSnapshot {
	if e.next == nil {
		return nil
	}
	return e.next.snap
}

// dealNew emits, for every exec enrollment of next whose BoxKey is not in prev (a newly
// admitted exec), in replica order, one group-key-shares output with its share (§11.2).
func (e *Exec) dealNew(prev, next *spec.Config) {
	for i := range next.Replicas {
		b := &next.Replicas[i].Exec.Body
		if isExecBoxKey(prev, b.BoxKey) {
			continue
		}
		shared, ok := x25519Shared(&e.boxPriv, b.BoxKey)
		if !ok {
			continue // a low-order box key (§12.1): no share can be sealed to it, so none is emitted
		}
		out := spec.GroupKeyShares{Shares: []spec.GroupKeyShare{e.makeShare(b.BoxKey, shared)}}
		e.emit(spec.KindGroupKeyShares, spec.Destination{}, spec.Encode(&out))
	}
}
