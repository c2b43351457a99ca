package exec

import "github.com/splitbft/splitbft/spec"

// This file is the exec side of the recovery of a whole cluster (SPEC.md §17.8): the
// recover input (RV1–RV6), the replay under the last configuration C (after a lead-in
// through the epochs before it, when there is one) up to the plan's
// head, the recovery vote on the state reached, the recovery that q votes make, and
// adopting the configuration C' it starts.

// replay is a recovery in progress. While it is set the exec runs under cfg = Prev
// (digest cd) without being configured: it stores and matches batches and COMMITs
// and installs the base snapshot exactly as an exec of C, but signs nothing of C and
// emits no reply or checkpoint.
type replay struct {
	plan spec.RecoveryPlan
	prev *spec.Config // C: recovery votes and the recovery are signed and checked under its digest
	pd   spec.Digest  // ConfigDigest(C), also during a lead-in (when cfg is an earlier epoch's)
	keys *spec.Config // the template (C' with StartState zero), decoded and verified at recover
	head uint64       // template StartSeq: nothing above it executes
	// lead holds, during a lead-in (RV6), the configurations still to enter, oldest
	// first, ending with C: the replay runs under the one before lead[0] and crosses
	// into lead[0] at its StartSeq. Empty once it runs under C.
	lead []*spec.Config
	// stuck: the state reached at the next configuration's StartSeq is not its
	// StartState (possible only with more than f faulty execs): the replay stops there
	// and never votes.
	stuck bool
	// next is C' with StartState set, once the replay reached the head and voted.
	next *epochNext
	// votes[sender] is the one recovery vote stored from sender; at most n.
	votes map[uint64]*spec.EpochVote
}

// onRecover handles recover (RV2–RV6; RV1 is the preamble): on acceptance the exec
// holds g and starts the replay from the plan's base.
func (e *Exec) onRecover(r *spec.Recover) uint64 {
	var prev spec.Config
	if spec.Decode(r.Prev, &prev, spec.MaxMessageBytes) != nil || prev.Validate(admitKey) != nil { // RV2
		return spec.CodeBadConfig
	}
	cd := spec.ConfigDigest(&prev)
	tmpl, code, err := spec.VerifyPlan(&prev, cd, &r.Plan, verifyRaw, admitKey) // RV3
	if err != nil {
		return code
	}
	if own := tmpl.Enrollment(spec.RoleExec, e.replica); own == nil || !e.isOwn(&own.Body) { // RV4
		return spec.CodeBadConfig
	}
	g, ok := e.unsealGroup(&r.SealedKey, prev.ExecGroupKey) // RV5
	if !ok {
		return spec.CodeBadShare
	}
	from, base := &prev, r.Plan.Body.Base
	var lead []*spec.Config
	switch len(r.Lead) { // RV6
	case 0:
	case 1:
		cfgs, code, err := spec.VerifyLeadIn(&prev, &r.Plan, &r.Lead[0], verifyRaw, admitKey)
		if err != nil {
			return code
		}
		from, base, lead = cfgs[0], r.Lead[0].Base, append(cfgs[1:], &prev)
	default:
		return spec.CodeBadConfig
	}
	e.startReplay(&prev, from, base, g, r.Plan, tmpl, lead)
	e.tryExecute()
	return 0
}

// startReplay sets up the replay state under from (Prev, or the first configuration
// of a lead-in): h = base.Seq with base as stable certificate, nothing executed (so
// a base above 0 wants state transfer, §11.7 T4).
func (e *Exec) startReplay(prev, from *spec.Config, base spec.CheckpointCert, g [keySize]byte, plan spec.RecoveryPlan, tmpl *spec.Config, lead []*spec.Config) {
	e.install(from, g)
	e.configured = false
	e.ck.h, e.ck.stableCert = base.Seq, base
	e.lastExec = 0 // a base at 0 is epoch 0's genesis: the fresh state
	e.rec = &replay{plan: plan, prev: prev, pd: spec.ConfigDigest(prev), keys: tmpl, head: tmpl.StartSeq, lead: lead,
		votes: map[uint64]*spec.EpochVote{}}
}

// end is the highest sequence number the replay executes under the configuration
// it runs under: the next one's StartSeq during a lead-in, else the head.
func (r *replay) end() uint64 {
	if len(r.lead) > 0 {
		return r.lead[0].StartSeq
	}
	return r.head
}

// replayStopped reports whether execution must not continue: the replay voted, is
// stuck, or reached the end of the configuration it runs under.
func (e *Exec) replayStopped() bool {
	r := e.rec
	return r != nil && (r.next != nil || r.stuck || e.lastExec >= r.end())
}

// crossEpoch moves a lead-in replay that executed up to the next configuration's
// StartSeq into it (SPEC.md §17.8, "Lead-in"): if the state reached is that
// configuration's StartState, the exec keeps the application state and the client
// table and continues under the next configuration from its genesis certificate;
// otherwise the replay is stuck. It reports whether the replay entered a
// configuration.
func (e *Exec) crossEpoch() bool {
	r := e.rec
	if r == nil || len(r.lead) == 0 || r.stuck || e.lastExec != r.lead[0].StartSeq || e.ck.h > e.lastExec {
		return false
	}
	next, s := r.lead[0], e.lastExec
	e.forgetRekeyed(e.cfg, next) // as endEpoch did before the snapshot that became next's StartState
	data := spec.Encode(&spec.Snapshot{Seq: s, App: e.app.Snapshot(), Clients: e.clientEntries()})
	snap := &heldSnapshot{seq: s, data: data, digest: spec.StateDigest(data)}
	if snap.digest != next.StartState {
		r.stuck = true
		return false
	}
	r.lead = r.lead[1:]
	table := e.table
	e.install(next, e.group)
	e.configured = false
	e.keys = map[uint64]clientKeys{}
	e.transfer, e.next, e.pending = nil, nil, nil
	e.table, e.lastExec, e.stable = table, s, snap
	return true
}

// maybeRecoveryVote makes the recovery vote once the replay reached its head with
// the base installed: the snapshot of §11.5 at the head, C' = template with
// StartState its digest, own vote emitted and stored.
func (e *Exec) maybeRecoveryVote() {
	r := e.rec
	if r == nil || r.next != nil || r.stuck || len(r.lead) > 0 || e.lastExec != r.head || e.ck.h > e.lastExec {
		return
	}
	e.forgetRekeyed(e.cfg, r.keys) // clients the template registers with other keys (§17.3)
	data := spec.Encode(&spec.Snapshot{Seq: r.head, App: e.app.Snapshot(), Clients: e.clientEntries()})
	snap := &heldSnapshot{seq: r.head, data: data, digest: spec.StateDigest(data)}
	next := *r.keys // the template; StartState is a value field, the copy may set it
	next.StartState = snap.digest
	r.next = &epochNext{cfg: &next, raw: spec.Encode(&next), digest: spec.ConfigDigest(&next), snap: snap}
	body := spec.EpochVoteBody{Next: r.next.digest, Replica: e.replica}
	v := &spec.EpochVote{Body: body, Sig: e.signKey.sign(spec.DomainRecoveryVote, r.pd, spec.Encode(&body))}
	e.emit(spec.KindRecoveryVote, spec.Destination{Roles: spec.ToExec, Replicas: e.allReplicas()}, spec.Encode(v))
	r.votes[e.replica] = v
	e.maybeRecovery()
}

// onRecoveryVote handles a recovery vote (RW1–RW3) while replaying; a configured
// exec has nothing to do with one (stale).
func (e *Exec) onRecoveryVote(v *spec.EpochVote) uint64 {
	r := e.rec
	if r == nil {
		return spec.CodeStale
	}
	b := &v.Body
	switch {
	case b.Replica >= r.keys.N: // RW1
		return spec.CodeUnknownSender
	case !verifySig(r.keys.Replicas[b.Replica].Exec.Body.SignKey, spec.DomainRecoveryVote, r.pd, spec.Encode(b), v.Sig): // RW2
		return spec.CodeBadSignature
	}
	if old := r.votes[b.Replica]; old != nil && old.Body.Next == b.Next { // RW3
		return spec.CodeDuplicate
	}
	r.votes[b.Replica] = v
	e.maybeRecovery()
	return 0
}

// maybeRecovery emits the recovery and adopts C' once the own vote is made and q
// stored votes name it: the votes of the q lowest replica ids, sorted.
func (e *Exec) maybeRecovery() {
	r := e.rec
	if r.next == nil {
		return
	}
	var votes []spec.EpochVote
	for i := uint64(0); i < r.prev.N && len(votes) < r.prev.Quorum(); i++ {
		if v := r.votes[i]; v != nil && v.Body.Next == r.next.digest {
			votes = append(votes, *v)
		}
	}
	if len(votes) < r.prev.Quorum() {
		return
	}
	out := spec.Recovery{Plan: r.plan, Config: r.next.raw, Votes: votes}
	e.emit(spec.KindRecovery, spec.Destination{}, spec.Encode(&out))
	e.adoptRecovery(r.next.cfg, r.next.digest)
}

// onRecovery handles a recovery (RC1–RC5 after Prev) while replaying, and adopts the
// configuration it starts; a configured exec rejects it stale.
func (e *Exec) onRecovery(rc *spec.Recovery) uint64 {
	if e.rec == nil {
		return spec.CodeStale
	}
	next, code, err := spec.VerifyRecovery(e.rec.prev, e.rec.pd, rc, verifyRaw, admitKey)
	if err != nil {
		return code
	}
	e.adoptRecovery(next, spec.ConfigDigest(next))
	return 0
}

// adoptRecovery makes this exec an ordinary exec of next (digest nd, §17.8
// "Adopting"): retired if next does not hold its keys; otherwise configured with
// next's genesis certificate, every replay store dropped, and either the head's
// snapshot as stable snapshot or (if it holds none with next's StartState) the
// replayed state dropped and state transfer of (StartSeq, StartState) wanted.
func (e *Exec) adoptRecovery(next *spec.Config, nd spec.Digest) {
	r := e.rec
	if own := next.Enrollment(spec.RoleExec, e.replica); own == nil || !e.isOwn(&own.Body) {
		e.retired = true
		return
	}
	var snap *heldSnapshot
	if r.next != nil && r.next.snap.seq == next.StartSeq && r.next.snap.digest == next.StartState {
		snap = r.next.snap
	}
	table := e.table
	e.rec = nil
	e.install(next, e.group)
	e.keys = map[uint64]clientKeys{}
	e.view = 0
	e.transfer, e.next, e.pending = nil, nil, nil
	e.stable = snap
	e.lastExec = 0
	if snap != nil {
		e.table, e.lastExec = table, next.StartSeq
	}
}
