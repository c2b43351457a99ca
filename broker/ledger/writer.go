package ledger

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// itemKind says what a submitted item asks the writer to do.
type itemKind int

const (
	itemBatch    itemKind = iota // record batch seq with the commit certificate cands
	itemCert                     // record the checkpoint certificate cert
	itemAnchor                   // continue the chain from the checkpoint recorded at seq
	itemEpoch                    // record the epoch change cert starting cfg at seq = cfg.StartSeq
	itemSnapshot                 // record the snapshot (seq, state) of chunks cands (archive.go)
	itemKey                      // record the sealed group key cert (archive.go)
	itemPrune                    // delete the records at or below seq (retain.go)
)

// item is one unit of work for the writer, built on the event loop.
type item struct {
	kind   itemKind
	seq    uint64
	state  spec.Digest  // checkpoint items: the certified state
	digest spec.Digest  // batch: BatchDigest(batch); snapshot: the digest of the configuration that sealed it
	batch  []byte       // batch: enc(spec.Batch)
	cands  [][]byte     // batch: its commit certificate, q raw COMMITs verified by the collector; snapshot: its chunks
	cert   []byte       // itemCert: enc(spec.CheckpointCert); itemEpoch: enc(spec.Step)
	cfg    *spec.Config // itemEpoch: the configuration it starts
	done   chan error   // itemPrune: receives the outcome of its write
}

func (it *item) size() int {
	n := len(it.batch) + len(it.cert) + 64
	for _, c := range it.cands {
		n += len(c)
	}
	return n
}

// writerState is the chain's end as the writer knows it.
type writerState struct {
	cfg      *spec.Config           // the configuration in force at lastSeq+1
	lastSeq  uint64                 // highest batch recorded, or checkpoint anchored
	lastLink spec.Digest            // the link a batch at lastSeq+1 continues
	states   map[uint64]spec.Digest // checkpoint certificates recorded (seq → state)
	queued   int                    // bytes submitted and not yet taken
}

// maxQueueBytes bounds what waits for the writer. A disk that cannot keep up fails
// the ledger (Err) rather than let the queue grow: the replica then holds its
// replies, which is what a replica without durable storage must do.
const maxQueueBytes = 256 << 20

// ErrBehind is the writer failure of a ledger whose queue outgrew maxQueueBytes.
var ErrBehind = errors.New("ledger: the disk cannot keep up (write queue full)")

// submit queues an item for the writer. Event loop only. An epoch item at once caps
// Durable at its StartSeq until the writer has written it: records above StartSeq
// that the writer holds are of the old epoch, and no reply of the new one may wait on
// them.
func (l *Ledger) submit(it item) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if it.kind == itemEpoch {
		if !l.epochQueued {
			l.epochQueued, l.epochSeq = true, it.seq
		}
		l.durable.Store(min(l.durable.Load(), it.seq))
	}
	if l.closed || l.failed.Load() != nil {
		return
	}
	if l.w.queued += it.size(); l.w.queued > maxQueueBytes {
		l.fail(ErrBehind)
		return
	}
	l.queue = append(l.queue, it)
	l.cond.Signal()
}

// fail records the error that stops the ledger.
func (l *Ledger) fail(err error) {
	if l.failed.CompareAndSwap(nil, &err) {
		l.opt.Log.Error("ledger: stopped; replies are held from now on", "err", err)
	}
}

// writer appends what was submitted, one fsync for everything queued meanwhile
// (group commit), until Close.
func (l *Ledger) writer() {
	defer close(l.done)
	for {
		items, ok := l.take()
		if !ok {
			return
		}
		if err := l.Err(); err != nil {
			answerPrunes(items, err)
			continue
		}
		if err := l.write(items); err != nil {
			l.fail(err)
		}
	}
}

// take waits for submitted items; false once closed and drained.
func (l *Ledger) take() ([]item, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) == 0 && !l.closed {
		l.cond.Wait()
	}
	items := l.queue
	l.queue, l.w.queued, l.epochQueued = nil, 0, false
	return items, len(items) > 0
}

// write applies items in one pebble batch committed with Sync, then publishes the new
// durable sequence number and wakes the host.
func (l *Ledger) write(items []item) error {
	b := l.db.NewBatch()
	defer b.Close()
	l.pendingSnap, l.pendingLog, l.pendingPrune, l.pendingDone = 0, 0, 0, nil
	n := 0
	for i := range items {
		if l.apply(b, &items[i]) && items[i].kind == itemBatch {
			n++
		}
	}
	before := l.durable.Load()
	if !b.Empty() {
		if l.opt.beforeSync != nil {
			l.opt.beforeSync()
		}
		t0 := time.Now()
		if err := b.Commit(pebble.Sync); err != nil {
			err = fmt.Errorf("ledger: write: %w", err)
			l.answerPrune(err)
			return err
		}
		l.syncNs.Add(int64(time.Since(t0)))
		if l.pendingPrune > 0 {
			l.prunedTo.Store(l.pendingPrune)
		}
		l.answerPrune(nil)
		if l.pendingSnap > 0 {
			l.snapSeq.Store(l.pendingSnap)
			l.snap.stored(l.pendingSnapCD, l.pendingSnapSize)
		}
		l.snap.logged(l.pendingLog)
		l.syncs.Add(1)
		l.batches.Add(uint64(n))
		if l.pendingSnap > 0 {
			l.maybePrune(l.pendingSnap)
		}
	}
	if d := l.publish(); d > before && l.opt.Wake != nil {
		l.opt.Wake()
	}
	return nil
}

// publish stores the chain's end as Durable, capped at the StartSeq of an epoch item
// still queued (see submit), and returns it.
func (l *Ledger) publish() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.w.lastSeq
	if l.epochQueued {
		d = min(d, l.epochSeq)
	}
	l.durable.Store(d)
	return d
}

// apply adds one item's record to b (or moves the chain to an anchor); false if the
// item cannot be recorded (logged).
func (l *Ledger) apply(b *pebble.Batch, it *item) bool {
	w := &l.w
	switch it.kind {
	case itemBatch:
		return l.applyBatch(b, it)
	case itemCert:
		if _, ok := w.states[it.seq]; ok {
			return false
		}
		cert, err := l.checkpointCert(it)
		if err != nil {
			l.opt.Log.Warn("ledger: checkpoint certificate not recorded", "seq", it.seq, "err", err)
			return false
		}
		k := key(prefixCheckpoint, it.seq)
		b.Set(k, sealValue(k, &CheckpointRecord{Seq: it.seq, Cert: cert}), nil)
		w.states[it.seq] = it.state
		pruneStates(w)
		return true
	case itemAnchor:
		state, ok := w.states[it.seq]
		if !ok || it.seq <= w.lastSeq {
			l.opt.Log.Warn("ledger: cannot continue the chain from checkpoint", "seq", it.seq, "recorded", ok, "last", w.lastSeq)
			return false
		}
		w.lastSeq, w.lastLink = it.seq, AnchorLink(it.seq, state)
		return true
	case itemEpoch:
		l.applyEpoch(b, it)
		return true
	case itemSnapshot:
		return l.applySnapshot(b, it)
	case itemKey:
		return l.applyKey(b, it)
	case itemPrune:
		return l.applyPrune(b, it)
	}
	return false
}

// answerPrune sends err to the prunes of the batch being written. Writer goroutine.
func (l *Ledger) answerPrune(err error) {
	for _, d := range l.pendingDone {
		d <- err
	}
	l.pendingDone = nil
}

// answerPrunes sends err to the prune items of items, which are not written.
func answerPrunes(items []item, err error) {
	for i := range items {
		if items[i].done != nil {
			items[i].done <- err
		}
	}
}

// applyBatch records a batch with its certificate (verified by the collector).
func (l *Ledger) applyBatch(b *pebble.Batch, it *item) bool {
	w := &l.w
	if it.seq != w.lastSeq+1 || len(it.cands) != w.cfg.Quorum() {
		l.opt.Log.Warn("ledger: batch does not follow the chain", "seq", it.seq, "last", w.lastSeq)
		return false
	}
	link := Link(w.lastLink, it.seq, it.digest)
	k := key(prefixBatch, it.seq)
	v := sealValue(k, &BatchRecord{Seq: it.seq, Batch: it.batch, Cert: it.cands, Link: link})
	b.Set(k, v, nil)
	l.pendingLog += uint64(len(v))
	w.lastSeq, w.lastLink = it.seq, link
	return true
}

// checkpointCert returns the encoded certificate of a checkpoint item, checked
// (K1–K5). A certificate at or below the start of the configuration in force (its
// genesis certificate, K1) is never recorded: the configuration record or the epoch
// record covers that state, and Verify checks a record of seq s under the
// configuration in force at s, which is an earlier one (L2).
func (l *Ledger) checkpointCert(it *item) ([]byte, error) {
	var cert spec.CheckpointCert
	if err := spec.Decode(it.cert, &cert, spec.MaxMessageBytes); err != nil {
		return nil, err
	}
	if cert.Seq <= l.w.cfg.StartSeq {
		return nil, errors.New("a certificate at or below the epoch's start (its genesis)")
	}
	if err := newVerifier(l.w.cfg).checkpointCert(&cert); err != nil {
		return nil, err
	}
	return it.cert, nil
}

// pruneStates keeps the 64 highest recorded checkpoint seqs.
func pruneStates(w *writerState) {
	for len(w.states) > 64 {
		delete(w.states, lowestKey(w.states))
	}
}
