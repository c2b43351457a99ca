package broker

import (
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// recovery holds what the broker keeps to help lagging compartments catch up (SPEC.md
// §13.3 obligation 6): batches by digest for fetches, recent outputs for
// retransmission, checkpoint digests for state requests, and peers' progress hints.
type recovery struct {
	cache      map[spec.Digest][]byte   // enc(Batch) by BatchDigest; ≤ BatchCache entries
	cacheOrder *fifo[spec.Digest]       // exactly the keys of cache, oldest first
	ring       *fifo[ringEntry]         // recent PeerMsgs sent, for retransmission
	ringBytes  int                      // total length of ring messages ≤ RingBytes
	certStates map[uint64][]spec.Digest // checkpoint seq → state digests seen signed; ≤ maxCertSeqs seqs
	chunkSeq   uint64                   // state transfer being received: seq …
	chunkState spec.Digest              // … and state digest
	chunkHave  map[uint64]bool          // chunk indices delivered for (chunkSeq, chunkState)
	hints      []Hint                   // latest hint per peer
	stuck      []bool                   // peer's last two hints were equal and behind this replica
	aheadOf    []bool                   // this replica was ahead of the peer's latest hint when it arrived
	pushedAt   []uint64                 // tick of the last retransmission to each peer
	lastFetch  uint64                   // tick of the last batch fetch
	lastState  uint64                   // tick of the last state request
	statePeer  uint64                   // rotates the peer asked for state
	progressAt uint64                   // tick of the last local progress
	progress   [5]uint64                // the progress marker last seen
}

// ringEntry is a PeerMsg sent, the peers it was sent to, and what it is about: the
// sequence number of a slot message or checkpoint, or the view of a view change or
// new view (seq 0).
type ringEntry struct {
	msg  []byte
	to   []uint64
	seq  uint64
	view uint64
	kind uint64 // the PeerMsg kind
}

// aboutOf returns the sequence number or view a routed message is about.
func aboutOf(body any) (seq, view uint64) {
	switch m := body.(type) {
	case *spec.Proposal:
		return m.Header.Body.Seq, m.Header.Body.View
	case *spec.Prepare:
		return m.Body.Seq, m.Body.View
	case *spec.Commit:
		return m.Body.Seq, m.Body.View
	case *spec.Checkpoint:
		return m.Body.Seq, 0
	case *spec.ViewChange:
		return 0, m.Body.View
	case *spec.NewView:
		return 0, m.Body.View
	}
	return 0, 0
}

// maxCertSeqs bounds the checkpoint sequence numbers remembered for state transfer.
const maxCertSeqs = 16

func (rc *recovery) init(cfg *spec.Config, opt Options) {
	rc.cache = map[spec.Digest][]byte{}
	rc.cacheOrder = newFIFO[spec.Digest](opt.BatchCache)
	rc.ring = newFIFO[ringEntry](opt.RingLimit)
	rc.certStates = map[uint64][]spec.Digest{}
	rc.chunkHave = map[uint64]bool{}
	rc.hints = make([]Hint, cfg.N)
	rc.stuck = make([]bool, cfg.N)
	rc.aheadOf = make([]bool, cfg.N)
	rc.pushedAt = make([]uint64, cfg.N)
}

// observe learns from a protocol message passing through the broker (either way), raw
// its exact bytes and body their decoding: batches of proposals, checkpoint digests,
// and view changes; the Ledger, if any, sees every one.
func (r *Replica) observe(kind uint64, raw []byte, body any) {
	if r.opt.Ledger != nil {
		r.opt.Ledger.Observe(kind, raw, body)
	}
	switch m := body.(type) {
	case *spec.Proposal:
		if _, batch, err := spec.ProposalPartsRaw(raw); err == nil && len(m.Batch.Requests) > 0 {
			r.cacheBatch(batchDigest(batch), batch)
		}
	case *spec.Checkpoint:
		r.observeCheckpoint(m)
	case *spec.ViewChange:
		r.recordViewChange(m)
	case *spec.NewView:
		r.observeNewView(m)
	}
}

// cacheBatch keeps a batch for answering fetches, evicting the oldest.
func (r *Replica) cacheBatch(d spec.Digest, raw []byte) {
	if _, ok := r.cache[d]; ok {
		return
	}
	r.cache[d] = raw
	if old, dropped := r.cacheOrder.Push(d); dropped {
		delete(r.cache, old)
	}
}

// observeCheckpoint remembers the state digest of a validly signed CHECKPOINT. One
// whose (Seq, State) is already remembered adds nothing and is not verified: in the
// normal case every replica's CHECKPOINT for a seq names one state, and only the
// first costs a signature check.
func (r *Replica) observeCheckpoint(c *spec.Checkpoint) {
	b := &c.Body
	if b.Replica >= r.cfg.N || b.Seq == 0 || slices.Contains(r.certStates[b.Seq], b.State) {
		return
	}
	key := r.cfg.Replicas[b.Replica].Exec.Body.SignKey
	if verifySig(key, spec.DomainCheckpoint, r.cd, spec.Encode(b), &c.Sig) {
		r.addCertState(b.Seq, b.State)
	}
}

// observeNewView remembers the checkpoint digests that a validly signed NEW-VIEW's
// view changes carry: an exec adopting one may need state for it.
func (r *Replica) observeNewView(nv *spec.NewView) {
	p := nv.Body.Replica
	if p >= r.cfg.N {
		return
	}
	key := r.cfg.Replicas[p].Prep.Body.SignKey
	if !verifySig(key, spec.DomainNewView, r.cd, spec.Encode(&nv.Body), &nv.Sig) {
		return
	}
	for i := range nv.Body.ViewChanges {
		if st := &nv.Body.ViewChanges[i].Body.Stable; st.Seq > 0 {
			r.addCertState(st.Seq, st.State)
		}
	}
}

// addCertState records a candidate state digest for checkpoint seq, keeping the
// maxCertSeqs highest seqs and at most n digests per seq.
func (r *Replica) addCertState(seq uint64, d spec.Digest) {
	ds := r.certStates[seq]
	if slices.Contains(ds, d) || uint64(len(ds)) >= r.cfg.N {
		return
	}
	r.certStates[seq] = append(ds, d)
	if len(r.certStates) > maxCertSeqs {
		lowest := seq
		for s := range r.certStates {
			lowest = min(lowest, s)
		}
		delete(r.certStates, lowest)
	}
}

// remember keeps a sent PeerMsg for retransmission, bounded by count and bytes.
func (r *Replica) remember(kind uint64, msg []byte, to []uint64, body any) {
	if len(msg) > r.opt.RingBytes {
		return
	}
	seq, view := aboutOf(body)
	if old, dropped := r.ring.Push(ringEntry{msg: msg, to: to, seq: seq, view: view, kind: kind}); dropped {
		r.ringBytes -= len(old.msg)
	}
	r.ringBytes += len(msg)
	for r.ringBytes > r.opt.RingBytes {
		r.ringBytes -= len(r.ring.Pop().msg)
	}
}
