package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// TestAppendReopen: batches fed as a broker does become durable in order, survive a
// reopen, and the chain continues after it; Verify accepts the result.
func TestAppendReopen(t *testing.T) {
	f := newFx(t, 1)
	l := f.open(Options{})
	f.feed(l, 1, 10)
	f.waitDurable(l, 10)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = f.open(Options{})
	if l.Repaired != nil || l.Durable() != 10 {
		t.Fatalf("seed %d: reopened: repaired %v durable %d", f.seed, l.Repaired, l.Durable())
	}
	f.feed(l, 11, 13)
	f.waitDurable(l, 13)
	l.Close()
	s, err := Verify(f.dir, f.cfg)
	if err != nil {
		t.Fatalf("seed %d: verify: %v", f.seed, err)
	}
	if s.Batches != 13 || s.First != 1 || s.Last != 13 || s.Checkpoints != 3 || s.Requests != 13 || s.FromLedger {
		t.Fatalf("seed %d: summary %+v", f.seed, s)
	}
}

// TestOtherConfigRefused: a ledger is not reused for another configuration.
func TestOtherConfigRefused(t *testing.T) {
	f := newFx(t, 2)
	f.open(Options{}).Close()
	g := newFx(t, 3)
	if _, err := Open(f.dir, g.cfg, Options{}); !errors.Is(err, ErrOtherConfig) {
		t.Fatalf("open with another configuration: %v", err)
	}
	if _, err := Verify(f.dir, g.cfg); err == nil || !strings.Contains(err.Error(), "records configuration") {
		t.Fatalf("verify with another configuration: %v", err)
	}
}

// TestGroupCommit: while the writer is inside one fsync, everything submitted
// meanwhile is written by the next single fsync.
func TestGroupCommit(t *testing.T) {
	f := newFx(t, 4)
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	l := f.open(Options{beforeSync: func() {
		if first {
			first = false
			close(entered)
			<-release
		}
	}})
	defer l.Close()
	f.feed(l, 1, 1)
	<-entered // the writer holds batch 1 in its first sync
	f.feed(l, 2, 40)
	if d := l.Durable(); d != 0 {
		t.Fatalf("durable %d before the first fsync returned", d)
	}
	close(release)
	f.waitDurable(l, 40)
	st := l.Stats()
	if st.Batches != 40 || st.Syncs != 2 {
		t.Fatalf("stats %+v: want 40 batches in 2 fsyncs", st)
	}
}

// TestNullBatchAndAnchor: a null batch (view change) is recorded; a gap that exec
// crossed by state transfer is covered by the checkpoint certificate it adopted, and
// the chain continues from there.
func TestNullBatchAndAnchor(t *testing.T) {
	f := newFx(t, 5)
	l := f.open(Options{})
	f.feed(l, 1, 2)
	null := spec.NullBatchDigest()
	for rep := range f.cfg.N {
		raw, c := f.commit(rep, 1, 3, null)
		l.Observe(spec.KindCommit, raw, c)
	}
	l.Executed(3, f.lookup)
	f.stateTransfer(l, 8) // the broker never saw batches 4..8
	f.feed(l, 9, 10)
	f.waitDurable(l, 10)
	l.Close()
	s, err := Verify(f.dir, f.cfg)
	if err != nil {
		t.Fatalf("seed %d: verify: %v", f.seed, err)
	}
	if s.Batches != 5 || s.Anchors != 1 || s.Last != 10 {
		t.Fatalf("seed %d: summary %+v", f.seed, s)
	}
}

// TestRepairOnOpen: a corrupt or missing record is detected on open, named, and the
// ledger truncated to the last good record before it (a checkpoint record: that one).
func TestRepairOnOpen(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(t *testing.T, db *pebble.DB)
		kind    string
		seq     uint64
		msg     string
		durable uint64
	}{
		{"bit flipped", func(t *testing.T, db *pebble.DB) {
			v := get(t, db, key(prefixBatch, 7))
			v[len(v)/2] ^= 0x10
			set(t, db, key(prefixBatch, 7), v)
		}, KindBatch, 7, "checksum mismatch", 6},
		{"torn tail", func(t *testing.T, db *pebble.DB) {
			v := get(t, db, key(prefixBatch, 12))
			set(t, db, key(prefixBatch, 12), v[:len(v)-5])
		}, KindBatch, 12, "checksum mismatch", 11},
		{"record deleted", func(t *testing.T, db *pebble.DB) {
			db.Delete(key(prefixBatch, 5), pebble.Sync)
		}, KindBatch, 6, "gap", 4},
		{"checkpoint corrupt", func(t *testing.T, db *pebble.DB) {
			v := get(t, db, key(prefixCheckpoint, 8))
			set(t, db, key(prefixCheckpoint, 8), v[:3])
		}, KindCheckpoint, 8, "checksum mismatch", 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFx(t, 6)
			l := f.open(Options{})
			f.feed(l, 1, 12)
			f.waitDurable(l, 12)
			l.Close()
			f.edit(func(db *pebble.DB) { c.edit(t, db) })
			l = f.open(Options{})
			r := l.Repaired
			if r == nil || r.Kind != c.kind || r.Seq != c.seq || !strings.Contains(r.Error(), c.msg) {
				t.Fatalf("seed %d: repaired %v, want %s %d %q", f.seed, r, c.kind, c.seq, c.msg)
			}
			if l.Durable() != c.durable {
				t.Fatalf("seed %d: durable %d after repair, want %d", f.seed, l.Durable(), c.durable)
			}
			l.Close()
			if _, err := Verify(f.dir, f.cfg); err != nil {
				t.Fatalf("seed %d: the repaired ledger does not verify: %v", f.seed, err)
			}
		})
	}
}

// TestTornWAL: a crash mid-fsync leaves the tail of pebble's write-ahead log torn;
// the ledger opens with the records before it, and what is left still verifies.
func TestTornWAL(t *testing.T) {
	f := newFx(t, 9)
	l := f.open(Options{})
	for s := uint64(1); s <= 11; s++ { // one fsync per batch; the last fsync holds batch 11 alone
		f.feed(l, s, s)
		f.waitDurable(l, s)
	}
	l.Close()
	logs, _ := filepath.Glob(filepath.Join(f.dir, "*.log"))
	if len(logs) == 0 {
		t.Fatal("no WAL file")
	}
	slices.Sort(logs)
	wal := logs[len(logs)-1]
	info, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(wal, info.Size()-20); err != nil {
		t.Fatal(err)
	}
	l = f.open(Options{})
	d := l.Durable()
	l.Close()
	if d != 10 {
		t.Fatalf("seed %d: durable %d after tearing the WAL tail, want 10", f.seed, d)
	}
	if _, err := Verify(f.dir, f.cfg); err != nil {
		t.Fatalf("seed %d: %v", f.seed, err)
	}
}

// TestForgedCommitsDoNotCrowdOut: a faulty peer broker that sends many COMMITs with
// bad signatures in correct replicas' names, and commits of replicas outside the
// configuration, neither stops a batch from being recorded nor gets into its
// certificate.
func TestForgedCommitsDoNotCrowdOut(t *testing.T) {
	f := newFx(t, 10)
	l := f.open(Options{})
	d := spec.Hash(spec.DomainBatch, f.batch(1))
	for rep := range f.cfg.N {
		for i := range 2 * perReplica {
			_, c := f.commit(rep, 0, 1, d)
			c.Sig[i] ^= 1
			l.Observe(spec.KindCommit, spec.Encode(c), c)
		}
	}
	_, alien := f.commit(0, 0, 1, d)
	alien.Body.Replica = f.cfg.N + 3
	l.Observe(spec.KindCommit, spec.Encode(alien), alien)
	f.feed(l, 1, 2) // the real commits, after the forgeries
	f.waitDurable(l, 2)
	l.Close()
	if _, err := Verify(f.dir, f.cfg); err != nil {
		t.Fatalf("seed %d: %v", f.seed, err)
	}
}

// TestRecordsAtCommit: a batch whose proposal the broker routed is written as soon as
// its commit certificate is complete with COMMITs the local exec accepted, before
// exec reports executing it; COMMITs only observed (not yet accepted, and not
// verified by the ledger) record nothing.
func TestRecordsAtCommit(t *testing.T) {
	f := newFx(t, 11)
	l := f.open(Options{})
	var accepted [][]byte
	for s := uint64(1); s <= 3; s++ {
		raw := f.batch(s)
		var b spec.Batch
		if err := spec.Decode(raw, &b, spec.MaxMessageBytes); err != nil {
			t.Fatal(err)
		}
		d := spec.Hash(spec.DomainBatch, raw)
		p := &spec.Proposal{Header: spec.PrePrepare{Body: spec.Slot{Seq: s, Digest: d}}, Batch: b}
		l.Observe(spec.KindProposal, spec.Encode(p), p)
		for rep := range f.cfg.N {
			raw, c := f.commit(rep, 0, s, d)
			l.Observe(spec.KindCommit, raw, c)
			accepted = append(accepted, raw)
		}
	}
	if l.col.next != 1 {
		t.Fatalf("seed %d: batches up to %d handed to the writer on COMMITs nobody checked", f.seed, l.col.next-1)
	}
	for i, raw := range accepted {
		if i%int(f.cfg.N) != 1 { // q of each seq's n: the certificate skips replica 1
			l.Accepted(spec.KindCommit, raw, spec.ConfigDigest(f.cfg))
		}
	}
	f.waitDurable(l, 3) // no Executed call
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(f.dir, f.cfg); err != nil {
		t.Fatalf("seed %d: %v", f.seed, err)
	}
}

// TestAcceptedOnlyIfObserved: a COMMIT reported accepted that the ledger never
// observed, or that exec checked under another configuration, gives no verdict: only
// the bytes the ledger holds, accepted under its configuration, become known.
func TestAcceptedOnlyIfObserved(t *testing.T) {
	f := newFx(t, 13)
	l := f.open(Options{})
	defer l.Close()
	d := spec.Hash(spec.DomainBatch, f.batch(1))
	cd := spec.ConfigDigest(f.cfg)
	raw, c := f.commit(0, 0, 1, d)
	l.Accepted(spec.KindCommit, raw, cd)
	l.Accepted(spec.KindCommit, []byte{0xff}, cd)
	if len(l.col.verdict) != 0 {
		t.Fatalf("seed %d: %d verdicts for COMMITs never observed", f.seed, len(l.col.verdict))
	}
	l.Observe(spec.KindCommit, raw, c)
	l.Accepted(spec.KindCommit, raw, spec.Hash("another configuration", nil))
	if len(l.col.verdict) != 0 {
		t.Fatalf("seed %d: a verdict for a COMMIT exec checked under another configuration", f.seed)
	}
	l.Accepted(spec.KindCommit, raw, cd)
	if len(l.col.verdict) != 1 {
		t.Fatalf("seed %d: %d verdicts, want 1", f.seed, len(l.col.verdict))
	}
}

// TestLateCommitsRecorded: when exec executed a batch whose certificate the ledger
// did not hold (its COMMITs arrived later, after exec no longer accepts them), the
// late COMMITs are checked and the batch recorded as they arrive, without waiting for
// exec to execute more.
func TestLateCommitsRecorded(t *testing.T) {
	f := newFx(t, 14)
	l := f.open(Options{})
	defer l.Close()
	f.propose(l, 1)
	d := spec.Hash(spec.DomainBatch, f.batch(1))
	l.Executed(1, f.lookup) // no COMMIT yet: nothing to record
	for rep := range f.cfg.N {
		raw, c := f.commit(rep, 0, 1, d)
		l.Observe(spec.KindCommit, raw, c) // exec rejects these as stale: no Accepted
	}
	f.waitDurable(l, 1)
}

// TestForgedHigherViewCommits: COMMITs with bad signatures for a higher view, in the
// names of q replicas, do not make the ledger record (or wait for) a batch that was
// never committed.
func TestForgedHigherViewCommits(t *testing.T) {
	f := newFx(t, 12)
	l := f.open(Options{})
	forged := spec.Hash("forged", nil)
	for rep := range f.cfg.N {
		_, c := f.commit(rep, 99, 1, forged)
		c.Sig[0] ^= 1
		l.Observe(spec.KindCommit, spec.Encode(c), c)
	}
	f.feed(l, 1, 3)
	f.waitDurable(l, 3)
	l.Close()
	if _, err := Verify(f.dir, f.cfg); err != nil {
		t.Fatalf("seed %d: %v", f.seed, err)
	}
}
