package main

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// cmdMakeLedger is `make-ledger DIR [SEED]`: it writes DIR/config.cbor (a test
// cluster's configuration, every key known) and DIR/ledger, a ledger of 12 batches
// (one request of client 100 each, timestamp = seq) and checkpoint certificates at 4,
// 8 and 12, fed through the ledger's broker interface as a broker would.
func cmdMakeLedger(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: make-ledger DIR [SEED]")
	}
	seed := uint64(1)
	if len(args) > 1 {
		s, err := strconv.ParseUint(args[1], 10, 64)
		ts.Check(err)
		seed = s
	}
	dir := ts.MkAbs(args[0])
	tc, err := testcluster.New(seed, testcluster.Options{K: 4, L: 16})
	ts.Check(err)
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.WriteFile(filepath.Join(dir, "config.cbor"), spec.Encode(tc.Config), 0o644))
	l, err := ledger.Open(filepath.Join(dir, "ledger"), tc.Config, ledger.Options{})
	ts.Check(err)
	batches := map[spec.Digest][]byte{}
	lookup := func(d spec.Digest) ([]byte, bool) { b, ok := batches[d]; return b, ok }
	for s := uint64(1); s <= 12; s++ {
		q := tc.SignRequest(spec.RequestBody{Client: 100, Timestamp: s, Ops: []spec.SealedOp{{Ciphertext: []byte("0123456789abcdef-sealed")}}})
		raw := spec.Encode(&spec.Batch{Requests: []spec.Request{q}})
		d := spec.Hash(spec.DomainBatch, raw)
		batches[d] = raw
		for rep := range tc.Config.N {
			b := spec.Slot{Seq: s, Digest: d, Replica: rep}
			c := &spec.Commit{Body: b, Sig: tc.Sign(spec.RoleConf, rep, spec.DomainCommit, &b)}
			l.Observe(spec.KindCommit, spec.Encode(c), c)
		}
		l.Executed(s, lookup)
		if s%4 == 0 {
			for rep := range tc.Config.N {
				b := spec.CheckpointBody{Seq: s, State: spec.Hash("state", spec.U64(s)), Replica: rep}
				c := &spec.Checkpoint{Body: b, Sig: tc.Sign(spec.RoleExec, rep, spec.DomainCheckpoint, &b)}
				l.Observe(spec.KindCheckpoint, spec.Encode(c), c)
			}
		}
	}
	ts.Check(l.Close())
}

// cmdLedgerDelete is `ledger-delete DIR SEQ`: it deletes the batch record of SEQ from
// the (closed) ledger in DIR, as a faulty broker or disk would.
func cmdLedgerDelete(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: ledger-delete DIR SEQ")
	}
	seq, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	db, err := pebble.Open(ts.MkAbs(args[0]), &pebble.Options{Logger: quietPebble{}})
	ts.Check(err)
	ts.Check(db.Delete(append([]byte{'b'}, spec.U64(seq)...), pebble.Sync))
	ts.Check(db.Close())
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(f string, a ...any) {
	panic(f)
}
