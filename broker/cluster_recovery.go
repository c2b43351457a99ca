package broker

import (
	"github.com/splitbft/splitbft/spec"
)

// The broker's part of the recovery of a whole cluster (SPEC.md §17.8). The host
// starts fresh prep, conf and exec instances for the last configuration C (Init with
// Challenge = ConfigDigest(C)) and calls BeginRecovery: prep and conf stay down (they
// are configured with C' once the recovery is adopted), exec stays up and gets, from
// the host, recover and the replay's inputs (Replay). Recovery votes are routed like
// any exec output (kind recovery-vote, §13.1). The recovery the local exec emits, or
// one a peer sends, is verified (RC1–RC5, spec.VerifyStep) and adopted like an epoch
// change: the chain and the ledger record it, and the broker continues in C'.

// clusterRecovery is a recovery of the whole cluster in progress at this replica.
type clusterRecovery struct {
	own [3]spec.Enrollment // the fresh compartments' enrollments (prep, conf, exec)
}

// BeginRecovery puts the broker into recovery (SPEC.md §17.8): its compartments are
// the fresh, unconfigured instances whose enrollments are own; prep and conf are held
// down until a recovery naming them is adopted. Event loop only (Host.Query).
func (r *Replica) BeginRecovery(own [3]spec.Enrollment) {
	r.cluster = &clusterRecovery{own: own}
	r.keyAsked = false
	r.Down(spec.RolePrep)
	r.Down(spec.RoleConf)
}

// Recovering reports whether a recovery of the whole cluster is in progress.
func (r *Replica) Recovering() bool { return r.cluster != nil }

// Replay queues one input for the local exec during a recovery: recover, a state
// chunk of the base snapshot, or a batch or COMMIT of the replay (the exec checks
// everything else: the host's sources are untrusted). A body that does not decode as
// its kind, another kind, and any input outside a recovery are dropped and counted.
func (r *Replica) Replay(kind uint64, body []byte) {
	switch {
	case r.cluster == nil:
		r.m.Unwanted++
	case kind != spec.KindRecover && kind != spec.KindStateChunk && kind != spec.KindBatch && kind != spec.KindCommit:
		r.m.Garbage++
	default:
		if _, err := spec.DecodeKind(kind, body); err != nil {
			r.m.Garbage++
			return
		}
		r.enqueue(spec.RoleExec, kind, body)
	}
}

// onPeerRecovery takes a recovery from a peer broker: if valid after the current
// configuration, the broker adopts it and gives it to its exec only (prep and conf
// never receive a recovery: they are configured with C', §17.8).
func (r *Replica) onPeerRecovery(raw []byte, rec *spec.Recovery) {
	st := spec.RecoveryStep(*rec)
	next, err := r.verifyStep(raw, &st)
	if err != nil || next == nil {
		r.m.BadEpochChanges += b2u(err != nil)
		return
	}
	r.adoptEpoch(next, raw, &st)
	r.enqueue(spec.RoleExec, spec.KindRecovery, raw)
	r.afterRecovery(raw)
}

// onRecoveryOutput takes the recovery the local exec emitted (it has adopted C'
// already): if valid, the broker adopts it and sends it to every peer.
func (r *Replica) onRecoveryOutput(role spec.Role, body []byte) {
	var rec spec.Recovery
	if role != spec.RoleExec || spec.Decode(body, &rec, spec.MaxBodyBytes(spec.KindRecovery)) != nil {
		r.m.Garbage++
		return
	}
	st := spec.RecoveryStep(rec)
	next, err := r.verifyStep(body, &st)
	if err != nil || next == nil {
		r.m.BadEpochChanges += b2u(err != nil)
		if err != nil {
			r.execCD = spec.Digest{} // exec left the configuration in force, for one the broker does not know
		}
		return
	}
	r.adoptEpoch(next, body, &st)
	r.execCD = r.cd // exec emitted it: it runs C' already
	r.afterRecovery(body)
}

// afterRecovery sends the adopted recovery to every peer and, when this replica's
// fresh prep and conf are the ones C' names, configures them with C' and ends the
// recovery. A broker whose compartments C' does not name (it was not recovering, or
// started other instances) leaves them as they are: they cannot serve C'.
func (r *Replica) afterRecovery(raw []byte) {
	msg := EncodePeer(spec.KindRecovery, raw)
	for p := range r.cfg.N {
		if p != r.id {
			r.sendPeer(p, msg)
		}
	}
	c := r.cluster
	if c == nil {
		return
	}
	for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf} {
		if r.cfg.Enrollment(role, r.id).Body.SignKey != c.own[role].Body.SignKey {
			r.m.Unwanted++
			continue
		}
		r.down[role] = false
		r.status[role] = spec.Status{Role: role, Replica: r.id, ViewActive: true, Stable: r.cfg.StartSeq}
		r.enqueue(role, spec.KindConfigure, spec.Encode(&spec.Configure{Config: spec.Encode(r.cfg)}))
	}
	r.cluster = nil
}
