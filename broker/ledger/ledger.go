package ledger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// Options configure a Ledger. Zero values take the defaults noted.
type Options struct {
	// Wake is called by the writer goroutine after each fsync that advanced Durable,
	// so that the host's event loop releases the replies it holds. It must not block.
	Wake func()
	Log  *slog.Logger // repairs and write failures; default: discard
	// MinSnapshotLog is how many bytes of batch records are written after a snapshot
	// before the next is due, unless the snapshot was larger (SnapshotDue); default
	// DefaultMinSnapshotLog.
	MinSnapshotLog uint64
	// Retain turns retention on (SPEC.md §13.5, "Retention"; retain.go): once a
	// snapshot record is on disk, the batch records below it are deleted, except those
	// within Retain sequence numbers of the chain's end (the last batch recorded, or a
	// checkpoint the chain continues from). 0 keeps every record.
	Retain uint64
	// ArchiveDir, with Retain, receives the records before they are deleted, as
	// archive segments (Segments): each a ledger directory that Verify and
	// FindReceipt read. Empty: pruned records are deleted without a copy.
	ArchiveDir string

	beforeSync  func()                      // tests: runs before each fsync, on the writer goroutine
	beforePrune func(cut uint64) bool       // tests: runs before a prune's deletion is queued; false stops it
	pruned      func(cut uint64, err error) // tests: called when a prune started by a snapshot ends
	pruneRetry  time.Duration               // tests: the first backoff after a failed prune (default pruneBackoffMin)
	chunkBytes  int                         // tests: batch record bytes per prune step (default maxChunkBytes)
}

// ErrOtherConfig is returned by Open for a ledger that records another configuration.
var ErrOtherConfig = errors.New("ledger: the directory holds the ledger of another configuration")

// Ledger is a replica's durable ledger. Observe, Executed and Durable are called from
// the broker's event loop (one goroutine); a background writer appends. Close stops
// the writer after it has written everything submitted.
type Ledger struct {
	dir string
	db  *pebble.DB
	opt Options
	col collector // the event loop's side

	mu          sync.Mutex
	cond        *sync.Cond
	queue       []item // submitted, not yet written
	epochQueued bool   // queue holds an epoch item; the first one starts at epochSeq
	epochSeq    uint64
	closed      bool
	done        chan struct{}

	w       writerState // the writer goroutine's (before it starts: Open's)
	durable atomic.Uint64
	syncs   atomic.Uint64
	syncNs  atomic.Int64
	batches atomic.Uint64
	failed  atomic.Pointer[error]
	snapSeq atomic.Uint64 // newest snapshot record on disk (archive.go)
	snap    snapPolicy    // when the next snapshot is due (archive.go)

	pendingSnap     uint64      // the writer's: snapshot seq in the batch being written
	pendingSnapCD   spec.Digest // … the configuration that sealed it
	pendingSnapSize uint64      // … its size
	pendingLog      uint64      // the writer's: bytes of batch records in the batch being written (after its snapshot, if any)
	pendingPrune    uint64      // the writer's: the cut of a prune in the batch being written
	pendingDone     []chan error

	pruning      atomic.Bool // a prune runs (retain.go)
	pruneWG      sync.WaitGroup
	prunedTo     atomic.Uint64 // the prune record's Seq: the highest cut
	segments     atomic.Uint64 // archive segments written since Open
	stopping     atomic.Bool   // Close was called: a prune building a segment gives up
	pruneRetryAt atomic.Int64  // unix ns before which no prune starts (after a failure)
	pruneFails   int           // consecutive failed prunes (the pruner's, one at a time)
	ctx          context.Context
	cancel       context.CancelFunc // Close cancels ctx: a compaction in progress gives up

	// Repaired is the fault Open found and truncated, or nil.
	Repaired *Fault
}

// Stats are a ledger's counters.
type Stats struct {
	Syncs   uint64 // fsyncs (pebble Sync commits) by the writer
	SyncNs  int64  // time spent in them, in nanoseconds
	Batches uint64 // batch records written since Open
	Durable uint64 // highest durable sequence number
	// PrunedTo is the highest sequence number whose batch record retention deleted
	// (0: none); Segments the archive segments written since Open.
	PrunedTo, Segments uint64
}

// Open opens (creating it if needed) the ledger in dir for a replica running cfg. A
// new ledger records cfg as its first configuration and starts at cfg's anchor
// (StartSeq, StartState): Durable is cfg.StartSeq and the first batch it records is
// StartSeq+1 (a replica that joins in a later epoch executes nothing below it). An
// existing ledger must be one whose configuration in force at its end (its first,
// or that of its last epoch record) is cfg; otherwise Open returns ErrOtherConfig.
// Open checks every record's checksum, decoding and chain link and every epoch
// record's certificate (not the signatures of batches and checkpoints: see Verify);
// at the first bad record it logs the fault, keeps it in Repaired, deletes that
// record (a batch record: and every later one; an epoch record: and every later
// record of or after its epoch) and continues with what is left, so that the replica
// fetches the rest from its peers.
func Open(dir string, cfg *spec.Config, opt Options) (*Ledger, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{opt.Log}})
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", dir, err)
	}
	l := &Ledger{db: db, opt: opt, dir: dir, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.snap.min = cmp.Or(opt.MinSnapshotLog, DefaultMinSnapshotLog)
	l.cond = sync.NewCond(&l.mu)
	if err := l.recover(cfg); err != nil {
		db.Close()
		return nil, err
	}
	l.durable.Store(l.w.lastSeq)
	if rec, err := latestSnapshot(db); err == nil {
		l.snapSeq.Store(rec.Seq)
		l.snap.stored(rec.Config, recordSize(rec))
		l.snap.logged(logAbove(db, rec.Seq))
	}
	l.col.init(cfg, l.w.lastSeq+1)
	go l.writer()
	return l, nil
}

// recover checks the configuration record and repairs the store (see Open).
func (l *Ledger) recover(cfg *spec.Config) error {
	first, err := l.checkConfig(cfg)
	if err != nil {
		return err
	}
	triedPrune := false
	for range maxRepairs {
		st, fault := scan(l.db, first, false)
		if fault == nil {
			return l.resume(&st, cfg)
		}
		if l.Repaired == nil {
			l.Repaired = fault
		}
		if fault.Kind == KindPrune && !triedPrune {
			triedPrune = true
			if how := l.repairPrune(&st); how != "" {
				l.opt.Log.Error("ledger: corrupt prune record rewritten "+how, "fault", fault.Error())
				continue
			}
		}
		l.opt.Log.Error("ledger: corrupt record; truncating (state transfer recovers what is lost)", "fault", fault.Error())
		if err := l.truncate(fault); err != nil {
			return err
		}
	}
	return errors.New("ledger: repair did not converge")
}

// maxRepairs bounds the truncations of one Open (each removes at least one record).
const maxRepairs = 1 << 16

// resume sets the writer's state from a sound scan: the chain's end, or the anchor of
// the configuration in force when no batch of its epoch is recorded. That
// configuration must be cfg.
func (l *Ledger) resume(st *scanState, cfg *spec.Config) error {
	last := st.eps[len(st.eps)-1]
	if spec.ConfigDigest(last) != spec.ConfigDigest(cfg) {
		return fmt.Errorf("%w (in force at its end: epoch %d; this replica runs epoch %d)", ErrOtherConfig, last.Epoch, cfg.Epoch)
	}
	l.w = writerState{cfg: last, lastSeq: st.lastSeq, lastLink: st.lastLink, states: st.states}
	l.prunedTo.Store(st.pruned.Seq)
	if st.lastSeq <= last.StartSeq {
		l.w.lastSeq, l.w.lastLink = last.StartSeq, StartLink(last)
	}
	if st.pruned.Seq > l.w.lastSeq { // retention pruned every batch record: the chain ends at the cut
		l.w.lastSeq, l.w.lastLink = st.pruned.Seq, st.pruned.Link
	}
	pruneStates(&l.w)
	return nil
}

// checkConfig returns the ledger's first configuration, recording cfg as such in a new
// ledger. A ledger whose first configuration is not cfg is refused unless one of its
// epoch records starts cfg (checked in full by recover).
func (l *Ledger) checkConfig(cfg *spec.Config) (*spec.Config, error) {
	raw, err := lastConfig(l.db)
	switch {
	case err != nil:
		l.opt.Log.Error("ledger: corrupt configuration record; rewriting it", "err", err)
	case raw != nil && spec.Hash(spec.DomainConfig, raw) == spec.ConfigDigest(cfg):
		return cfg, nil
	case raw != nil:
		var first spec.Config
		if spec.Decode(raw, &first, spec.MaxMessageBytes) != nil || !l.startsEpoch(cfg) {
			return nil, ErrOtherConfig
		}
		return &first, nil
	}
	b := l.db.NewBatch()
	b.DeleteRange([]byte{prefixConfig}, []byte{prefixConfig + 1}, nil)
	k := key(prefixConfig, 0)
	b.Set(k, sealValue(k, &ConfigRecord{Config: spec.Encode(cfg)}), nil)
	return cfg, b.Commit(pebble.Sync)
}

// startsEpoch reports whether the ledger holds an epoch record whose configuration is
// cfg (checksum and decoding only).
func (l *Ledger) startsEpoch(cfg *spec.Config) bool {
	var rec EpochRecord
	var st spec.Step
	k := key(prefixEpoch, cfg.Epoch)
	v, closer, err := l.db.Get(k)
	if err != nil {
		return false
	}
	defer closer.Close()
	return openValue(k, v, &rec) == nil && spec.Decode(rec.Change, &st, spec.MaxMessageBytes) == nil &&
		spec.Hash(spec.DomainConfig, st.ConfigBytes()) == spec.ConfigDigest(cfg)
}

// truncate deletes what a fault condemns: a checkpoint record alone, a batch record
// and every later one, an epoch record with every later one and every batch and
// checkpoint record above the StartSeq of the configuration in force before it.
func (l *Ledger) truncate(f *Fault) error {
	b := l.db.NewBatch()
	switch f.Kind {
	case KindCheckpoint:
		b.Delete(f.key, nil)
	case KindPrune:
		b.DeleteRange(key(prefixPrune, 0), []byte{prefixPrune + 1}, nil)
	case KindEpoch:
		b.DeleteRange(key(prefixEpoch, f.Seq), []byte{prefixEpoch + 1}, nil)
		b.DeleteRange(key(prefixBatch, f.cut+1), []byte{prefixBatch + 1}, nil)
		b.DeleteRange(key(prefixCheckpoint, f.cut+1), []byte{prefixCheckpoint + 1}, nil)
	default:
		b.DeleteRange(key(prefixBatch, f.Seq), []byte{prefixBatch + 1}, nil)
	}
	return b.Commit(pebble.Sync)
}

// Durable returns the highest sequence number s such that the ledger holds, on disk,
// a record for every batch up to s (or a checkpoint certificate covering those it
// lacks). It is safe to call from any goroutine.
func (l *Ledger) Durable() uint64 { return l.durable.Load() }

// Stats returns the counters; safe from any goroutine.
func (l *Ledger) Stats() Stats {
	return Stats{Syncs: l.syncs.Load(), SyncNs: l.syncNs.Load(), Batches: l.batches.Load(), Durable: l.durable.Load(),
		PrunedTo: l.prunedTo.Load(), Segments: l.segments.Load()}
}

// Err returns the write error that stopped the writer, or nil. After one, Durable no
// longer advances: the replica holds its replies rather than answer unrecorded.
func (l *Ledger) Err() error {
	if p := l.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// Close writes what was submitted, stops the writer, waits for a prune (one building
// an archive segment gives up and leaves the records in place) and closes the store.
func (l *Ledger) Close() error {
	l.stopping.Store(true)
	l.cancel()
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
	l.pruneWG.Wait()
	return l.db.Close()
}

// quietLogger routes pebble's log lines to slog.
type quietLogger struct{ log *slog.Logger }

func (q quietLogger) Infof(string, ...any) {}
func (q quietLogger) Errorf(format string, args ...any) {
	q.log.Error("ledger: pebble: " + fmt.Sprintf(format, args...))
}
func (q quietLogger) Fatalf(format string, args ...any) {
	panic("ledger: pebble: " + fmt.Sprintf(format, args...))
}
