package broker

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// fakeArchive is a fakeLedger that keeps the sealed archive in memory.
type fakeArchive struct {
	fakeLedger
	snaps  []uint64
	chunks [][]byte
	keys   [][]byte
	notDue bool // SnapshotDue's answer, negated
}

func (a *fakeArchive) Snapshot(seq uint64, _, _ spec.Digest, chunks [][]byte) {
	a.snaps, a.chunks = append(a.snaps, seq), chunks
}
func (a *fakeArchive) SealedKey(sealed []byte)         { a.keys = append(a.keys, sealed) }
func (a *fakeArchive) SnapshotDue(cd spec.Digest) bool { return !a.notDue }
func (a *fakeArchive) SnapshotSeq() uint64 {
	if len(a.snaps) == 0 {
		return 0
	}
	return a.snaps[len(a.snaps)-1]
}

// execServing scripts an exec that answers state requests for (seq, state) with
// chunks Index..min(Index+16, count)-1 to the requester, and seal-key with a key.
func execServing(seq uint64, state spec.Digest, count uint64, asked *[]uint64) func(f *fakeEnclave, in spec.Input) []spec.Output {
	return func(f *fakeEnclave, in spec.Input) []spec.Output {
		switch in.Kind {
		case spec.KindSealKey:
			return []spec.Output{{Kind: spec.KindSealedKey, Body: spec.Encode(&spec.SealedGroupKey{Format: spec.SealEGoProduct, Data: []byte("k")})}}
		case spec.KindStateRequest:
			var q spec.StateRequest
			spec.Decode(in.Body, &q, spec.MaxMessageBytes)
			*asked = append(*asked, q.Index)
			if q.Seq != seq || q.State != state {
				return nil
			}
			var outs []spec.Output
			for k := q.Index; k < min(q.Index+16, count); k++ {
				c := spec.StateChunk{Seq: seq, State: state, Index: k, Count: count, Size: count, Ciphertext: []byte{byte(k)}}
				outs = append(outs, spec.Output{Kind: spec.KindStateChunk, To: spec.Destination{Roles: spec.ToExec, Replicas: []uint64{q.Replica}}, Body: spec.Encode(&c)})
			}
			return outs
		}
		return nil
	}
}

// TestArchiveCollects: once its exec is configured the broker asks it for the sealed
// group key and stores it; after a new stable checkpoint it asks its own exec for the
// snapshot, 16 chunks per request, keeps the chunks addressed to itself (none reaches
// a peer or a compartment) and stores them once all Count are held, once per seq
// (SPEC.md §13.5 records 's' and 'g').
func TestArchiveCollects(t *testing.T) {
	for _, count := range []uint64{1, 16, 20, 33} {
		w := newWorld(t, 1, 8, 60+count)
		a := &fakeArchive{}
		h := harnessIn(w, 0, Options{Ledger: a})
		state := spec.Digest{9, byte(count)}
		var asked []uint64
		h.enc[spec.RoleExec].script = execServing(8, state, count, &asked)
		for p := uint64(1); p < 4; p++ {
			h.peer(p, spec.KindCheckpoint, w.checkpoint(p, 8, state))
		}
		h.r.Flush()
		if len(a.keys) != 1 {
			t.Fatalf("count %d: %d sealed keys stored, want 1", count, len(a.keys))
		}
		h.enc[spec.RoleExec].st.Stable, h.enc[spec.RoleExec].st.Last = 8, 8
		for range 6 {
			// A step of exec each: a checkpoint above exec's stable one (the broker
			// withholds those at or below it).
			h.peer(1, spec.KindCheckpoint, w.checkpoint(1, 16, state))
			h.r.Flush()
		}
		if len(a.snaps) != 1 || a.snaps[0] != 8 || uint64(len(a.chunks)) != count {
			t.Fatalf("count %d: stored %v with %d chunks (requests from %v)", count, a.snaps, len(a.chunks), asked)
		}
		if want := int(count+15) / 16; len(asked) != want {
			t.Fatalf("count %d: %d state requests (%v), want %d", count, len(asked), asked, want)
		}
		for p := uint64(1); p < 4; p++ {
			if countU(h.net.sentKinds(t, p), spec.KindStateChunk) != 0 {
				t.Fatalf("count %d: a chunk of the own snapshot was sent to peer %d", count, p)
			}
		}
		if len(a.keys) != 1 {
			t.Fatalf("count %d: seal-key asked again without a new exec (%d keys)", count, len(a.keys))
		}
	}
}

// TestArchiveOnlyWhenDue: after a new stable checkpoint the broker asks its exec
// for no snapshot while the archive says none is due (Archive.SnapshotDue), and
// asks on a later tick once it is, with no exec Step in between.
func TestArchiveOnlyWhenDue(t *testing.T) {
	w := newWorld(t, 1, 8, 77)
	a := &fakeArchive{notDue: true}
	h := harnessIn(w, 0, Options{Ledger: a})
	state := spec.Digest{7}
	var asked []uint64
	h.enc[spec.RoleExec].script = execServing(8, state, 2, &asked)
	h.enc[spec.RoleExec].st.Stable, h.enc[spec.RoleExec].st.Last = 8, 8
	for range 4 {
		for p := uint64(1); p < 4; p++ {
			h.peer(p, spec.KindCheckpoint, w.checkpoint(p, 8, state))
		}
		// A step of exec each: a checkpoint above exec's stable one (the broker
		// withholds those at or below it).
		h.peer(1, spec.KindCheckpoint, w.checkpoint(1, 16, state))
		h.r.Flush()
	}
	if steps := h.r.Metrics().Steps[spec.RoleExec]; steps < 4 {
		t.Fatalf("not due: %d exec steps, want at least 4", steps)
	}
	if len(asked) != 0 || len(a.snaps) != 0 {
		t.Fatalf("not due: %d state requests, snapshots %v; want none", len(asked), a.snaps)
	}
	a.notDue = false
	h.ticks(4) // no input for exec: the broker re-checks on its ticks
	if len(a.snaps) != 1 {
		t.Fatalf("due: snapshots %v, want one at 8", a.snaps)
	}
}

// TestArchiveEpochStart: when an epoch starts at the seq of the stored snapshot, the
// broker takes it again (sealed under the new epoch's state key, SPEC §12.4), from
// the epoch's start state; without an epoch change it does not.
func TestArchiveEpochStart(t *testing.T) {
	w := epochWorld(t, 90)
	a := &fakeArchive{}
	h := harnessIn(w, 0, Options{Ledger: a})
	next, ec := w.nextEpoch(t, []uint64{0, 1, 2}) // starts at seq 8 with state {8}
	var asked []uint64
	h.enc[spec.RoleExec].script = execServing(8, next.StartState, 2, &asked)
	for p := uint64(1); p < 4; p++ {
		h.peer(p, spec.KindCheckpoint, w.checkpoint(p, 8, next.StartState))
	}
	h.enc[spec.RoleExec].st.Stable, h.enc[spec.RoleExec].st.Last = 8, 8
	for range 3 {
		h.peer(1, spec.KindCheckpoint, w.checkpoint(1, 8, next.StartState))
		h.r.Flush()
	}
	if len(a.snaps) != 1 {
		t.Fatalf("snapshots %v before the epoch change, want one at 8", a.snaps)
	}
	h.peer(2, spec.KindEpochChange, ec)
	for range 3 {
		h.r.Flush()
		h.ticks(1)
	}
	if len(a.snaps) != 2 || a.snaps[1] != 8 || h.r.Config().Epoch != 1 {
		t.Fatalf("snapshots %v after the epoch change at 8 (epoch %d), want 8 twice", a.snaps, h.r.Config().Epoch)
	}
}
