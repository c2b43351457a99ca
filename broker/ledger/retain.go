package ledger

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// Retention (SPEC.md §13.5, "Retention"): with Options.Retain > 0, once a snapshot
// record at h is on disk the ledger drops its oldest batch records: those at or below
// the cut t = min(h, chain end − Retain), and the checkpoint records below it, in
// chunks of at most maxChunkBytes of batch records, so that the first prune of a
// large ledger needs at most a chunk's worth of free space. Nothing a recovery of the
// whole cluster reads goes (it starts at the newest snapshot, whose checkpoint
// record is at h ≥ t), and what stays still verifies: a prune record keeps the link
// of the last batch pruned, from which the first batch left continues the chain.
// With Options.ArchiveDir, each chunk is first copied, synced, into an archive
// segment: a ledger directory of its own (the configuration, epoch and prune
// records, the checkpoint and batch records up to the chunk's end) that Verify and
// FindReceipt read like any ledger. Only then is it deleted from the live ledger, in
// one synced write with the new prune record. A segment whose deletion did not
// happen (the process stopped in between) holds records the live ledger still has:
// the next prune replaces it, and VerifyArchive reports it as not yet committed. A
// segment is never removed unless the live ledger holds the same records.

// segmentPrefix starts the name of an archive segment: segment-<first>-<last>, the
// lowest and highest batch record it holds, in 20 decimal digits.
const segmentPrefix = "segment-"

// buildingPrefix starts the name of a segment being built.
const buildingPrefix = ".building-"

// maxSegmentBatch bounds the bytes of one write into a segment being built.
const maxSegmentBatch = 8 << 20

// maxChunkBytes bounds the batch record bytes one prune step archives and deletes.
const maxChunkBytes = 64 << 20

// freeMargin is the free space an archive volume must keep beyond a chunk.
const freeMargin = 256 << 20

// Backoff after a failed prune: retried at a snapshot no sooner than this after the
// failure, doubling up to pruneBackoffMax.
const (
	pruneBackoffMin = 30 * time.Second
	pruneBackoffMax = time.Hour
)

// maybePrune starts a prune after the writer stored a snapshot record at h, unless
// retention is off, a prune still runs, or one failed recently. Writer goroutine only.
func (l *Ledger) maybePrune(h uint64) {
	if l.opt.Retain == 0 || l.w.lastSeq < l.opt.Retain || l.stopping.Load() {
		return
	}
	t := min(h, l.w.lastSeq-l.opt.Retain)
	if t <= l.prunedTo.Load() || time.Now().UnixNano() < l.pruneRetryAt.Load() || !l.pruning.CompareAndSwap(false, true) {
		return
	}
	cfg := l.w.cfg
	l.pruneWG.Add(1)
	go func() {
		defer l.pruneWG.Done()
		defer l.pruning.Store(false)
		c, err := l.pruneTo(t, cfg)
		if err != nil && !errors.Is(err, errStopping) {
			l.pruneFails++
			wait := min(cmp.Or(l.opt.pruneRetry, pruneBackoffMin)<<min(l.pruneFails-1, 10), pruneBackoffMax)
			l.pruneRetryAt.Store(time.Now().Add(wait).UnixNano())
			l.opt.Log.Error("ledger: retention: old records not pruned", "err", err, "pruned_to", l.prunedTo.Load(), "retry_after", wait)
		} else if err == nil {
			l.pruneFails = 0
		}
		if l.opt.pruned != nil {
			l.opt.pruned(c, err)
		}
	}()
}

// pruneTo prunes chunk by chunk up to t under cfg (the configuration in force when
// the prune began). It returns the last cut committed (0: none).
func (l *Ledger) pruneTo(t uint64, cfg *spec.Config) (uint64, error) {
	var c uint64
	for {
		if l.stopping.Load() {
			return c, errStopping
		}
		next, more, err := l.pruneChunk(t, cfg)
		if err != nil {
			return c, err
		}
		if next > 0 {
			c = next
		}
		if !more {
			return c, nil
		}
	}
}

// pruneChunk archives (with ArchiveDir) and then deletes the next chunk of records
// at or below t: it returns the chunk's cut (0: nothing to prune) and whether
// records at or below t remain.
func (l *Ledger) pruneChunk(t uint64, cfg *spec.Config) (uint64, bool, error) {
	snap := l.db.NewSnapshot()
	defer snap.Close()
	pr, err := readPrune(snap)
	if err != nil {
		return 0, false, err
	}
	if t <= pr.Seq {
		return 0, false, nil
	}
	c, link, bytes, more, err := chunkEnd(snap, pr.Seq, t, cmp.Or(l.opt.chunkBytes, maxChunkBytes))
	if err != nil || c == 0 {
		return 0, false, err
	}
	if l.opt.ArchiveDir != "" {
		if err := l.archive(snap, c, pr.Seq, bytes); err != nil {
			return 0, false, err
		}
	}
	if l.opt.beforePrune != nil && !l.opt.beforePrune(c) {
		return 0, false, errors.New("test: stopped before the deletion")
	}
	done := make(chan error, 1)
	if !l.submitPrune(item{kind: itemPrune, seq: c, digest: link, cfg: cfg, done: done}) {
		return 0, false, errStopping
	}
	if err := <-done; err != nil {
		return 0, false, err
	}
	// Reclaim the space now: pebble otherwise drops deleted ranges only when a
	// compaction happens to cover them.
	if err := l.db.Compact(l.ctx, key(prefixBatch, 0), key(prefixBatch, c+1), false); err != nil && l.ctx.Err() == nil {
		l.opt.Log.Warn("ledger: retention: compacting the pruned range", "err", err)
	}
	return c, more, nil
}

// readPrune returns the prune record of r (zero: none).
func readPrune(r pebble.Reader) (PruneRecord, error) {
	var pr PruneRecord
	k := key(prefixPrune, 0)
	v, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return pr, nil
	}
	if err != nil {
		return pr, fmt.Errorf("ledger: %w", err)
	}
	defer closer.Close()
	if err := openValue(k, v, &pr); err != nil {
		return pr, fmt.Errorf("ledger: prune record: %w", err)
	}
	return pr, nil
}

// chunkEnd returns the cut of the next chunk above from (the prune record's Seq) and
// at or below t: the last batch record at or below t, or the one at which the batch
// records above from reach chunk bytes (0: no batch record in (from, t], nothing to
// prune); the link of the batch record at the cut, the chunk's bytes, and whether
// batch records at or below t remain after it. A cut is always at a batch record, so
// that the prune record carries the link of the last batch pruned.
func chunkEnd(r pebble.Reader, from, t uint64, chunk int) (c uint64, link spec.Digest, n int, more bool, err error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: key(prefixBatch, from+1), UpperBound: key(prefixBatch, t+1)})
	if err != nil {
		return 0, link, 0, false, fmt.Errorf("ledger: %w", err)
	}
	defer it.Close()
	var last []byte
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, link, 0, false, fmt.Errorf("ledger: %w", err)
		}
		n += len(v)
		_, c, _ = parseKey(it.Key())
		last = append(last[:0], v...) // the iterator may reuse v
		if n >= chunk {
			more = it.Next()
			break
		}
	}
	if err := it.Error(); err != nil {
		return 0, link, 0, false, fmt.Errorf("ledger: %w", err)
	}
	if c == 0 {
		return 0, link, 0, false, nil
	}
	var rec BatchRecord
	if err := openValue(key(prefixBatch, c), last, &rec); err != nil {
		return 0, link, 0, false, fmt.Errorf("ledger: the batch record at the cut: %w", err)
	}
	return c, rec.Link, n, more, nil
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
// below it, and records the prune (it.digest: link(it.seq)), unless the chain moved
// under it since the pruner read it: another configuration in force (an epoch
// change rewrites the records above its StartSeq), or a batch record at it.seq that
// is not the one whose link the pruner read. Writer goroutine.
func (l *Ledger) applyPrune(b *pebble.Batch, it *item) bool {
	reject := func(format string, a ...any) bool {
		it.done <- fmt.Errorf("ledger: prune at %d: "+format, append([]any{it.seq}, a...)...)
		it.done = nil
		return false
	}
	switch {
	case it.seq == 0 || it.seq >= l.w.lastSeq:
		return reject("not below the chain's end %d", l.w.lastSeq)
	case it.cfg != l.w.cfg:
		return reject("the configuration in force changed")
	}
	var rec BatchRecord
	if err := l.get(key(prefixBatch, it.seq), &rec); err != nil || rec.Link != it.digest {
		return reject("the batch record there changed (%v)", err)
	}
	b.DeleteRange(key(prefixBatch, 0), key(prefixBatch, it.seq+1), nil)
	b.DeleteRange(key(prefixCheckpoint, 0), key(prefixCheckpoint, it.seq), nil)
	setPrune(b, PruneRecord{Seq: it.seq, Link: it.digest})
	l.pendingPrune = it.seq
	l.pendingDone = append(l.pendingDone, it.done)
	return true
}

// setPrune writes both copies of the prune record.
func setPrune(w pebble.Writer, pr PruneRecord) error {
	for n := range uint64(2) {
		k := key(prefixPrune, n)
		if err := w.Set(k, sealValue(k, &pr), nil); err != nil {
			return err
		}
	}
	return nil
}

// archive writes the records at or below c of snap (the live ledger, pruned to
// from; bytes of batch records above from) into a new segment of ArchiveDir, synced,
// checks that it reads back as a sound ledger, and then removes the segments it
// covers: those of prunes whose deletion did not happen, whose records the live
// ledger still holds.
func (l *Ledger) archive(snap *pebble.Snapshot, c, from uint64, bytes int) error {
	dir := l.opt.ArchiveDir
	if err := mkdirSynced(dir); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	if err := removeBuilding(dir); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	if free, err := freeBytes(dir); err == nil && free < uint64(bytes)+freeMargin {
		return fmt.Errorf("ledger: archive: %s has %d MiB free, a segment of %d MiB needs %d MiB more", dir, free>>20, bytes>>20, (uint64(bytes)+freeMargin-free)>>20+1)
	}
	tmp := filepath.Join(dir, fmt.Sprintf("%s%020d", buildingPrefix, c))
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
	segs, err := Segments(dir)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s%020d-%020d", segmentPrefix, first, last)
	var stale []Segment
	for _, s := range segs {
		switch {
		case s.Last <= from:
			// committed by an earlier prune: this one starts above it
		case s.First > from:
			ok, err := covered(snap, filepath.Join(dir, s.Name), s)
			if err != nil {
				os.RemoveAll(tmp)
				return fmt.Errorf("ledger: archive: segment %s cannot be read (is a verify or receipt holding it open?): %w", s.Name, err)
			}
			if !ok && l.ownOrphan(snap, dir, s) {
				continue // set aside: the ledger lost those records after the segment was built
			}
			if !ok {
				os.RemoveAll(tmp)
				return fmt.Errorf("ledger: archive: %s holds segment %s, whose records this ledger does not hold (another ledger's archive in the same directory?)", dir, s.Name)
			}
			stale = append(stale, s) // an attempt whose deletion did not happen
		default:
			os.RemoveAll(tmp)
			return fmt.Errorf("ledger: archive: %s holds segment %s, which is neither below this ledger's prune point %d nor records this ledger still holds (another ledger's archive in the same directory?)", dir, s.Name, from)
		}
	}
	for _, s := range stale { // renamed first, so that a crash never leaves half a segment under a segment's name
		gone := filepath.Join(dir, buildingPrefix+"stale-"+s.Name)
		if err := os.Rename(filepath.Join(dir, s.Name), gone); err != nil {
			return fmt.Errorf("ledger: archive: %w", err)
		}
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("ledger: archive: %w", err)
		}
		if err := os.RemoveAll(gone); err != nil {
			return fmt.Errorf("ledger: archive: %w", err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	l.segments.Add(1)
	l.opt.Log.Info("ledger: archived a segment", "segment", name, "batches", fmt.Sprintf("%d..%d", first, last))
	return nil
}

// orphanPrefix starts the name of a segment set aside: built by this ledger from
// records it later lost (a repair on Open truncated them), so neither part of the
// chain nor removable: it may be the only copy of those batches here.
const orphanPrefix = "orphan-"

// ownOrphan reports whether the segment s in dir, which holds records the ledger
// (snap) no longer holds, was built by this ledger after its current prune point:
// the same first configuration and prune record, and its first batch record still
// in the ledger. Such a segment is renamed to orphanPrefix + its name and logged.
func (l *Ledger) ownOrphan(snap pebble.Reader, dir string, s Segment) bool {
	if !isOwnOrphan(snap, filepath.Join(dir, s.Name), s) {
		return false
	}
	name := orphanPrefix + s.Name
	for i := 2; ; i++ { // an earlier orphan of the same range keeps its name
		if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s%s-%d", orphanPrefix, s.Name, i)
	}
	if err := os.Rename(filepath.Join(dir, s.Name), filepath.Join(dir, name)); err != nil || syncDir(dir) != nil {
		return false
	}
	l.opt.Log.Warn("ledger: archive segment set aside: this ledger lost its records after building it (a repair on Open); kept as "+name, "segment", s.Name)
	return true
}

// orphans lists the segments set aside in dir (orphanPrefix), by name.
func orphans(dir string) ([]Segment, error) {
	var out []Segment
	err := eachDir(dir, func(name string) {
		if strings.HasPrefix(name, orphanPrefix+segmentPrefix) {
			out = append(out, Segment{Name: name})
		}
	})
	return out, err
}

// eachDir calls fn with the name of each directory in dir, in name order; a missing
// dir has none.
func eachDir(dir string, fn func(name string)) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ledger: archive: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() {
			fn(e.Name())
		}
	}
	return nil
}

// isOwnOrphan reports whether the segment at seg has the same configuration record
// and prune record as the ledger r, and its first batch record is r's, byte for byte.
func isOwnOrphan(r pebble.Reader, seg string, s Segment) bool {
	pr, cfg, err := segmentPrune(seg)
	if err != nil {
		return false
	}
	livePR, err1 := readPrune(r)
	liveCfg, err2 := lastConfig(r)
	if err1 != nil || err2 != nil || pr != livePR || string(cfg) != string(liveCfg) {
		return false
	}
	ok, err := covered(r, seg, Segment{First: s.First, Last: s.First})
	return ok && err == nil && lastBatch(r) >= s.Last
}

// lastBatch returns the highest batch record of r (0: none).
func lastBatch(r pebble.Reader) uint64 { return edgeBatch(r, true) }

// edgeBatch returns the lowest batch record of r, or with last the highest (0: none).
func edgeBatch(r pebble.Reader, last bool) uint64 {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixBatch}, UpperBound: []byte{prefixBatch + 1}})
	if err != nil {
		return 0
	}
	defer it.Close()
	seek := it.First
	if last {
		seek = it.Last
	}
	if !seek() {
		return 0
	}
	_, n, _ := parseKey(it.Key())
	return n
}

// covered reports whether the ledger r holds the first and last batch records of the
// segment s in dir, byte for byte (the last one's link commits to the chain before
// it); an error when the segment cannot be read.
func covered(r pebble.Reader, dir string, s Segment) (bool, error) {
	db, err := openReadOnly(dir)
	if err != nil {
		return false, err
	}
	defer db.Close()
	for _, n := range []uint64{s.First, s.Last} {
		a, ca, err := db.Get(key(prefixBatch, n))
		if err != nil {
			return false, err
		}
		b, cb, err := r.Get(key(prefixBatch, n))
		if err != nil {
			ca.Close()
			return false, nil
		}
		same := string(a) == string(b)
		ca.Close()
		cb.Close()
		if !same {
			return false, nil
		}
	}
	return true, nil
}

// removeBuilding removes the segments left half built in dir.
func removeBuilding(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), buildingPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// mkdirSynced creates dir and its missing parents, syncing each parent it adds an
// entry to.
func mkdirSynced(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirSynced(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// freeBytes returns the space available to this process on dir's volume.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
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
	var out []Segment
	err := eachDir(dir, func(name string) {
		var s Segment
		if _, err := fmt.Sscanf(name, segmentPrefix+"%020d-%020d", &s.First, &s.Last); err != nil || s.First == 0 || s.Last < s.First ||
			name != fmt.Sprintf("%s%020d-%020d", segmentPrefix, s.First, s.Last) {
			return
		}
		s.Name = name
		out = append(out, s)
	})
	return out, err // ReadDir sorts by name: zero-padded, so by First
}

// DiskSpace returns the bytes free (to this process) and in all on the ledger's
// volume. Any goroutine.
func (l *Ledger) DiskSpace() (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(l.dir, &st); err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}

// FirstBatch returns the lowest batch record the ledger holds (0: none). Any goroutine.
func (l *Ledger) FirstBatch() uint64 { return edgeBatch(l.db, false) }

// repairPrune rewrites a prune record that does not open, or whose two copies
// differ (st: the faulting scan, which read the epoch records). A copy that opens,
// with a link and below the first batch record, is the record a prune wrote: it is
// installed, and the next scan judges the batches. Otherwise the archive's last
// segment before the first batch record gives a candidate (its last batch's Seq and
// Link), installed only if the first batch record continues from it: by its link
// when it is the next seq, else from the start of its epoch or from the checkpoint
// record before it, whose anchor its link must follow. It returns how it repaired,
// or "" when it could not (Open then truncates).
func (l *Ledger) repairPrune(st *scanState) string {
	first := l.FirstBatch()
	install := func(pr PruneRecord, how string) string {
		b := l.db.NewBatch()
		defer b.Close()
		b.DeleteRange(key(prefixPrune, 0), []byte{prefixPrune + 1}, nil)
		if setPrune(b, pr) != nil || b.Commit(pebble.Sync) != nil {
			return ""
		}
		return how
	}
	var rec BatchRecord
	haveFirst := first != 0 && l.get(key(prefixBatch, first), &rec) == nil
	d := spec.Hash(spec.DomainBatch, rec.Batch)
	fits := func(pr PruneRecord) bool { // the order of scan.go's prevLink
		if pr.Seq >= first {
			return false
		}
		if i := st.epochOf(first); i >= 0 && first == st.eps[i].StartSeq+1 {
			return Link(StartLink(st.eps[i]), first, d) == rec.Link
		}
		if pr.Seq+1 == first {
			return Link(pr.Link, first, d) == rec.Link
		}
		c, err := l.Checkpoint(first - 1)
		return err == nil && Link(AnchorLink(first-1, c.State), first, d) == rec.Link
	}
	var pick *PruneRecord
	var from uint64
	for n := range uint64(2) {
		var pr PruneRecord
		if l.get(key(prefixPrune, n), &pr) != nil || pr.Link == (spec.Digest{}) || (first != 0 && pr.Seq >= first) {
			continue
		}
		if haveFirst && !fits(pr) {
			continue
		}
		if pick == nil || pr.Seq > pick.Seq { // prunes only move forward: an older copy is stale
			p := pr
			pick, from = &p, n
		}
	}
	if pick != nil {
		return install(*pick, fmt.Sprintf("from its copy %d", from))
	}
	if !haveFirst || l.opt.ArchiveDir == "" {
		return ""
	}
	segs, err := Segments(l.opt.ArchiveDir)
	if err != nil {
		return ""
	}
	var best *Segment
	for i := range segs {
		if segs[i].Last < first && (best == nil || segs[i].Last > best.Last) {
			best = &segs[i]
		}
	}
	if best == nil {
		return ""
	}
	last, err := segmentBatch(filepath.Join(l.opt.ArchiveDir, best.Name), best.Last)
	if pr := (PruneRecord{Seq: best.Last, Link: last.Link}); err == nil && fits(pr) {
		return install(pr, "from archive segment "+best.Name)
	}
	return ""
}

// segmentBatch reads the batch record of seq from the ledger directory dir.
func segmentBatch(dir string, seq uint64) (*BatchRecord, error) {
	db, err := openReadOnly(dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var rec BatchRecord
	k := key(prefixBatch, seq)
	v, closer, err := db.Get(k)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return &rec, openValue(k, v, &rec)
}

// segmentPrune reads the prune record (copy 0) and the configuration record of the
// ledger directory dir (zero and nil when absent).
func segmentPrune(dir string) (PruneRecord, []byte, error) {
	db, err := openReadOnly(dir)
	if err != nil {
		return PruneRecord{}, nil, err
	}
	defer db.Close()
	pr, err := readPrune(db)
	if err != nil {
		return pr, nil, err
	}
	cfg, err := lastConfig(db)
	return pr, cfg, err
}

// ArchiveSummary describes an archive and the live ledger after it that
// VerifyArchive found sound.
type ArchiveSummary struct {
	Segments []Summary // the committed segments, one per segment, in order
	// Pending are segments whose deletion from the live ledger did not happen (the
	// replica stopped in between): the live ledger still holds their records.
	Pending []Segment
	// Orphans are segments built by the live ledger after its prune point whose
	// records it later lost (a repair on Open truncated them), and those a prune set
	// aside as such (orphan-segment-…, named only): not part of the chain.
	Orphans []Segment
	Live    Summary
}

// VerifyArchive checks, offline, the archive segments in dir and the live ledger
// they were pruned from (SPEC.md §13.5, "Retention"): each verifies as a ledger
// under cfg (Verify) with the same first configuration; the first segment starts
// the ledger (no prune record) and each later part continues the one before it (its
// prune record is at that part's last batch with its link). A segment above the live
// ledger's prune point must hold records the live ledger still holds (Pending), or
// have been built by it from records it later lost (Orphans).
// So no batch is missing between the parts or held twice. cfg is the configuration
// the live ledger starts with (nil: the one it records).
func VerifyArchive(dir, live string, cfg *spec.Config) (ArchiveSummary, error) {
	var out ArchiveSummary
	var err error
	if out.Live, err = Verify(live, cfg); err != nil {
		return out, fmt.Errorf("ledger: the live ledger: %w", err)
	}
	segs, err := Segments(dir)
	if err != nil {
		return out, err
	}
	var committed []Segment
	for _, sg := range segs {
		if sg.First > out.Live.PrunedTo {
			out.Pending = append(out.Pending, sg)
		} else {
			committed = append(committed, sg)
		}
	}
	if len(out.Pending) > 0 {
		db, err := openReadOnly(live)
		if err != nil {
			return out, err
		}
		defer db.Close()
		var pending []Segment
		for _, sg := range out.Pending {
			ok, err := covered(db, filepath.Join(dir, sg.Name), sg)
			switch {
			case err != nil:
				return out, fmt.Errorf("ledger: segment %s: %w", sg.Name, err)
			case ok:
				pending = append(pending, sg)
			case isOwnOrphan(db, filepath.Join(dir, sg.Name), sg):
				out.Orphans = append(out.Orphans, sg)
			default:
				return out, fmt.Errorf("ledger: segment %s is above the live ledger's prune point %d but does not hold its records", sg.Name, out.Live.PrunedTo)
			}
		}
		out.Pending = pending
	}
	set, err := orphans(dir)
	if err != nil {
		return out, err
	}
	out.Orphans = append(out.Orphans, set...)
	var prev *Summary
	follow := func(name string, s *Summary) error {
		switch {
		case s.ConfigDigest != out.Live.ConfigDigest:
			return fmt.Errorf("ledger: %s starts with configuration %x, the live ledger with %x", name, s.ConfigDigest[:8], out.Live.ConfigDigest[:8])
		case prev == nil && s.PrunedTo != 0:
			return fmt.Errorf("ledger: %s was pruned to seq %d, and no segment holds the batches up to it", name, s.PrunedTo)
		case s.First != 0 && s.First <= s.PrunedTo:
			return fmt.Errorf("ledger: %s holds batch %d at or below its own prune point %d", name, s.First, s.PrunedTo)
		case prev == nil:
			return nil
		case s.PrunedTo != prev.Last || s.PrunedLink != prev.LastLink:
			return fmt.Errorf("ledger: %s does not continue the segment before it (its prune record: seq %d, link %x; that segment ends at seq %d, link %x)",
				name, s.PrunedTo, s.PrunedLink[:8], prev.Last, prev.LastLink[:8])
		}
		return nil
	}
	for _, sg := range committed {
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
	return out, follow("the live ledger", &out.Live)
}
