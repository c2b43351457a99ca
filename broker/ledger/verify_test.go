package ledger

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// reseal rewrites the batch record at seq after mod changed it, with a correct
// checksum: a forger who knows the format, which only the signatures and links stop.
func reseal(t *testing.T, db *pebble.DB, seq uint64, mod func(r *BatchRecord)) {
	t.Helper()
	k := key(prefixBatch, seq)
	var rec BatchRecord
	if err := openValue(k, get(t, db, k), &rec); err != nil {
		t.Fatal(err)
	}
	mod(&rec)
	set(t, db, k, sealValue(k, &rec))
}

// TestVerifyNamesFault: Verify accepts a ledger written by the broker path and, on a
// copy with one record altered, removed or reordered, names the first fault.
func TestVerifyNamesFault(t *testing.T) {
	f := newFx(t, 7)
	l := f.open(Options{})
	f.feed(l, 1, 12)
	f.waitDurable(l, 12)
	l.Close()
	if _, err := Verify(f.dir, f.cfg); err != nil {
		t.Fatalf("seed %d: the original does not verify: %v", f.seed, err)
	}
	for _, c := range []struct {
		name string
		edit func(t *testing.T, db *pebble.DB)
		want string
	}{
		{"commit signature altered", func(t *testing.T, db *pebble.DB) {
			reseal(t, db, 5, func(r *BatchRecord) { r.Cert[1][len(r.Cert[1])-1] ^= 1 })
		}, "seq 5: commit certificate: signature of replica 1 invalid"},
		{"commit removed from certificate", func(t *testing.T, db *pebble.DB) {
			reseal(t, db, 3, func(r *BatchRecord) { r.Cert = r.Cert[:2] })
		}, "seq 3: commit certificate: 2 commits, want q = 3"},
		{"batch replaced", func(t *testing.T, db *pebble.DB) {
			reseal(t, db, 9, func(r *BatchRecord) { r.Batch = f.batch(99) })
		}, "seq 9: chain link does not follow"},
		{"batch and link replaced", func(t *testing.T, db *pebble.DB) {
			var prev BatchRecord
			openValue(key(prefixBatch, 8), get(t, db, key(prefixBatch, 8)), &prev)
			reseal(t, db, 9, func(r *BatchRecord) {
				r.Batch = f.batch(99)
				r.Link = Link(prev.Link, 9, spec.Hash(spec.DomainBatch, r.Batch))
			})
		}, "seq 9: commit certificate: commit of replica 0 names another digest"},
		{"record removed", func(t *testing.T, db *pebble.DB) {
			db.Delete(key(prefixBatch, 6), pebble.Sync)
		}, "seq 7: gap: no record of seq 6"},
		{"records reordered", func(t *testing.T, db *pebble.DB) {
			a, b := get(t, db, key(prefixBatch, 3)), get(t, db, key(prefixBatch, 4))
			set(t, db, key(prefixBatch, 3), b)
			set(t, db, key(prefixBatch, 4), a)
		}, "seq 3: checksum mismatch"},
		{"records renumbered", func(t *testing.T, db *pebble.DB) {
			var r3, r4 BatchRecord
			openValue(key(prefixBatch, 3), get(t, db, key(prefixBatch, 3)), &r3)
			openValue(key(prefixBatch, 4), get(t, db, key(prefixBatch, 4)), &r4)
			set(t, db, key(prefixBatch, 3), sealValue(key(prefixBatch, 3), &r4))
			set(t, db, key(prefixBatch, 4), sealValue(key(prefixBatch, 4), &r3))
		}, "seq 3: the record of seq 4 is stored at seq 3"},
		{"checkpoint signature altered", func(t *testing.T, db *pebble.DB) {
			k := key(prefixCheckpoint, 8)
			var rec CheckpointRecord
			openValue(k, get(t, db, k), &rec)
			var cert spec.CheckpointCert
			spec.Decode(rec.Cert, &cert, spec.MaxMessageBytes)
			cert.Proof[2].Sig[0] ^= 1
			rec.Cert = spec.Encode(&cert)
			set(t, db, k, sealValue(k, &rec))
		}, "checkpoint certificate at seq 8: checkpoint certificate: K5: signature of replica 2 invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			copyDir(t, f.dir, dir)
			g := *f
			g.t, g.dir = t, dir
			g.edit(func(db *pebble.DB) { c.edit(t, db) })
			_, err := Verify(dir, f.cfg)
			var fault *Fault
			if !errors.As(err, &fault) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("seed %d: verify: %v, want a fault %q", f.seed, err, c.want)
			}
		})
	}
}

// TestReceipt: a receipt extracted from the ledger verifies, names the request, and
// fails when any part is altered.
func TestReceipt(t *testing.T) {
	f := newFx(t, 8)
	l := f.open(Options{})
	f.feed(l, 1, 6)
	f.waitDurable(l, 6)
	l.Close()
	r, err := FindReceipt(f.dir, 100, 5)
	if err != nil {
		t.Fatal(err)
	}
	raw := spec.Encode(r)
	got, err := DecodeReceipt(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, err := got.Verify(f.cfg)
	if err != nil || got.Seq != 5 || q.Body.Client != 100 || q.Body.Timestamp != 5 {
		t.Fatalf("seed %d: receipt seq %d request %+v err %v", f.seed, got.Seq, q, err)
	}
	if _, err := FindReceipt(f.dir, 100, 77); !errors.Is(err, ErrNoReceipt) {
		t.Fatalf("receipt of an operation never ordered: %v", err)
	}
	for _, c := range []struct {
		name string
		mod  func(r *Receipt)
		want string
	}{
		{"seq", func(r *Receipt) { r.Seq = 4 }, "commit of replica 0 is for seq 5"},
		{"index", func(r *Receipt) { r.Index = 1 }, "index 1 outside"},
		{"batch", func(r *Receipt) { r.Batch = f.batch(4) }, "names another digest"},
		{"config", func(r *Receipt) { r.ConfigDigest[0] ^= 1 }, "for configuration"},
		{"signature", func(r *Receipt) { r.Cert[2][len(r.Cert[2])-1] ^= 1 }, "signature of replica 2 invalid"},
	} {
		bad, _ := DecodeReceipt(raw)
		c.mod(bad)
		if _, err := bad.Verify(f.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("seed %d: %s altered: %v, want %q", f.seed, c.name, err, c.want)
		}
	}
}
