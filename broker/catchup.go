package broker

import (
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the periodic recovery actions: progress hints, batch fetches, state
// requests and retransmission to lagging peers (SPEC.md §13.2 obligation 6).

// Tick advances the broker's clock by one abstract tick: cuts a partial batch that
// waited long enough, runs the request and view-change timers, and performs the
// periodic recovery actions. Call Flush afterwards to deliver what it queued.
func (r *Replica) Tick() {
	r.now++
	r.batch.tick()
	r.tickTimers()
	r.trackProgress()
	if r.now%uint64(r.opt.HintTicks) == 0 {
		r.sendHints()
	}
	exec := &r.status[spec.RoleExec]
	if len(exec.NeedBatch) > 0 && r.now-r.lastFetch >= uint64(r.opt.FetchTicks) {
		r.lastFetch = r.now
		r.fetchBatches()
	}
	if exec.NeedState && r.now-r.lastState >= uint64(r.opt.StateTicks) {
		r.lastState = r.now
		r.requestState()
	}
	r.retransmit()
}

// sendPeer sends one message to one peer.
func (r *Replica) sendPeer(to uint64, msg []byte) {
	r.net.Send(to, msg)
	r.m.PeerOut++
}

// broadcast sends one message to every other replica's broker.
func (r *Replica) broadcast(msg []byte) {
	for p := range r.cfg.N {
		if p != r.id {
			r.sendPeer(p, msg)
		}
	}
}

// sendHints tells every peer this replica's progress.
func (rc *recovery) sendHints() {
	conf := rc.host.status(spec.RoleConf)
	exec := rc.host.status(spec.RoleExec)
	h := Hint{ExecLast: exec.Last, Stable: exec.Stable, View: conf.View, Active: conf.ViewActive}
	rc.host.broadcast(EncodePeer(KindHint, spec.Encode(&h)))
}

// onHint records a peer's progress. The peer counts as stuck behind this replica when
// it reports exactly what it reported last time and this replica was already ahead of
// that when the previous hint arrived: it made no progress for a whole hint period
// while something it needs existed here.
func (rc *recovery) onHint(from uint64, h *Hint) {
	rc.stuck[from] = *h == rc.hints[from] && rc.aheadOf[from]
	rc.hints[from] = *h
	rc.aheadOf[from] = rc.isAhead(h)
}

// isAhead reports whether this replica has executed or moved views beyond a hint.
func (rc *recovery) isAhead(h *Hint) bool {
	conf := rc.host.status(spec.RoleConf)
	exec := rc.host.status(spec.RoleExec)
	return h.ExecLast < exec.Last || h.Stable < exec.Stable || h.View < conf.View ||
		(h.View == conf.View && !h.Active && conf.ViewActive)
}

// fetchBatches delivers the batches exec needs from the cache and asks every peer for
// the others.
func (rc *recovery) fetchBatches() {
	var missing []spec.Digest
	for _, d := range rc.host.status(spec.RoleExec).NeedBatch {
		if raw, ok := rc.cache[d]; ok {
			rc.host.toExec(spec.KindBatch, raw)
		} else if len(missing) < MaxFetchDigests {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		rc.m.BatchFetches++
		rc.host.broadcast(EncodePeer(KindFetchBatch, spec.Encode(&BatchFetch{Digests: missing})))
	}
}

// serveFetch answers a peer's fetch with every requested batch in the cache.
func (rc *recovery) serveFetch(from uint64, f *BatchFetch) {
	for _, d := range f.Digests {
		if raw, ok := rc.cache[d]; ok {
			rc.m.BatchesServed++
			rc.host.sendPeer(from, EncodePeer(spec.KindBatch, raw))
		}
	}
}

// onFetchedBatch delivers a fetched batch to exec if exec asked for its digest.
func (rc *recovery) onFetchedBatch(raw []byte, b *spec.Batch) {
	d := batchDigest(raw)
	if !slices.Contains(rc.host.status(spec.RoleExec).NeedBatch, d) {
		rc.m.Unwanted++
		return
	}
	rc.cacheBatch(d, raw)
	rc.host.toExec(spec.KindBatch, raw)
}

// requestState asks one peer (rotating) for the stable snapshot exec wants: exec's
// status gives the seq h; the digest is any signed checkpoint digest seen for h.
//
// SPEC-AMBIGUITY: §13.2 obligation 6 says "on NeedState, send state-requests", but a
// StateRequest must name State == the requester's stableCert.State (T2), and Status
// carries only Stable (the seq). The broker therefore learns candidate digests from
// the validly signed CHECKPOINTs and NEW-VIEW certificates it routes, and asks for
// each candidate of seq h; a wrong one is rejected stale by the responder.
func (rc *recovery) requestState() {
	h := rc.host.status(spec.RoleExec).Stable
	cands := rc.certStates[h]
	if len(cands) == 0 {
		return
	}
	rc.statePeer = (rc.statePeer + 1) % rc.cfg.N
	if rc.statePeer == rc.id {
		rc.statePeer = (rc.statePeer + 1) % rc.cfg.N
	}
	for _, d := range cands {
		from := uint64(0)
		if h == rc.chunkSeq && d == rc.chunkState {
			for rc.chunkHave[from] {
				from++
			}
		}
		req := spec.StateRequest{Seq: h, State: d, Replica: rc.id, Index: from}
		rc.m.StateRequests++
		rc.host.sendPeer(rc.statePeer, EncodePeer(spec.KindStateRequest, spec.Encode(&req)))
	}
}

// onChunk records which chunks of which snapshot were delivered to exec, so that state
// requests ask for the first missing one.
func (rc *recovery) onChunk(c *spec.StateChunk) {
	if c.Seq != rc.chunkSeq || c.State != rc.chunkState {
		rc.chunkSeq, rc.chunkState = c.Seq, c.State
		clear(rc.chunkHave)
	}
	if c.Index < spec.MaxSnapshotBytes/spec.MaxStateChunkBytes {
		rc.chunkHave[c.Index] = true
	}
}

// trackProgress notes the tick of the last change in any compartment's progress.
func (rc *recovery) trackProgress() {
	st := rc.host.statuses()
	active := uint64(0)
	if st[spec.RoleConf].ViewActive {
		active = 1
	}
	mark := [5]uint64{st[0].Last, st[1].Last, st[2].Last, st[1].View, active}
	if mark != rc.progress {
		rc.progress, rc.progressAt = mark, rc.host.now()
	}
}

// hasWork reports whether this replica is waiting for something to happen.
func (r *Replica) hasWork() bool {
	st := &r.status
	return len(r.pending) > 0 || r.batch.Len() > 0 || !st[spec.RoleConf].ViewActive ||
		st[spec.RoleExec].NeedState || len(st[spec.RoleExec].NeedBatch) > 0 ||
		st[spec.RolePrep].Last > st[spec.RoleExec].Last || st[spec.RoleConf].Last > st[spec.RoleExec].Last
}

// retransmit re-sends recent outputs: to every peer when this replica has work but made
// no progress for RetransmitTicks (some message it needs, or others need, was lost),
// and to a peer whose hints show it stuck behind this replica.
func (rc *recovery) retransmit() {
	wait := uint64(rc.opt.RetransmitTicks)
	stalled := rc.host.hasWork() && rc.host.now()-rc.progressAt >= wait
	for p := range rc.cfg.N {
		if p == rc.id || rc.host.now()-rc.pushedAt[p] < wait {
			continue
		}
		if stalled || (rc.stuck[p] && rc.isAhead(&rc.hints[p])) {
			rc.pushedAt[p] = rc.host.now()
			rc.pushRing(p)
		}
	}
}

// pushRing re-sends to peer p every remembered message that was sent to p and that
// p's latest hint says it may still need.
func (rc *recovery) pushRing(p uint64) {
	h := &rc.hints[p]
	for _, e := range rc.ring.Items() {
		if slices.Contains(e.to, p) && mayNeed(&e, h) {
			rc.m.Retransmits++
			rc.host.sendPeer(p, e.msg)
		}
	}
}

// mayNeed reports whether a peer whose latest hint is h may still need a message:
// commits above its executed seq; proposals and prepares above it and of its view or
// later (conf and prep reject older views; exec fetches batches by NeedBatch);
// checkpoints above its stable seq; view changes and new views for views it has not
// entered.
func mayNeed(e *ringEntry, h *Hint) bool {
	switch e.kind {
	case spec.KindCommit:
		return e.seq > h.ExecLast
	case spec.KindProposal, spec.KindPrepare:
		return e.seq > h.ExecLast && e.view >= h.View
	case spec.KindCheckpoint:
		return e.seq > h.Stable
	case spec.KindViewChange, spec.KindNewView:
		return e.view > h.View || (e.view == h.View && !h.Active)
	}
	return false
}
