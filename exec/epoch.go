package exec

import "github.com/splitbft/splitbft/spec"

// This file is the end of an epoch at Execution (SPEC.md §17.3): the boundary after a
// batch whose config operations produced a candidate configuration, EPOCH-VOTEs, and
// the EPOCH-CHANGE that q votes make.

// epochNext is the configuration this exec voted for at the end of its epoch, with
// the snapshot of the last sequence number of the epoch.
type epochNext struct {
	cfg    *spec.Config // the candidate with StartSeq and StartState set
	raw    []byte       // enc(cfg)
	digest spec.Digest  // ConfigDigest(cfg)
	snap   *heldSnapshot
}

// endEpoch ends the epoch after executing s with pending set: snapshot at s (the
// checkpoint's if s is a multiple of K), StartSeq and StartState set, own vote
// emitted and stored. From now on tryExecute executes nothing under cfg.
func (e *Exec) endEpoch(s uint64) {
	snap := e.snapshots[s]
	if e.forgetRekeyed(e.cfg, e.pending) {
		snap = nil // the checkpoint's snapshot at s holds the entries just removed
	}
	if snap == nil {
		data := spec.Encode(&spec.Snapshot{Seq: s, App: e.app.Snapshot(), Clients: e.clientEntries()})
		snap = &heldSnapshot{seq: s, data: data, digest: spec.StateDigest(data)}
	}
	next := e.pending
	e.pending = nil
	next.StartSeq, next.StartState = s, snap.digest
	e.next = &epochNext{cfg: next, raw: spec.Encode(next), digest: spec.ConfigDigest(next), snap: snap}
	body := spec.EpochVoteBody{Next: e.next.digest, Replica: e.replica}
	v := &spec.EpochVote{Body: body, Sig: e.signKey.sign(spec.DomainEpochVote, e.cd, spec.Encode(&body))}
	e.emit(spec.KindEpochVote, spec.Destination{Roles: spec.ToExec, Replicas: e.allReplicas()}, spec.Encode(v))
	e.votes[e.replica] = v
	e.maybeChange()
}

// onEpochVote handles an EPOCH-VOTE (EV1–EV3): store it as its sender's one vote and
// change epoch once q votes name the configuration this exec voted for.
func (e *Exec) onEpochVote(v *spec.EpochVote) uint64 {
	b := &v.Body
	switch {
	case b.Replica >= e.cfg.N: // EV1
		return spec.CodeUnknownSender
	case !verifySig(e.key(spec.RoleExec, b.Replica), spec.DomainEpochVote, e.cd, spec.Encode(b), v.Sig): // EV2
		return spec.CodeBadSignature
	}
	if old := e.votes[b.Replica]; old != nil && old.Body.Next == b.Next { // EV3
		return spec.CodeDuplicate
	}
	e.votes[b.Replica] = v
	e.maybeChange()
	return 0
}

// maybeChange emits the EPOCH-CHANGE for next and adopts it once q stored votes (own
// included) name it: the votes of the q lowest replica ids, sorted (§5.1).
func (e *Exec) maybeChange() {
	if e.next == nil {
		return
	}
	var votes []spec.EpochVote
	for r := uint64(0); r < e.cfg.N && len(votes) < e.quorum(); r++ {
		if v := e.votes[r]; v != nil && v.Body.Next == e.next.digest {
			votes = append(votes, *v)
		}
	}
	if len(votes) < e.quorum() {
		return
	}
	ec := spec.EpochChange{Config: e.next.raw, Votes: votes}
	to := spec.Destination{Roles: spec.ToPrep | spec.ToConf | spec.ToExec, Replicas: e.allReplicas()}
	e.emit(spec.KindEpochChange, to, spec.Encode(&ec))
	e.adopt(e.next.cfg, e.next.digest)
}

// forgetRekeyed removes from the client table the entries of the clients that prev
// registers and next does not register with the same keys: a client removed, or
// registered again with new keys (a restarted gateway's identities, SPEC.md §16.2).
// Requests under its old keys no longer pass R5, and the identity under its new keys
// starts afresh: its timestamps may start again at 1, and an entry kept would answer
// a new request with an old request's cached results (§11.5). It runs before the
// snapshot that starts next (§17.3, §17.8), so the StartState every exec computes
// agrees, and reports whether it removed anything.
func (e *Exec) forgetRekeyed(prev, next *spec.Config) bool {
	removed := false
	for _, c := range prev.Clients {
		if e.table[c.ID] == nil {
			continue
		}
		if n := next.Client(c.ID); n == nil || n.SignKey != c.SignKey || n.BoxKey != c.BoxKey {
			delete(e.table, c.ID)
			removed = true
		}
	}
	return removed
}
