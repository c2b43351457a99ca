package broker

import (
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// The broker's sealed archive (SPEC.md §13.5 records 's' and 'g', §17.8): after a new
// stable checkpoint when a snapshot is due (Archive.SnapshotDue: at each epoch start,
// then once the log written since the last snapshot is as large as it) it asks its
// own exec for the stable snapshot (again at the same seq when an epoch starts there: chunks are sealed under
// the state key of their epoch, SPEC §12.4, and a recovery checks them under the last
// epoch's digest; StateRequest{h, State, own id, k}, k = 0, 16, … until Count) and keeps the
// chunks addressed to itself (never forwarded) until all Count are held, then stores
// them in one snapshot record; after its exec is configured it asks for the group key
// sealed for storage (seal-key) and stores the answer. Everything stored is sealed by
// the exec; the broker reads none of it.

// Archive is implemented by a Ledger that keeps the sealed archive (broker/ledger).
type Archive interface {
	// Snapshot stores the snapshot (seq, state) of chunks, the encoded StateChunks
	// in index order, and then drops older snapshots.
	Snapshot(seq uint64, state, cd spec.Digest, chunks [][]byte)
	// SealedKey stores enc(SealedGroupKey) as the exec emitted it.
	SealedKey(sealed []byte)
	// SnapshotSeq is the seq of the newest snapshot stored (0: none).
	SnapshotSeq() uint64
	// SnapshotDue reports whether a snapshot sealed under the configuration of
	// digest cd should be taken at the next stable checkpoint.
	SnapshotDue(cd spec.Digest) bool
}

// chunksPerRequest is how many chunks exec emits for one state request (SPEC §11.7).
const chunksPerRequest = 16

// maxChunks bounds Count of a snapshot: MaxSnapshotBytes in MaxStateChunkBytes chunks.
const maxChunks = spec.MaxSnapshotBytes / spec.MaxStateChunkBytes

// ownSnapshot is the snapshot being collected from the local exec.
type ownSnapshot struct {
	seq    uint64
	cd     spec.Digest   // the configuration whose state key seals the chunks (the current one when asked)
	cands  []spec.Digest // candidate state digests of seq (one once a chunk came)
	chunks [][]byte      // by index, once Count is known
	have   int
	next   uint64 // index of the next request
}

// archive returns the ledger's archive, or nil.
func (r *Replica) archive() Archive {
	a, _ := r.opt.Ledger.(Archive)
	return a
}

// onArchiveStatus starts what an exec status calls for: seal-key once per exec
// instance, when it first reports itself configured; the snapshot of a new stable
// checkpoint.
func (r *Replica) onArchiveStatus(st spec.Status) {
	a := r.archive()
	if a == nil || !st.Configured {
		return
	}
	if !r.keyAsked {
		r.keyAsked = true
		r.enqueue(spec.RoleExec, spec.KindSealKey, spec.Encode(&spec.SealGet{}))
	}
	h := st.Stable
	if h == 0 || st.NeedState || h < a.SnapshotSeq() || (h <= r.snapAsked && r.snapEpoch == r.cfg.Epoch) || len(r.certStates[h]) == 0 || !a.SnapshotDue(r.cd) {
		return
	}
	r.snap, r.snapAsked, r.snapEpoch = &ownSnapshot{seq: h, cd: r.cd, cands: slices.Clone(r.certStates[h])}, h, r.cfg.Epoch
	r.askOwnState(0)
}

// askOwnState asks the local exec for chunks from index k of the snapshot collected.
func (r *Replica) askOwnState(k uint64) {
	s := r.snap
	s.next = k + chunksPerRequest
	for _, d := range s.cands {
		req := spec.StateRequest{Seq: s.seq, State: d, Replica: r.id, Index: k}
		r.enqueue(spec.RoleExec, spec.KindStateRequest, spec.Encode(&req))
	}
}

// ownChunk takes a state chunk the local exec addressed to this replica alone: the
// answer to the broker's own request, kept for the archive and never forwarded. It
// reports whether the output was such a chunk.
func (r *Replica) ownChunk(role spec.Role, o *spec.Output) bool {
	if role != spec.RoleExec || len(o.To.Replicas) != 1 || o.To.Replicas[0] != r.id {
		return false
	}
	var c spec.StateChunk
	s := r.snap
	if s == nil || spec.Decode(o.Body, &c, spec.MaxBodyBytes(spec.KindStateChunk)) != nil ||
		c.Seq != s.seq || !slices.Contains(s.cands, c.State) || c.Count == 0 || c.Count > maxChunks || c.Index >= c.Count ||
		(s.chunks != nil && uint64(len(s.chunks)) != c.Count) {
		r.m.Unwanted++
		return true
	}
	if s.chunks == nil {
		s.chunks, s.cands = make([][]byte, c.Count), []spec.Digest{c.State}
	}
	if s.chunks[c.Index] == nil {
		s.chunks[c.Index] = o.Body
		s.have++
	}
	switch {
	case uint64(s.have) == c.Count:
		r.archive().Snapshot(s.seq, c.State, s.cd, s.chunks)
		r.snap = nil
	case uint64(s.have) >= s.next && s.next < c.Count:
		r.askOwnState(s.next)
	}
	return true
}

// onSealedKey stores the sealed group key the local exec emitted.
func (r *Replica) onSealedKey(role spec.Role, body []byte) {
	var sk spec.SealedGroupKey
	a := r.archive()
	if role != spec.RoleExec || a == nil || spec.Decode(body, &sk, spec.MaxBodyBytes(spec.KindSealedKey)) != nil {
		r.m.Garbage++
		return
	}
	a.SealedKey(body)
}
