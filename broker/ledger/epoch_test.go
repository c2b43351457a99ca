package ledger

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// Tests of the ledger across epochs (SPEC.md §13.5, §17.3, §17.4).

// commitAll observes every replica's COMMIT for (view 0, seq, d) under the fixture's
// configuration in force and, if accepted, reports each as accepted by the local
// exec (as the broker does after exec's Step).
func (f *fx) commitAll(l *Ledger, seq uint64, d spec.Digest, accepted bool) {
	for rep := range f.cfg.N {
		raw, c := f.commit(rep, 0, seq, d)
		l.Observe(spec.KindCommit, raw, c)
		if accepted {
			l.Accepted(spec.KindCommit, raw, spec.ConfigDigest(f.cfg))
		}
	}
}

// epochLedger writes, in f.dir, a ledger of epoch 0 up to seq 6 plus old-epoch
// batches 7 and 8 (committed, never executed), then the epoch change starting epoch 1
// at 6, old-epoch COMMITs for 7 and 9 after it, and epoch 1's batches 7..10. It
// returns epoch 0's and epoch 1's configurations and the stats at close.
func epochLedger(t *testing.T, f *fx) (*spec.Config, *spec.Config, Stats) {
	t.Helper()
	l := f.open(Options{})
	f.feed(l, 1, 6)
	for s := uint64(7); s <= 8; s++ {
		f.commitAll(l, s, f.propose(l, s), true)
	}
	f.waitDurable(l, 8) // recorded at commit time, above the epoch's end
	first := f.cfg
	next, ec, raw := f.nextEpoch(6)
	l.Epoch(raw, ec, next)
	if d := l.Durable(); d > 6 {
		t.Fatalf("seed %d: durable %d right after the epoch change at 6: old-epoch records count for the new epoch", f.seed, d)
	}
	for _, s := range []uint64{7, 9} { // the old epoch's COMMITs, arriving late (exec rejects them)
		f.commitAll(l, s, f.propose(l, s), false)
	}
	f.switchEpoch(next)
	f.feed(l, 7, 10)
	f.waitDurable(l, 10)
	st := l.Stats()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return first, next, st
}

// TestEpochSwitchesDigest: after Epoch the ledger drops the old epoch's batches above
// StartSeq, records no old-epoch COMMIT any more, records the new epoch's batches from
// StartSeq+1 under the new digest, and the result verifies from the first
// configuration across the epoch record.
func TestEpochSwitchesDigest(t *testing.T) {
	f := newFx(t, 21)
	first, next, st := epochLedger(t, f)
	if st.Batches != 8+4 || st.Durable != 10 {
		t.Fatalf("seed %d: stats %+v, want 12 batch records written (1..8, then 7..10 of epoch 1)", f.seed, st)
	}
	s, err := Verify(f.dir, first)
	if err != nil {
		t.Fatalf("seed %d: verify: %v", f.seed, err)
	}
	if s.Batches != 10 || s.First != 1 || s.Last != 10 || s.Epochs != 1 || s.LastEpoch != 1 || s.LastDigest != spec.ConfigDigest(next) {
		t.Fatalf("seed %d: summary %+v", f.seed, s)
	}
	l, err := Open(f.dir, next, Options{}) // a restart in epoch 1 goes on
	if err != nil || l.Durable() != 10 {
		t.Fatalf("seed %d: reopen in epoch 1: %v, durable %v", f.seed, err, l)
	}
	l.Close()
	if _, err := Open(f.dir, first, Options{}); !errors.Is(err, ErrOtherConfig) {
		t.Fatalf("seed %d: reopen under epoch 0 after epoch 1 was recorded: %v", f.seed, err)
	}
}

// TestEpochOutOfOrderIgnored: an epoch change that does not follow the configuration
// in force changes nothing: old-epoch batches are still recorded.
func TestEpochOutOfOrderIgnored(t *testing.T) {
	f := newFx(t, 22)
	l := f.open(Options{})
	defer l.Close()
	f.feed(l, 1, 2)
	next, ec, raw := f.nextEpoch(2)
	skip := *next
	skip.Epoch = 2
	l.Epoch(raw, ec, &skip)
	f.feed(l, 3, 4)
	f.waitDurable(l, 4)
}

// TestOpenAtStartSeq: a new ledger opened with a configuration whose StartSeq > 0 (a
// replica joining in a later epoch) starts at its anchor: Durable is StartSeq at once
// and the chain goes on from StartSeq+1.
func TestOpenAtStartSeq(t *testing.T) {
	f := newFx(t, 23)
	next, _, _ := f.nextEpoch(20)
	f.switchEpoch(next)
	l := f.open(Options{})
	if d := l.Durable(); d != 20 {
		t.Fatalf("seed %d: durable %d on opening at StartSeq 20", f.seed, d)
	}
	f.feed(l, 21, 24)
	f.waitDurable(l, 24)
	l.Close()
	s, err := Verify(f.dir, next)
	if err != nil || s.First != 21 || s.Last != 24 || s.Checkpoints != 1 {
		t.Fatalf("seed %d: verify: %+v, %v", f.seed, s, err)
	}
	if l = f.open(Options{}); l.Durable() != 24 {
		t.Fatalf("seed %d: reopened: durable %d", f.seed, l.Durable())
	}
	l.Close()
}

// TestVerifyAcrossEpochsNamesFault: on a copy of a ledger that crosses an epoch, a
// forged, misplaced or missing epoch record, or a configuration that is not the
// ledger's first, is named.
func TestVerifyAcrossEpochsNamesFault(t *testing.T) {
	f := newFx(t, 24)
	first, next, _ := epochLedger(t, f)
	reEpoch := func(t *testing.T, db *pebble.DB, mod func(ec *spec.EpochChange)) {
		k := key(prefixEpoch, 1)
		var rec EpochRecord
		var ec spec.EpochChange
		if openValue(k, get(t, db, k), &rec) != nil || spec.Decode(rec.Change, &ec, spec.MaxMessageBytes) != nil {
			t.Fatal("epoch record unreadable")
		}
		mod(&ec)
		rec.Change = spec.Encode(&ec)
		set(t, db, k, sealValue(k, &rec))
	}
	for _, c := range []struct {
		name string
		cfg  *spec.Config
		edit func(t *testing.T, db *pebble.DB)
		want string
	}{
		{"vote forged", first, func(t *testing.T, db *pebble.DB) {
			reEpoch(t, db, func(ec *spec.EpochChange) { ec.Votes[1].Sig[0] ^= 1 })
		}, "epoch record of epoch 1: spec: invalid epoch change: EC4: vote of replica 1: bad signature"},
		{"configuration swapped", first, func(t *testing.T, db *pebble.DB) {
			reEpoch(t, db, func(ec *spec.EpochChange) {
				var c spec.Config
				spec.Decode(ec.Config, &c, spec.MaxMessageBytes)
				c.StartSeq = 8 // keep the old epoch's batches 7 and 8
				ec.Config = spec.Encode(&c)
			})
		}, "epoch record of epoch 1: spec: invalid epoch change: EC4"},
		{"stored at another epoch", first, func(t *testing.T, db *pebble.DB) {
			set(t, db, key(prefixEpoch, 2), get(t, db, key(prefixEpoch, 1)))
			db.Delete(key(prefixEpoch, 1), pebble.Sync)
		}, "epoch record of epoch 2: checksum mismatch"},
		{"resealed at another epoch", first, func(t *testing.T, db *pebble.DB) {
			var rec EpochRecord
			openValue(key(prefixEpoch, 1), get(t, db, key(prefixEpoch, 1)), &rec)
			set(t, db, key(prefixEpoch, 2), sealValue(key(prefixEpoch, 2), &rec))
			db.Delete(key(prefixEpoch, 1), pebble.Sync)
		}, "epoch record of epoch 2: out of order: the configuration in force is of epoch 0"},
		{"removed", first, func(t *testing.T, db *pebble.DB) {
			db.Delete(key(prefixEpoch, 1), pebble.Sync)
		}, "checkpoint certificate at seq 8: checkpoint certificate: K5: signature of replica 0 invalid"}, // signed under epoch 1
		{"checked from the second configuration", next, func(*testing.T, *pebble.DB) {}, "records configuration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			copyDir(t, f.dir, dir)
			g := *f
			g.t, g.dir = t, dir
			g.edit(func(db *pebble.DB) { c.edit(t, db) })
			_, err := Verify(dir, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("seed %d: verify: %v, want %q", f.seed, err, c.want)
			}
		})
	}
}

// TestReceiptAcrossEpochs: a receipt of a batch of epoch 1 carries the chain and
// verifies from the ledger's first configuration; one of epoch 0 too; a forged vote in
// its chain, or a batch of epoch 1 checked as if of epoch 0, fails.
func TestReceiptAcrossEpochs(t *testing.T) {
	f := newFx(t, 25)
	first, _, _ := epochLedger(t, f)
	for _, ts := range []uint64{5, 9} {
		r, err := FindReceipt(f.dir, 100, ts)
		if err != nil {
			t.Fatalf("seed %d: timestamp %d: %v", f.seed, ts, err)
		}
		got, err := DecodeReceipt(spec.Encode(r))
		if err != nil {
			t.Fatal(err)
		}
		if q, err := got.Verify(first); err != nil || got.Seq != ts || q.Body.Timestamp != ts || len(got.Chain) != 1 {
			t.Fatalf("seed %d: receipt of timestamp %d: seq %d, chain %d, %v", f.seed, ts, got.Seq, len(got.Chain), err)
		}
	}
	r, _ := FindReceipt(f.dir, 100, 9)
	raw := spec.Encode(r)
	for _, c := range []struct {
		name string
		mod  func(r *Receipt)
		want string
	}{
		{"vote forged", func(r *Receipt) { r.Chain[0].Change.Votes[0].Sig[0] ^= 1 }, "chain, change 0: spec: invalid epoch change: EC4"},
		{"chain dropped", func(r *Receipt) { r.Chain = nil }, "signature of replica 0 invalid"},
	} {
		bad, _ := DecodeReceipt(raw)
		c.mod(bad)
		if _, err := bad.Verify(first); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("seed %d: %s: %v, want %q", f.seed, c.name, err, c.want)
		}
	}
}

// TestOpenCorruptEpochRecord: a ledger whose epoch record is corrupt is not reopened
// for the configuration that record started (and is left as it is); opened for its
// first configuration, the bad record and everything after the first epoch's start
// are cut off and named in Repaired.
func TestOpenCorruptEpochRecord(t *testing.T) {
	f := newFx(t, 26)
	first, next, _ := epochLedger(t, f)
	f.edit(func(db *pebble.DB) {
		v := get(t, db, key(prefixEpoch, 1))
		v[len(v)/2] ^= 1
		set(t, db, key(prefixEpoch, 1), v)
	})
	if _, err := Open(f.dir, next, Options{}); !errors.Is(err, ErrOtherConfig) {
		t.Fatalf("seed %d: open in epoch 1 with its record corrupt: %v", f.seed, err)
	}
	if _, err := Verify(f.dir, first); err == nil || !strings.Contains(err.Error(), "epoch record of epoch 1: checksum mismatch") {
		t.Fatalf("seed %d: the refused open changed the ledger: %v", f.seed, err)
	}
	l, err := Open(f.dir, first, Options{})
	if err != nil {
		t.Fatalf("seed %d: %v", f.seed, err)
	}
	defer l.Close()
	if l.Repaired == nil || l.Repaired.Kind != KindEpoch || l.Durable() != first.StartSeq {
		t.Fatalf("seed %d: repaired %v, durable %d", f.seed, l.Repaired, l.Durable())
	}
}

// TestGenesisCertNotRecorded: a ledger that starts in a later epoch (a rejoined
// replica's) records no checkpoint certificate at that epoch's start, neither the
// genesis certificate a NEW-VIEW carries nor one built from CHECKPOINTs: Verify
// checks a record of seq s under the configuration in force at s, and none is at or
// below the first configuration's start (L2). The ledger verifies.
func TestGenesisCertNotRecorded(t *testing.T) {
	f := newFx(t, 27)
	next, _, _ := f.nextEpoch(8)
	f.switchEpoch(next)
	l := f.open(Options{})
	nv := &spec.NewView{Body: spec.NewViewBody{View: 1, ViewChanges: []spec.ViewChange{{Body: spec.ViewChangeBody{Stable: next.GenesisCert()}}}}}
	l.Observe(spec.KindNewView, spec.Encode(nv), nv)
	for rep := range f.cfg.N {
		raw, c := f.checkpoint(rep, 8, stateAt(8))
		l.Observe(spec.KindCheckpoint, raw, c)
	}
	f.feed(l, 9, 12)
	f.waitDurable(l, 12)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Verify(f.dir, next)
	if err != nil {
		t.Fatalf("seed %d: verify: %v", f.seed, err)
	}
	if s.Checkpoints != 1 {
		t.Fatalf("seed %d: %d checkpoint records, want 1 (seq 12)", f.seed, s.Checkpoints)
	}
}
