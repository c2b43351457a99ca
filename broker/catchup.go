package broker

import (
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the periodic recovery actions: progress hints, batch fetches, state
// requests and retransmission to lagging peers (SPEC.md §13.3 obligation 6).

// Tick advances the broker's clock by one abstract tick: cuts a partial batch that
// waited long enough, runs the request and view-change timers, and performs the
// periodic recovery actions. Call Flush afterwards to deliver what it queued.
func (r *Replica) Tick() {
	r.now++
	r.batch.tick()
	r.tickTimers()
	r.tickGates()
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
	if r.snap == nil {
		// A snapshot that was not due at exec's last Status may be due now (the
		// ledger counts the log it writes as it goes), and exec may not step again
		// soon: the inputs it would reject are withheld (withheld).
		r.onArchiveStatus(*exec)
	}
	r.retransmit()
	r.tickAdmission()
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
func (r *Replica) sendHints() {
	conf := &r.status[spec.RoleConf]
	exec := &r.status[spec.RoleExec]
	h := Hint{ExecLast: exec.Last, Stable: exec.Stable, View: conf.View, Active: conf.ViewActive, Suspect: r.suspecting(), Epoch: r.cfg.Epoch, ShareWait: r.waitingShare()}
	r.broadcast(EncodePeer(KindHint, spec.Encode(&h)))
}

// onHint records a peer's progress. The peer counts as stuck behind this replica when
// it reports exactly what it reported last time and this replica was already ahead of
// that when the previous hint arrived: it made no progress for a whole hint period
// while something it needs existed here.
func (r *Replica) onHint(from uint64, h *Hint) {
	r.stuck[from] = *h == r.hints[from] && r.aheadOf[from]
	r.hints[from] = *h
	r.aheadOf[from] = r.isAhead(h)
	r.forwardEpochs(from)
	r.resendShare(from, h)
}

// isAhead reports whether this replica has executed or moved views beyond a hint.
func (r *Replica) isAhead(h *Hint) bool {
	conf := &r.status[spec.RoleConf]
	exec := &r.status[spec.RoleExec]
	return h.ExecLast < exec.Last || h.Stable < exec.Stable || h.View < conf.View ||
		(h.View == conf.View && !h.Active && conf.ViewActive)
}

// fetchBatches delivers the batches exec needs from the cache and asks every peer for
// the others.
func (r *Replica) fetchBatches() {
	var missing []spec.Digest
	for _, d := range r.status[spec.RoleExec].NeedBatch {
		if raw, ok := r.cache[d]; ok {
			r.enqueue(spec.RoleExec, spec.KindBatch, raw)
		} else if len(missing) < MaxFetchDigests {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		r.m.BatchFetches++
		r.broadcast(EncodePeer(KindFetchBatch, spec.Encode(&BatchFetch{Digests: missing})))
	}
}

// serveFetch answers a peer's fetch with every requested batch in the cache.
func (r *Replica) serveFetch(from uint64, f *BatchFetch) {
	for _, d := range f.Digests {
		if raw, ok := r.cache[d]; ok {
			r.m.BatchesServed++
			r.sendPeer(from, EncodePeer(spec.KindBatch, raw))
		}
	}
}

// onFetchedBatch delivers a fetched batch to exec if exec asked for its digest.
func (r *Replica) onFetchedBatch(raw []byte, b *spec.Batch) {
	d := batchDigest(raw)
	if !slices.Contains(r.status[spec.RoleExec].NeedBatch, d) {
		r.m.Unwanted++
		return
	}
	r.cacheBatch(d, raw)
	r.enqueue(spec.RoleExec, spec.KindBatch, raw)
}

// requestState asks one peer (rotating) for the stable snapshot exec wants: exec's
// status gives the seq h; the digest is any signed checkpoint digest seen for h.
//
// SPEC-AMBIGUITY: §13.3 obligation 6 says "on NeedState, send state-requests", but a
// StateRequest must name State == the requester's stableCert.State (T2), and Status
// carries only Stable (the seq). The broker therefore learns candidate digests from
// the validly signed CHECKPOINTs and NEW-VIEW certificates it routes, and asks for
// each candidate of seq h; a wrong one is rejected stale by the responder.
func (r *Replica) requestState() {
	h := r.status[spec.RoleExec].Stable
	cands := r.certStates[h]
	if len(cands) == 0 {
		return
	}
	r.statePeer = (r.statePeer + 1) % r.cfg.N
	if r.statePeer == r.id {
		r.statePeer = (r.statePeer + 1) % r.cfg.N
	}
	for _, d := range cands {
		from := uint64(0)
		if h == r.chunkSeq && d == r.chunkState {
			for r.chunkHave[from] {
				from++
			}
		}
		req := spec.StateRequest{Seq: h, State: d, Replica: r.id, Index: from}
		r.m.StateRequests++
		r.sendPeer(r.statePeer, EncodePeer(spec.KindStateRequest, spec.Encode(&req)))
	}
}

// onChunk records which chunks of which snapshot were delivered to exec, so that state
// requests ask for the first missing one. Only a chunk of a snapshot the broker asks
// for (exec's stable seq, a digest seen signed) is recorded, so a forged chunk for
// another snapshot cannot reset the bookkeeping; onChunkRejected takes back the mark
// of a chunk exec refused (SPEC §13.3 obligation 6).
func (r *Replica) onChunk(c *spec.StateChunk) {
	if c.Seq != r.status[spec.RoleExec].Stable || !slices.Contains(r.certStates[c.Seq], c.State) {
		return
	}
	if c.Seq != r.chunkSeq || c.State != r.chunkState {
		r.chunkSeq, r.chunkState = c.Seq, c.State
		clear(r.chunkHave)
	}
	if c.Index < spec.MaxSnapshotBytes/spec.MaxStateChunkBytes {
		r.chunkHave[c.Index] = true
	}
}

// onChunkRejected unmarks a chunk exec rejected (a forged or corrupted one), so the
// next state request asks for its index again; a digest mismatch drops every held
// chunk (SPEC §11.7), so every mark goes. A duplicate keeps its mark: exec holds it.
func (r *Replica) onChunkRejected(raw []byte, code uint64) {
	var c spec.StateChunk
	if code == spec.CodeDuplicate || spec.Decode(raw, &c, spec.MaxBodyBytes(spec.KindStateChunk)) != nil {
		return
	}
	if c.Seq != r.chunkSeq || c.State != r.chunkState {
		return
	}
	if code == spec.CodeDigestMismatch {
		clear(r.chunkHave)
		return
	}
	delete(r.chunkHave, c.Index)
}

// trackProgress notes the tick of the last change in any compartment's progress.
func (r *Replica) trackProgress() {
	st := &r.status
	active := uint64(0)
	if st[spec.RoleConf].ViewActive {
		active = 1
	}
	mark := [5]uint64{st[0].Last, st[1].Last, st[2].Last, st[1].View, active}
	if mark != r.progress {
		r.progress, r.progressAt = mark, r.now
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
func (r *Replica) retransmit() {
	wait := uint64(r.opt.RetransmitTicks)
	stalled := r.hasWork() && r.now-r.progressAt >= wait
	for p := range r.cfg.N {
		if p == r.id || r.now-r.pushedAt[p] < wait {
			continue
		}
		if stalled || (r.stuck[p] && r.isAhead(&r.hints[p])) {
			r.pushedAt[p] = r.now
			r.pushRing(p)
		}
	}
}

// pushRing re-sends to peer p every remembered message that was sent to p and that
// p's latest hint says it may still need.
func (r *Replica) pushRing(p uint64) {
	h := &r.hints[p]
	for _, e := range r.ring.Items() {
		if slices.Contains(e.to, p) && (mayNeed(&e, h) || (e.kind == spec.KindEpochVote && h.Epoch == r.cfg.Epoch)) {
			r.m.Retransmits++
			r.sendPeer(p, e.msg)
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
