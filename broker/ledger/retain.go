package ledger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// Retention (SPEC.md §13.5, "Retention"): with Options.Retain > 0, once a snapshot
// record at h is on disk the ledger drops its oldest batch records: those at or below
// the cut c = min(h, Durable − Retain), and the checkpoint records below c. Nothing a
// recovery of the whole cluster reads goes (it starts at the newest snapshot, whose
// checkpoint record is at h ≥ c), and what stays still verifies: a prune record keeps
// link(c), from which the first batch left continues the chain. With
// Options.ArchiveDir, the records at or below c are first copied, synced, into an
// archive segment: a ledger directory of its own (the configuration, epoch and prune
// records, the checkpoint and batch records up to c) that Verify and FindReceipt read
// like any ledger, and whose last batch's Link is the new prune record's. Only then
// are they deleted from the live ledger, in one synced write with the prune record.
// A segment whose deletion did not happen (the process stopped in between) is
// replaced by the next one, which covers it.

// segmentPrefix starts the name of an archive segment: segment-<first>-<last>, the
// lowest and highest batch record it holds, in 20 decimal digits.
const segmentPrefix = "segment-"

// maxSegmentBatch bounds the bytes of one write into a segment being built.
const maxSegmentBatch = 8 << 20

// maybePrune starts a prune after the writer stored a snapshot record at h, unless
// retention is off or a prune still runs. Writer goroutine only.
func (l *Ledger) maybePrune(h uint64) {
	if l.opt.Retain == 0 || l.w.lastSeq < l.opt.Retain || l.stopping.Load() {
		return
	}
	t := min(h, l.w.lastSeq-l.opt.Retain)
	if t <= l.prunedTo.Load() || !l.pruning.CompareAndSwap(false, true) {
		return
	}
	l.pruneWG.Add(1)
	go func() {
		defer l.pruneWG.Done()
		defer l.pruning.Store(false)
		c, err := l.prune(t)
		if err != nil {
			l.opt.Log.Error("ledger: retention: old records not pruned (retried at the next snapshot)", "err", err)
		}
		if l.opt.pruned != nil {
			l.opt.pruned(c, err)
		}
	}()
}

// prune archives (with ArchiveDir) and then deletes the batch records at or below
// the cut c and the checkpoint records below it. It returns c (0: nothing pruned).
func (l *Ledger) prune(c uint64) (uint64, error) {
	snap := l.db.NewSnapshot()
	defer snap.Close()
	var link spec.Digest
	v, closer, err := snap.Get(key(prefixBatch, c))
	switch {
	case err == nil:
		var rec BatchRecord
		err = openValue(key(prefixBatch, c), v, &rec)
		closer.Close()
		if err != nil {
			return 0, fmt.Errorf("ledger: the batch record at the cut: %w", err)
		}
		link = rec.Link
	case !errors.Is(err, pebble.ErrNotFound):
		return 0, fmt.Errorf("ledger: %w", err)
	}
	if l.opt.ArchiveDir != "" {
		if err := l.archive(snap, c); err != nil {
			return 0, err
		}
	}
	if l.opt.beforePrune != nil && !l.opt.beforePrune(c) {
		return 0, errors.New("test: stopped before the deletion")
	}
	done := make(chan error, 1)
	if !l.submitPrune(item{kind: itemPrune, seq: c, digest: link, done: done}) {
		return 0, errors.New("ledger closed or stopped")
	}
	if err := <-done; err != nil {
		return 0, err
	}
	// Reclaim the space now: pebble otherwise drops deleted ranges only when a
	// compaction happens to cover them.
	if err := l.db.Compact(context.Background(), key(prefixBatch, 0), key(prefixBatch, c+1), false); err != nil {
		l.opt.Log.Warn("ledger: retention: compacting the pruned range", "err", err)
	}
	return c, nil
}

// submitPrune queues a prune item; the writer sends the outcome of its commit on
// it.done. False if the ledger no longer writes.
func (l *Ledger) submitPrune(it item) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.failed.Load() != nil {
		return false
	}
	l.queue = append(l.queue, it)
	l.cond.Signal()
	return true
}

// applyPrune deletes the batch records at or below it.seq and the checkpoint records
// below it, and records the prune (it.digest: link(it.seq)). Writer goroutine.
func (l *Ledger) applyPrune(b *pebble.Batch, it *item) bool {
	if it.seq == 0 || it.seq >= l.w.lastSeq {
		it.done <- fmt.Errorf("ledger: cut %d not below the chain's end %d", it.seq, l.w.lastSeq)
		it.done = nil
		return false
	}
	b.DeleteRange(key(prefixBatch, 0), key(prefixBatch, it.seq+1), nil)
	b.DeleteRange(key(prefixCheckpoint, 0), key(prefixCheckpoint, it.seq), nil)
	k := key(prefixPrune, 0)
	b.Set(k, sealValue(k, &PruneRecord{Seq: it.seq, Link: it.digest}), nil)
	l.pendingPrune = it.seq
	l.pendingDone = append(l.pendingDone, it.done)
	return true
}

// archive writes the records at or below c of snap into a new segment of
// ArchiveDir, synced, checks that it reads back as a sound ledger, and then removes
// the segments it covers (left by prunes whose deletion did not happen).
func (l *Ledger) archive(snap *pebble.Snapshot, c uint64) error {
	dir := l.opt.ArchiveDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".building-%020d", c))
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	first, last, err := copyRecords(snap, tmp, c, l.stopping.Load)
	if err == nil && first == 0 {
		return os.RemoveAll(tmp) // no batch record to keep: nothing to archive
	}
	if err == nil {
		err = checkSegment(tmp, first, last)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("ledger: archive: %w", err)
	}
	name := fmt.Sprintf("%s%020d-%020d", segmentPrefix, first, last)
	final := filepath.Join(dir, name)
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	segs, err := Segments(dir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s.First >= first && s.Name != name {
			// a segment of an earlier attempt, all of whose records this one holds
			if err := os.RemoveAll(filepath.Join(dir, s.Name)); err != nil {
				return fmt.Errorf("ledger: archive: %w", err)
			}
		}
	}
	l.segments.Add(1)
	l.opt.Log.Info("ledger: archived a segment", "segment", name, "batches", fmt.Sprintf("%d..%d", first, last))
	return nil
}

// errStopping ends the building of a segment when the ledger closes.
var errStopping = errors.New("the ledger is closing")

// copyRecords writes into a new store at dir the configuration and epoch records of
// r and its checkpoint and batch records at or below c, as stored (checksums
// included), and flushes it to synced sstables, unless stop reports true first. It returns the lowest
// and highest batch records copied (0, 0: none).
func copyRecords(r pebble.Reader, dir string, c uint64, stop func() bool) (first, last uint64, err error) {
	// No WAL: the records go straight to sstables, which Flush writes and syncs.
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{slog.New(slog.DiscardHandler)}, DisableWAL: true})
	if err != nil {
		return 0, 0, err
	}
	b := db.NewBatch()
	ranges := []struct{ lo, hi []byte }{
		{[]byte{prefixConfig}, []byte{prefixConfig + 1}},
		{[]byte{prefixEpoch}, []byte{prefixEpoch + 1}},
		{[]byte{prefixPrune}, []byte{prefixPrune + 1}},
		{[]byte{prefixCheckpoint}, key(prefixCheckpoint, c+1)},
		{[]byte{prefixBatch}, key(prefixBatch, c+1)},
	}
	for _, rg := range ranges {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: rg.lo, UpperBound: rg.hi})
		if err != nil {
			db.Close()
			return 0, 0, err
		}
		for it.First(); it.Valid(); it.Next() {
			if p, n, ok := parseKey(it.Key()); ok && p == prefixBatch {
				first, last = cmp.Or(first, n), n
			}
			v, err := it.ValueAndErr()
			if err == nil && stop() {
				err = errStopping
			}
			if err == nil {
				err = b.Set(it.Key(), v, nil)
			}
			if err == nil && b.Len() > maxSegmentBatch {
				err = b.Commit(pebble.NoSync)
				b = db.NewBatch()
			}
			if err != nil {
				it.Close()
				db.Close()
				return 0, 0, err
			}
		}
		if err := it.Close(); err != nil {
			db.Close()
			return 0, 0, err
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		db.Close()
		return 0, 0, err
	}
	if err := db.Flush(); err != nil {
		db.Close()
		return 0, 0, err
	}
	return first, last, db.Close()
}

// checkSegment opens the segment at dir read-only and checks it as Open checks a
// ledger (checksums, decoding, keys, links, epoch records), and that its batch
// records run from first to last.
func checkSegment(dir string, first, last uint64) error {
	db, err := openReadOnly(dir)
	if err != nil {
		return err
	}
	defer db.Close()
	cfg, _, err := checkedConfig(db, nil)
	if err != nil {
		return err
	}
	st, fault := scan(db, cfg, false)
	if fault != nil {
		return fault
	}
	if st.firstSeq != first || st.lastSeq != last {
		return fmt.Errorf("the segment holds batches %d..%d, want %d..%d", st.firstSeq, st.lastSeq, first, last)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Segment is an archive segment: a ledger directory holding batches First..Last.
type Segment struct {
	Name        string
	First, Last uint64
}

// Segments lists the archive segments in dir (made by retention), in order of their
// first batch. A missing dir has none.
func Segments(dir string) ([]Segment, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: archive: %w", err)
	}
	var out []Segment
	for _, e := range ents {
		var s Segment
		if !e.IsDir() || !strings.HasPrefix(e.Name(), segmentPrefix) {
			continue
		}
		if _, err := fmt.Sscanf(e.Name(), segmentPrefix+"%020d-%020d", &s.First, &s.Last); err != nil || s.First == 0 || s.Last < s.First ||
			e.Name() != fmt.Sprintf("%s%020d-%020d", segmentPrefix, s.First, s.Last) {
			continue
		}
		s.Name = e.Name()
		out = append(out, s)
	}
	return out, nil // ReadDir sorts by name: zero-padded, so by First
}

// FirstBatch returns the lowest batch record the ledger holds (0: none). Any goroutine.
func (l *Ledger) FirstBatch() uint64 {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixBatch}, UpperBound: []byte{prefixBatch + 1}})
	if err != nil {
		return 0
	}
	defer it.Close()
	if !it.First() {
		return 0
	}
	_, n, _ := parseKey(it.Key())
	return n
}

// ArchiveSummary describes an archive and the live ledger after it that
// VerifyArchive found sound.
type ArchiveSummary struct {
	Segments []Summary // one per segment, in order
	Live     Summary
}

// VerifyArchive checks, offline, the archive segments in dir and the live ledger
// they were pruned from (SPEC.md §13.5, "Retention"): each verifies as a ledger
// under cfg (Verify), and each part continues the one before it: its prune record is
// at the previous part's last batch with that batch's link, so that the parts form
// one chain with no batch missing or held twice. cfg is the configuration the live
// ledger starts with (the segments record the same one).
func VerifyArchive(dir, live string, cfg *spec.Config) (ArchiveSummary, error) {
	var out ArchiveSummary
	segs, err := Segments(dir)
	if err != nil {
		return out, err
	}
	var prev *Summary
	follow := func(name string, s *Summary) error {
		if prev == nil {
			return nil
		}
		if s.ConfigDigest != prev.ConfigDigest {
			return fmt.Errorf("ledger: %s starts with configuration %x, the segment before it with %x", name, s.ConfigDigest[:8], prev.ConfigDigest[:8])
		}
		if s.PrunedTo != prev.Last || s.PrunedLink != prev.LastLink {
			return fmt.Errorf("ledger: %s does not continue the segment before it (its prune record: seq %d, link %x; that segment ends at seq %d, link %x)",
				name, s.PrunedTo, s.PrunedLink[:8], prev.Last, prev.LastLink[:8])
		}
		return nil
	}
	for _, sg := range segs {
		s, err := Verify(filepath.Join(dir, sg.Name), cfg)
		if err != nil {
			return out, fmt.Errorf("ledger: segment %s: %w", sg.Name, err)
		}
		if s.First != sg.First || s.Last != sg.Last {
			return out, fmt.Errorf("ledger: segment %s holds batches %d..%d", sg.Name, s.First, s.Last)
		}
		if err := follow("segment "+sg.Name, &s); err != nil {
			return out, err
		}
		out.Segments = append(out.Segments, s)
		prev = &out.Segments[len(out.Segments)-1]
	}
	if out.Live, err = Verify(live, cfg); err != nil {
		return out, fmt.Errorf("ledger: the live ledger: %w", err)
	}
	return out, follow("the live ledger", &out.Live)
}
