package exec

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// This file is state transfer (SPEC.md §11.7): serving the stable snapshot in sealed
// chunks, and receiving, checking and installing one.

// chunkSize is the plaintext size of every chunk but the last.
const chunkSize = spec.MaxStateChunkBytes

// chunksPerRequest is how many chunks one state-request is answered with at most.
const chunksPerRequest = 16

// transfer holds the chunks received so far of the one snapshot being transferred.
// Its target is always (h, stableCert.State).
type transfer struct {
	count, size uint64            // Count and Size of every held chunk
	chunks      map[uint64][]byte // opened chunk plaintexts by Index; invariant: len ≤ count
}

// chunkCount returns max(1, ceil(size / 2^20)).
func chunkCount(size uint64) uint64 {
	return max(1, (size+chunkSize-1)/chunkSize)
}

// chunkLen returns the plaintext length of chunk index of a snapshot of size bytes.
func chunkLen(index, count, size uint64) uint64 {
	if index+1 < count {
		return chunkSize
	}
	return size - (count-1)*chunkSize
}

// onStateRequest handles a state-request (T1–T3): it emits chunks Index ..
// min(Index+16, Count)−1 of the stable snapshot to the requester's exec.
func (e *Exec) onStateRequest(r *spec.StateRequest) uint64 {
	if r.Replica >= e.cfg.N { // T1
		return spec.CodeUnknownSender
	}
	held := e.servable(r.Seq, r.State)
	if held == nil { // T2
		return spec.CodeStale
	}
	snap := held.data
	size := uint64(len(snap))
	count := chunkCount(size)
	if r.Index >= count { // T3
		return spec.CodeBadChunk
	}
	to := spec.Destination{Roles: spec.ToExec, Replicas: []uint64{r.Replica}}
	for k := r.Index; k < min(r.Index+chunksPerRequest, count); k++ {
		plain := snap[k*chunkSize : k*chunkSize+chunkLen(k, count, size)]
		n := e.readNonce()
		ct := aeadSeal(e.stKey, n, plain, stateAD(e.cd, r.Seq, r.State, k, count, size))
		c := spec.StateChunk{Seq: r.Seq, State: r.State, Index: k, Count: count, Size: size, Nonce: n, Ciphertext: ct}
		e.emit(spec.KindStateChunk, to, spec.Encode(&c))
	}
	return 0
}

// servable returns the snapshot T2 lets this exec serve for (seq, state): its stable
// snapshot, or an own checkpoint snapshot not yet stable with that digest (a peer may
// hold a certificate for a checkpoint that is not stable here yet), or nil.
func (e *Exec) servable(seq uint64, state spec.Digest) *heldSnapshot {
	switch {
	case seq == 0:
		return nil
	case seq == e.ck.h && e.stable != nil && state == e.ck.stableCert.State:
		return e.stable
	}
	if s := e.snapshots[seq]; s != nil && s.digest == state {
		return s
	}
	return nil
}

// onStateChunk handles a state-chunk (T4–T7): hold it and, once all chunks are held,
// check and install the snapshot.
func (e *Exec) onStateChunk(c *spec.StateChunk) uint64 {
	if e.ck.h <= e.lastExec || c.Seq != e.ck.h || c.State != e.ck.stableCert.State { // T4
		return spec.CodeStale
	}
	if c.Size > spec.MaxSnapshotBytes || c.Count != chunkCount(c.Size) || c.Index >= c.Count { // T5
		return spec.CodeBadChunk
	}
	tr := e.transfer
	same := tr != nil && tr.count == c.Count && tr.size == c.Size
	if same && tr.chunks[c.Index] != nil { // T6
		return spec.CodeDuplicate
	}
	plain, ok := aeadOpen(e.stKey, c.Nonce, c.Ciphertext, stateAD(e.cd, c.Seq, c.State, c.Index, c.Count, c.Size))
	if !ok || uint64(len(plain)) != chunkLen(c.Index, c.Count, c.Size) { // T7
		return spec.CodeBadChunk
	}
	if !same {
		// SPEC.md (clarified after review): §11.7 holds "all Count chunks" without saying what to do with
		// chunks of one target that disagree on Count and Size (only an exec holding the
		// group key can seal such a chunk). A chunk whose Count or Size differs from the
		// held ones replaces them: at most one snapshot is ever in progress, and a bogus
		// first chunk cannot block a transfer until the next stable checkpoint.
		tr = &transfer{count: c.Count, size: c.Size, chunks: map[uint64][]byte{}}
		e.transfer = tr
	}
	if plain == nil {
		plain = []byte{}
	}
	tr.chunks[c.Index] = plain
	if uint64(len(tr.chunks)) < tr.count {
		return 0
	}
	return e.installTransfer()
}

// installTransfer checks the completed snapshot against the certified State and, if it
// matches and decodes, installs it and continues executing.
//
// SPEC.md (clarified after review): on a digest mismatch §11.7 both drops the held chunks and rejects
// the input with digest-mismatch; this is the one rejection that changes state (the
// held chunks are gone), as the spec requires.
func (e *Exec) installTransfer() uint64 {
	tr := e.transfer
	e.transfer = nil
	parts := make([][]byte, tr.count)
	for k := range parts {
		parts[k] = tr.chunks[uint64(k)]
	}
	data := bytes.Join(parts, nil)
	if spec.StateDigest(data) != e.ck.stableCert.State {
		return spec.CodeDigestMismatch
	}
	snap, table, ok := e.decodeSnapshot(data)
	if !ok || e.app.Restore(snap.App) != nil {
		return spec.CodeDigestMismatch
	}
	e.table = table
	e.lastExec = snap.Seq
	e.stable = &heldSnapshot{seq: snap.Seq, data: data, digest: e.ck.stableCert.State}
	pruneBelow(e.commits, snap.Seq)
	pruneBelow(e.committed, snap.Seq)
	pruneBelow(e.snapshots, snap.Seq)
	// §11.7: sign the installed state, so that every correct exec vouches for every
	// checkpoint it holds (not only those it reached by executing); not the epoch's
	// start, whose genesis certificate needs no signature (§17.1).
	// A replay (§17.8) signs nothing of cfg and its broker needs no summary.
	if e.rec == nil && snap.Seq != e.cfg.StartSeq {
		e.signCheckpoint(snap.Seq, e.ck.stableCert.State) // not stored: Seq is stable here
	}
	if e.rec == nil {
		e.emitSummary(snap.Seq)
	}
	e.tryExecute()
	return 0
}

// decodeSnapshot decodes an exec Snapshot for seq h and its client table, requiring
// entries sorted by strictly increasing client id and each within the table invariant.
// (A snapshot that hashes to a certified digest was produced by a correct exec; these
// checks only keep the compartment's invariants if more than f execs are faulty.)
//
// SPEC.md (clarified after review): §11.7 only says "malformed: as mismatch". A snapshot whose Seq is not
// the certified one, whose client table is unsorted, has an entry with no results or a
// zero or overflowing timestamp range, or whose App the application refuses to restore
// is also treated as a digest mismatch (held chunks dropped, nothing installed).
func (e *Exec) decodeSnapshot(data []byte) (*spec.Snapshot, map[uint64]*spec.ClientEntry, bool) {
	var snap spec.Snapshot
	if spec.Decode(data, &snap, spec.MaxSnapshotBytes) != nil || snap.Seq != e.ck.h {
		return nil, nil, false
	}
	table := make(map[uint64]*spec.ClientEntry, len(snap.Clients))
	for i := range snap.Clients {
		ent := &snap.Clients[i]
		n := uint64(len(ent.Results))
		if (i > 0 && ent.Client <= snap.Clients[i-1].Client) || ent.Timestamp == 0 || n == 0 || ent.Timestamp+n-1 < ent.Timestamp {
			return nil, nil, false
		}
		table[ent.Client] = ent
	}
	return &snap, table, true
}

// emitSummary tells the local broker, per client of the installed table, the last
// executed timestamp (§11.7), so that it can stop request timers for requests the
// transfer covered. The broker sees every client id and timestamp in the requests
// anyway (§12.5): the summary reveals no request or state content.
func (e *Exec) emitSummary(seq uint64) {
	sum := spec.TransferSummary{Seq: seq}
	for _, c := range sortedKeys(e.table) {
		ent := e.table[c]
		sum.Clients = append(sum.Clients, spec.ClientDone{Client: c, Timestamp: ent.Timestamp + uint64(len(ent.Results)) - 1})
	}
	e.emit(spec.KindTransferSummary, spec.Destination{}, spec.Encode(&sum))
}
