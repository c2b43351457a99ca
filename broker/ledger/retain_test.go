package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/splitbft/splitbft/spec"
)

// Tests of retention (SPEC.md §13.5, "Retention"; retain.go).

// pruneResult is what the pruned hook reports.
type pruneResult struct {
	cut uint64
	err error
}

// retainOpts returns Options with retention and a hook reporting each prune on the
// returned channel.
func retainOpts(retain uint64, archive string) (Options, chan pruneResult) {
	ch := make(chan pruneResult, 8)
	return Options{Retain: retain, ArchiveDir: archive, pruneRetry: time.Nanosecond, pruned: func(c uint64, err error) { ch <- pruneResult{c, err} }}, ch
}

// snapshotAndPrune stores a snapshot at seq and waits for the prune it starts.
func (f *fx) snapshotAndPrune(l *Ledger, seq uint64, ch chan pruneResult) pruneResult {
	f.t.Helper()
	l.Snapshot(seq, stateAt(seq), f.cd, chunksOf(seq, stateAt(seq), 2))
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second): // a safety net only: the hook ends the wait
		f.t.Fatalf("seed %d: no prune after the snapshot at %d", f.seed, seq)
		return pruneResult{}
	}
}

// feedAndPrune feeds batches up to to (from the one after Durable), stores a
// snapshot at snap and checks that the prune it starts cuts at want.
func (f *fx) feedAndPrune(l *Ledger, ch chan pruneResult, to, snap, want uint64) {
	f.t.Helper()
	f.feed(l, l.Durable()+1, to)
	f.waitDurable(l, to)
	if r := f.snapshotAndPrune(l, snap, ch); r.err != nil || r.cut != want {
		f.t.Fatalf("seed %d: prune after the snapshot at %d: cut %d, %v; want %d", f.seed, snap, r.cut, r.err, want)
	}
}

// prunedOnce writes a closed ledger of batches 1..to with retention retain and an
// archive, pruned once after a snapshot at snap (at cut), and returns the archive
// directory, the options and the prune channel to reopen it with.
func (f *fx) prunedOnce(retain, to, snap, cut uint64) (string, Options, chan pruneResult) {
	f.t.Helper()
	arch := f.t.TempDir()
	opt, ch := retainOpts(retain, arch)
	l := f.open(opt)
	f.feedAndPrune(l, ch, to, snap, cut)
	if err := l.Close(); err != nil {
		f.t.Fatal(err)
	}
	return arch, opt, ch
}

// checkSegments verifies every segment of dir under cfg and returns their ranges;
// together with the live ledger they must cover first..last without a gap or overlap.
func checkSegments(t *testing.T, f *fx, dir string, cfg *spec.Config, live Summary) []Segment {
	t.Helper()
	segs, err := Segments(dir)
	if err != nil {
		t.Fatalf("seed %d: %v", f.seed, err)
	}
	next := uint64(1)
	for _, s := range segs {
		sum, err := Verify(filepath.Join(dir, s.Name), cfg)
		if err != nil {
			t.Fatalf("seed %d: segment %s does not verify: %v", f.seed, s.Name, err)
		}
		if sum.First != s.First || sum.Last != s.Last || s.First != next {
			t.Fatalf("seed %d: segment %s holds %d..%d, want from %d", f.seed, s.Name, sum.First, sum.Last, next)
		}
		next = s.Last + 1
	}
	if live.First != next {
		t.Fatalf("seed %d: the live ledger starts at %d, the archive ends at %d", f.seed, live.First, next-1)
	}
	return segs
}

// TestRetentionArchivesAndPrunes: after each snapshot the records below the cut go
// to a segment and then leave the live ledger; the cut is bounded by the snapshot
// (first prune) and by Retain (second); segments and live ledger verify and cover
// every batch once; a receipt is found in its segment; the reopened ledger still
// offers what a recovery needs (the snapshot's checkpoint, the log above it).
func TestRetentionArchivesAndPrunes(t *testing.T) {
	f := newFx(t, 41)
	arch := t.TempDir()
	opt, ch := retainOpts(8, arch)
	l := f.open(opt)
	f.feedAndPrune(l, ch, 28, 16, 16)
	if _, err := l.Batch(16); !errors.Is(err, ErrNoArchive) {
		t.Fatalf("seed %d: batch 16 still in the live ledger: %v", f.seed, err)
	}
	if _, err := l.Checkpoint(12); !errors.Is(err, ErrNoArchive) {
		t.Fatalf("seed %d: checkpoint 12 still in the live ledger: %v", f.seed, err)
	}
	if _, err := l.Checkpoint(16); err != nil {
		t.Fatalf("seed %d: checkpoint 16, the chain's anchor, pruned: %v", f.seed, err)
	}
	if got := l.FirstBatch(); got != 17 {
		t.Fatalf("seed %d: first batch %d, want 17", f.seed, got)
	}
	f.feedAndPrune(l, ch, 44, 40, 36)
	if st := l.Stats(); st.PrunedTo != 36 || st.Segments != 2 {
		t.Fatalf("seed %d: stats %+v", f.seed, st)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	live, err := Verify(f.dir, f.cfg)
	if err != nil || live.First != 37 || live.Last != 44 {
		t.Fatalf("seed %d: live ledger: %+v, %v", f.seed, live, err)
	}
	segs := checkSegments(t, f, arch, f.cfg, live)
	if diff := cmp.Diff([]Segment{{segmentPrefix + "00000000000000000001-00000000000000000016", 1, 16},
		{segmentPrefix + "00000000000000000017-00000000000000000036", 17, 36}}, segs); diff != "" {
		t.Fatalf("seed %d: segments (-want +got):\n%s", f.seed, diff)
	}
	if a, err := VerifyArchive(arch, f.dir, f.cfg); err != nil || len(a.Segments) != 2 || a.Live.PrunedTo != 36 {
		t.Fatalf("seed %d: archive: %+v, %v", f.seed, a, err)
	}
	if _, err := FindReceipt(f.dir, 100, 5); !errors.Is(err, ErrNoReceipt) {
		t.Fatalf("seed %d: receipt of a pruned batch from the live ledger: %v", f.seed, err)
	}
	r, err := FindReceipt(filepath.Join(arch, segs[0].Name), 100, 5)
	if err != nil || r.Seq != 5 {
		t.Fatalf("seed %d: receipt from the segment: %+v, %v", f.seed, r, err)
	}
	if _, err := r.Verify(f.cfg); err != nil {
		t.Fatalf("seed %d: the segment's receipt does not verify: %v", f.seed, err)
	}
	l = f.open(Options{})
	defer l.Close()
	if rec, err := l.LatestSnapshot(); err != nil || rec.Seq != 40 {
		t.Fatalf("seed %d: snapshot after reopen: %+v, %v", f.seed, rec, err)
	}
	if _, err := l.Checkpoint(40); err != nil || l.Contiguous(40) != 44 || l.Durable() != 44 {
		t.Fatalf("seed %d: recovery base after reopen: checkpoint 40 %v, contiguous %d, durable %d", f.seed, err, l.Contiguous(40), l.Durable())
	}
}

// TestRetentionWithoutArchive: Retain alone deletes without a copy, and the live
// ledger still verifies and reopens.
func TestRetentionWithoutArchive(t *testing.T) {
	f := newFx(t, 42)
	opt, ch := retainOpts(4, "")
	l := f.open(opt)
	f.feedAndPrune(l, ch, 20, 12, 12)
	f.feed(l, 21, 24)
	f.waitDurable(l, 24)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if live, err := Verify(f.dir, f.cfg); err != nil || live.First != 13 || live.Last != 24 {
		t.Fatalf("seed %d: live ledger: %+v, %v", f.seed, live, err)
	}
	l = f.open(Options{})
	l.Close()
}

// interrupted opens a ledger with retention 4 and an archive whose first prune (of
// batches 1..16, after a snapshot at 16 with batches up to 24) stops after writing
// its segment and before the deletion, as a crash there would; *stop = false lets
// later prunes through.
func (f *fx) interrupted() (string, Options, chan pruneResult, *Ledger, *bool) {
	f.t.Helper()
	arch := f.t.TempDir()
	opt, ch := retainOpts(4, arch)
	stop := true
	opt.beforePrune = func(uint64) bool { return !stop }
	l := f.open(opt)
	f.feed(l, 1, 24)
	f.waitDurable(l, 24)
	if r := f.snapshotAndPrune(l, 16, ch); r.err == nil {
		f.t.Fatalf("seed %d: the interrupted prune reported cut %d", f.seed, r.cut)
	}
	return arch, opt, ch, l, &stop
}

// TestRetentionInterruptedArchive: a segment written by a prune whose deletion did not
// happen (the process stopped in between) is replaced by the next prune's segment,
// which covers it: the archive never holds a batch twice.
func TestRetentionInterruptedArchive(t *testing.T) {
	f := newFx(t, 43)
	arch, opt, ch, l, stop := f.interrupted()
	if segs, _ := Segments(arch); len(segs) != 1 || segs[0].Last != 16 || l.FirstBatch() != 1 {
		t.Fatalf("seed %d: after the interrupted prune: segments %+v, first batch %d", f.seed, segs, l.FirstBatch())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// the process stopped here: the segment is pending, not part of the chain
	if a, err := VerifyArchive(arch, f.dir, f.cfg); err != nil || len(a.Pending) != 1 || len(a.Segments) != 0 {
		t.Fatalf("seed %d: archive with a pending segment: %+v, %v", f.seed, a, err)
	}
	if err := os.Mkdir(filepath.Join(arch, buildingPrefix+"00000000000000000099"), 0o700); err != nil {
		t.Fatal(err) // and a segment left half built by a crash
	}
	l = f.open(opt)
	*stop = false
	f.feedAndPrune(l, ch, 32, 28, 28)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	live, err := Verify(f.dir, f.cfg)
	if err != nil {
		t.Fatalf("seed %d: %v", f.seed, err)
	}
	if segs := checkSegments(t, f, arch, f.cfg, live); len(segs) != 1 || segs[0].Last != 28 {
		t.Fatalf("seed %d: segments %+v, want one of 1..28", f.seed, segs)
	}
	if ents, _ := os.ReadDir(arch); len(ents) != 1 {
		t.Fatalf("seed %d: archive holds %d entries, want the one segment", f.seed, len(ents))
	}
	if _, err := VerifyArchive(arch, f.dir, f.cfg); err != nil {
		t.Fatalf("seed %d: %v", f.seed, err)
	}
}

// TestVerifyArchiveFindsAMissingSegment: an archive missing a segment (the middle
// one, or the first), or no archive at all for a pruned ledger (a mistyped
// directory), does not verify as the live ledger's past.
func TestVerifyArchiveFindsAMissingSegment(t *testing.T) {
	f := newFx(t, 45)
	arch := t.TempDir()
	opt, ch := retainOpts(4, arch)
	l := f.open(opt)
	for _, seq := range []uint64{8, 16, 24} {
		f.feedAndPrune(l, ch, seq+4, seq, seq)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := VerifyArchive(arch, f.dir, f.cfg)
	if err != nil || len(a.Segments) != 3 {
		t.Fatalf("seed %d: archive: %+v, %v", f.seed, a, err)
	}
	if _, err := VerifyArchive(filepath.Join(arch, "mistyped"), f.dir, f.cfg); err == nil {
		t.Fatalf("seed %d: a pruned ledger verified with no archive", f.seed)
	}
	segs, _ := Segments(arch)
	for _, gone := range []int{1, 0} {
		cp := filepath.Join(t.TempDir(), "archive")
		copyDir(t, arch, cp)
		if err := os.RemoveAll(filepath.Join(cp, segs[gone].Name)); err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyArchive(cp, f.dir, f.cfg); err == nil {
			t.Fatalf("seed %d: an archive missing segment %s verified", f.seed, segs[gone].Name)
		}
	}
}

// epochPruned writes a closed ledger with retention 4 and an archive: batches 1..at,
// an epoch change starting epoch 1 at at, batches up to 20 under it, and one prune
// after a snapshot at snap, which must cut at cut. It returns the archive, the
// options, and the two configurations.
func (f *fx) epochPruned(at, snap, cut uint64) (string, Options, *spec.Config, *spec.Config) {
	f.t.Helper()
	arch := f.t.TempDir()
	opt, ch := retainOpts(4, arch)
	l := f.open(opt)
	f.feed(l, 1, at)
	f.waitDurable(l, at)
	first := f.cfg
	next, ec, raw := f.nextEpoch(at)
	l.Epoch(raw, ec, next)
	f.switchEpoch(next)
	f.feedAndPrune(l, ch, 20, snap, cut)
	if err := l.Close(); err != nil {
		f.t.Fatal(err)
	}
	return arch, opt, first, next
}

// TestRetentionAcrossEpoch: a segment that spans an epoch change carries its epoch
// record and verifies from the first configuration; the live ledger keeps the epoch
// record and verifies too.
func TestRetentionAcrossEpoch(t *testing.T) {
	f := newFx(t, 44)
	arch, _, first, next := f.epochPruned(6, 16, 16)
	live, err := Verify(f.dir, first)
	if err != nil || live.First != 17 || live.Epochs != 1 {
		t.Fatalf("seed %d: live ledger: %+v, %v", f.seed, live, err)
	}
	segs := checkSegments(t, f, arch, first, live)
	if sum, err := Verify(filepath.Join(arch, segs[0].Name), first); err != nil || sum.Epochs != 1 || sum.LastEpoch != next.Epoch {
		t.Fatalf("seed %d: segment across the epoch: %+v, %v", f.seed, sum, err)
	}
}

// TestRetentionGapCut: a target inside a state-transfer gap cuts at the last batch
// record below it; the live ledger continues from the checkpoint the gap ends at, the
// archive verifies with it, and not without the segment before the gap.
func TestRetentionGapCut(t *testing.T) {
	f := newFx(t, 47)
	arch := t.TempDir()
	opt, ch := retainOpts(30, arch)
	l := f.open(opt)
	f.feed(l, 1, 4)
	f.stateTransfer(l, 40)
	f.feedAndPrune(l, ch, 60, 56, 4) // t = 60 − 30 = 30, in the gap: the cut is the last batch below it
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := VerifyArchive(arch, f.dir, f.cfg)
	if err != nil || len(a.Segments) != 1 || a.Segments[0].Last != 4 || a.Live.First != 41 || a.Live.PrunedTo != 4 {
		t.Fatalf("seed %d: archive with a cut in a gap: %+v, %v", f.seed, a, err)
	}
	segs, _ := Segments(arch)
	if err := os.RemoveAll(filepath.Join(arch, segs[0].Name)); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyArchive(arch, f.dir, f.cfg); err == nil {
		t.Fatalf("seed %d: the archive verified without its segment before the gap", f.seed)
	}
}

// TestRetentionPrunesEverything: when the cut passes the last batch record (state
// transfer beyond it), the live ledger keeps none, and reopens at the cut.
func TestRetentionPrunesEverything(t *testing.T) {
	f := newFx(t, 51)
	arch := t.TempDir()
	opt, ch := retainOpts(2, arch)
	l := f.open(opt)
	f.feed(l, 1, 4)
	f.stateTransfer(l, 40)
	f.waitDurable(l, 40)
	if r := f.snapshotAndPrune(l, 40, ch); r.err != nil || r.cut != 4 {
		t.Fatalf("seed %d: prune: cut %d, %v; want 4 (the last batch record below 38)", f.seed, r.cut, r.err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = f.open(opt)
	if l.FirstBatch() != 0 || l.Durable() != 4 {
		t.Fatalf("seed %d: reopened: first batch %d, durable %d", f.seed, l.FirstBatch(), l.Durable())
	}
	l.Close()
	f.corruptPrune(0) // with no batch record left, the good copy is what a repair has
	l = f.open(opt)
	if l.Repaired == nil || l.Durable() != 4 || l.Stats().PrunedTo != 4 {
		t.Fatalf("seed %d: reopened with copy 0 corrupt: repaired %v, durable %d, pruned to %d", f.seed, l.Repaired, l.Durable(), l.Stats().PrunedTo)
	}
	l.Close()
	if a, err := VerifyArchive(arch, f.dir, f.cfg); err != nil || len(a.Segments) != 1 || a.Live.PrunedTo != 4 {
		t.Fatalf("seed %d: %+v, %v", f.seed, a, err)
	}
}

// TestRetentionRejoinedLedger: a ledger that starts at StartSeq > 0 (a replica that
// rejoined) prunes nothing while the cut is below its start, then archives from its
// first batch; the archive verifies.
func TestRetentionRejoinedLedger(t *testing.T) {
	f := newFx(t, 52)
	next, _, _ := f.nextEpoch(40)
	f.switchEpoch(next)
	arch := t.TempDir()
	opt, ch := retainOpts(30, arch)
	l := f.open(opt)
	f.feed(l, 41, 60)
	f.waitDurable(l, 60)
	l.Snapshot(56, stateAt(56), f.cd, chunksOf(56, stateAt(56), 2))
	if r := <-ch; r.err != nil || r.cut != 0 {
		t.Fatalf("seed %d: prune below the ledger's start: cut %d, %v", f.seed, r.cut, r.err)
	}
	f.feedAndPrune(l, ch, 80, 72, 50)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if a, err := VerifyArchive(arch, f.dir, next); err != nil || len(a.Segments) != 1 || a.Segments[0].First != 41 || a.Live.First != 51 {
		t.Fatalf("seed %d: %+v, %v", f.seed, a, err)
	}
}

// TestRetentionRefusesForeignSegments: an archive directory holding another
// cluster's committed segments is not cleaned up by this ledger's prune: the prune
// fails and the other segments stay.
func TestRetentionRefusesForeignSegments(t *testing.T) {
	other := newFx(t, 148)
	arch, _, _ := other.prunedOnce(4, 20, 16, 16)
	before, _ := Segments(arch)
	f := newFx(t, 48)
	opt, ch := retainOpts(4, arch)
	l := f.open(opt)
	f.feed(l, 1, 12)
	f.waitDurable(l, 12)
	if r := f.snapshotAndPrune(l, 8, ch); r.err == nil {
		t.Fatalf("seed %d: pruned to %d into an archive holding another cluster's segments", f.seed, r.cut)
	}
	l.Close()
	if after, _ := Segments(arch); !cmp.Equal(before, after) {
		t.Fatalf("seed %d: segments %+v became %+v", f.seed, before, after)
	}
}

// orphaned leaves a closed ledger whose first prune (after a snapshot at 16) stopped
// after writing segment 1..16 and whose batch 16 is then corrupt, so that Open
// truncates it: the segment holds records the ledger lost. Later prunes go through.
func (f *fx) orphaned() (string, Options, chan pruneResult) {
	f.t.Helper()
	arch, opt, ch, l, stop := f.interrupted()
	l.Close()
	f.edit(func(db *pebble.DB) {
		v := get(f.t, db, key(prefixBatch, 16))
		v[len(v)/2] ^= 1
		set(f.t, db, key(prefixBatch, 16), v)
	})
	*stop = false
	return arch, opt, ch
}

// TestRetentionOrphanSegment: a segment whose deletion did not happen, whose records
// the ledger then lost (Open truncated a corrupt batch), is set aside, not removed,
// and retention goes on; the archive verifies and names it.
func TestRetentionOrphanSegment(t *testing.T) {
	f := newFx(t, 53)
	arch, opt, ch := f.orphaned()
	l := f.open(opt)
	if l.Durable() != 15 {
		t.Fatalf("seed %d: durable %d after the repair, want 15", f.seed, l.Durable())
	}
	f.stateTransfer(l, 40)
	f.feedAndPrune(l, ch, 60, 56, 56)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := VerifyArchive(arch, f.dir, f.cfg)
	if err != nil || len(a.Segments) != 1 || a.Segments[0].First != 1 || a.Segments[0].Last != 56 || a.Live.First != 57 || len(a.Orphans) != 1 {
		t.Fatalf("seed %d: archive: %+v, %v", f.seed, a, err)
	}
	if _, err := os.Stat(filepath.Join(arch, orphanPrefix+segmentPrefix+"00000000000000000001-00000000000000000016")); err != nil {
		t.Fatalf("seed %d: the orphan segment was not kept aside: %v", f.seed, err)
	}
}

// TestRetentionRepairsPruneRecord: a corrupt prune record is rewritten on Open from
// the archive's last segment, and nothing is truncated.
func TestRetentionRepairsPruneRecord(t *testing.T) {
	f := newFx(t, 49)
	arch, opt, _ := f.prunedOnce(4, 24, 16, 16)
	for _, copies := range [][]uint64{{0}, {1}, {0, 1}} { // one copy, then both: from the archive
		f.corruptPrune(copies...)
		l := f.open(opt)
		if l.Repaired == nil || l.Repaired.Kind != KindPrune || l.Durable() != 24 || l.FirstBatch() != 17 {
			t.Fatalf("seed %d: copies %v corrupt: repaired %v, durable %d, first batch %d", f.seed, copies, l.Repaired, l.Durable(), l.FirstBatch())
		}
		l.Close()
		if _, err := VerifyArchive(arch, f.dir, f.cfg); err != nil {
			t.Fatalf("seed %d: copies %v corrupt: %v", f.seed, copies, err)
		}
	}
}

// corruptPrune flips a byte of the given copies of the closed ledger's prune record.
func (f *fx) corruptPrune(copies ...uint64) {
	f.edit(func(db *pebble.DB) {
		for _, n := range copies {
			v := get(f.t, db, key(prefixPrune, n))
			v[len(v)/2] ^= 1
			set(f.t, db, key(prefixPrune, n), v)
		}
	})
}

// TestRetentionEpochStartCut: a cut at the last batch of an epoch (a snapshot is due
// at each epoch's start): the next batch continues from the epoch's start, and a
// prune record whose both copies are corrupt is repaired from the archive.
func TestRetentionEpochStartCut(t *testing.T) {
	f := newFx(t, 54)
	arch, opt, first, _ := f.epochPruned(8, 8, 8)
	f.corruptPrune(0, 1)
	l := f.open(opt)
	if l.Repaired == nil || l.Durable() != 20 || l.Stats().PrunedTo != 8 {
		t.Fatalf("seed %d: reopened with both copies corrupt: repaired %v, durable %d, pruned to %d", f.seed, l.Repaired, l.Durable(), l.Stats().PrunedTo)
	}
	l.Close()
	if a, err := VerifyArchive(arch, f.dir, first); err != nil || len(a.Segments) != 1 || a.Live.PrunedTo != 8 || a.Live.First != 9 {
		t.Fatalf("seed %d: %+v, %v", f.seed, a, err)
	}
}

// TestRetentionChunks: a prune far behind (retention turned on for a long ledger)
// goes in chunks, one segment each, committed one after the other.
func TestRetentionChunks(t *testing.T) {
	f := newFx(t, 50)
	arch := t.TempDir()
	opt, ch := retainOpts(4, arch)
	opt.chunkBytes = 3 * len(f.batch(1)) // about three batch records per chunk
	l := f.open(opt)
	f.feedAndPrune(l, ch, 28, 24, 24)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := VerifyArchive(arch, f.dir, f.cfg)
	if err != nil || len(a.Segments) < 4 || a.Live.PrunedTo != 24 || a.Live.First != 25 {
		t.Fatalf("seed %d: chunked archive: %d segments, live %+v, %v", f.seed, len(a.Segments), a.Live, err)
	}
}

// prunedTwice writes a closed ledger with retention retain and an archive, pruned
// after each of two steps {feed to, snapshot at, cut}, and returns the archive, the
// options, the prune channel and copy 0 of the prune record after the first step.
func (f *fx) prunedTwice(retain uint64, steps [2][3]uint64) (string, Options, chan pruneResult, []byte) {
	f.t.Helper()
	arch := f.t.TempDir()
	opt, ch := retainOpts(retain, arch)
	var first []byte
	for i, st := range steps {
		l := f.open(opt)
		f.feedAndPrune(l, ch, st[0], st[1], st[2])
		l.Close()
		if i == 0 {
			f.edit(func(db *pebble.DB) { first = get(f.t, db, key(prefixPrune, 0)) })
		}
	}
	return arch, opt, ch, first
}

// TestRetentionStaleCopy: copy 0 of the prune record is an older one (Seq 13) that
// still opens, copy 1 the current one (Seq 21): the repair installs the copy the
// first batch record continues from, not the first that opens.
func TestRetentionStaleCopy(t *testing.T) {
	f := newFx(t, 60)
	_, opt, _, old := f.prunedTwice(3, [2][3]uint64{{16, 16, 13}, {24, 24, 21}})
	var l *Ledger
	for _, alsoCorrupt1 := range []bool{false, true} { // then the stale copy is the only one that opens
		f.edit(func(db *pebble.DB) { set(t, db, key(prefixPrune, 0), old) })
		if alsoCorrupt1 {
			f.corruptPrune(1)
		}
		l = f.open(opt)
		if l.Durable() != 24 || l.FirstBatch() != 22 || l.Stats().PrunedTo != 21 {
			t.Fatalf("seed %d: copy 1 corrupt %v: stale copy 0 installed: durable %d, first batch %d, pruned to %d (want 24, 22, 21)", f.seed, alsoCorrupt1, l.Durable(), l.FirstBatch(), l.Stats().PrunedTo)
		}
		l.Close()
	}
}

// TestRetentionStaleCopyAnchored: the same with a checkpoint record at the older
// cut; retention and VerifyArchive go on after the repair.
func TestRetentionStaleCopyAnchored(t *testing.T) {
	f := newFx(t, 61)
	arch, opt, ch, old := f.prunedTwice(4, [2][3]uint64{{12, 8, 8}, {20, 16, 16}})
	f.edit(func(db *pebble.DB) { set(t, db, key(prefixPrune, 0), old) })
	l := f.open(opt)
	t.Logf("repaired %v; durable %d, first batch %d, pruned to %d", l.Repaired, l.Durable(), l.FirstBatch(), l.Stats().PrunedTo)
	f.feed(l, 21, 28)
	f.waitDurable(l, 28)
	r := f.snapshotAndPrune(l, 24, ch)
	l.Close()
	a, err := VerifyArchive(arch, f.dir, f.cfg)
	t.Logf("next prune: cut %d err %v; VerifyArchive: %v", r.cut, r.err, err)
	if r.err != nil || err != nil || a.Live.PrunedTo != 24 {
		t.Fatalf("seed %d: stale copy accepted: prune %v, verify %v", f.seed, r.err, err)
	}
}

// TestRetentionSharedArchive: two replicas of one cluster (identical records) given
// one archive directory by mistake: the second one's prune refuses, and the first
// one's archive still verifies.
func TestRetentionSharedArchive(t *testing.T) {
	a := newFx(t, 70)
	arch, _, _ := a.prunedOnce(4, 20, 16, 16)
	if _, err := VerifyArchive(arch, a.dir, a.cfg); err != nil {
		t.Fatal(err)
	}
	b := newFx(t, 70)
	opt, ch := retainOpts(4, arch)
	l := b.open(opt)
	b.feed(l, 1, 12)
	b.waitDurable(l, 12)
	r := b.snapshotAndPrune(l, 8, ch)
	l.Close()
	_, err := VerifyArchive(arch, a.dir, a.cfg)
	t.Logf("B's prune: cut %d err %v; A's VerifyArchive now: %v", r.cut, r.err, err)
	if r.err == nil || err != nil {
		t.Fatalf("seed %d: B modified A's archive", a.seed)
	}
}

// TestRetentionOrphanNameTaken: an orphan of the same range was set aside before:
// the new one gets another name, and retention goes on.
func TestRetentionOrphanNameTaken(t *testing.T) {
	f := newFx(t, 53)
	arch, opt, ch := f.orphaned()
	taken := filepath.Join(arch, orphanPrefix+segmentPrefix+"00000000000000000001-00000000000000000016")
	if err := os.MkdirAll(taken, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(taken, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := f.open(opt)
	f.stateTransfer(l, 40)
	f.feedAndPrune(l, ch, 60, 56, 56)
	l.Close()
	if a, err := VerifyArchive(arch, f.dir, f.cfg); err != nil || len(a.Orphans) != 2 {
		t.Fatalf("seed %d: archive with two orphans of one range: %+v, %v", f.seed, a, err)
	}
}
