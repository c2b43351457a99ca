package operator

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// TestRecoverLeadIn: every replica is killed after an epoch change and before its
// broker took the snapshot of the new epoch's start (simulated: each ledger's
// snapshot records are replaced by the one it held in the epoch before). No ledger
// holds a snapshot of the last epoch's start state; recover-cluster offers a lead-in
// (SPEC §17.8 RV6): the execs replay the epoch before from its snapshot, cross into
// the last epoch at its start, replay it to the head, and every acknowledged write
// reads back afterwards.
func TestRecoverLeadIn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes, kills and restarts them all twice; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--members", "1")
	m, rng := Model{}, rand.New(rand.NewPCG(1405, 7))
	all := []int{0, 1, 2, 3}
	pc.checkedOps(m, rng, 40, nil)
	pc.killAll()
	epoch0 := make([]map[string][]byte, len(all))
	for _, i := range all {
		epoch0[i] = pc.snapshotRecords(i)
		if len(epoch0[i]) == 0 {
			t.Fatalf("replica %d's ledger holds no snapshot after 40 operations", i)
		}
	}
	pc.restartAll("first")
	pc.recoverCluster(nil)
	pc.waitEpoch(all, 1, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 40, nil)
	pc.killAll()
	for _, i := range all {
		pc.replaceSnapshots(i, epoch0[i])
	}
	pc.restartAll("second")
	rc := string(pc.recoverCluster(nil))
	t.Logf("recover-cluster:\n%s", rc)
	pc.waitEpoch(all, 2, time.Now().Add(90*time.Second))
	pc.waitLog("replica-0-second.log", "replay with a lead-in", time.Now().Add(10*time.Second))
	if !strings.Contains(rc, "the replay leads in from seq") {
		t.Fatalf("recover-cluster does not say it chose a lead-in:\n%s", rc)
	}
	pc.checkedOps(m, rng, 0, nil) // every acknowledged write of both epochs reads back
	pc.checkedOps(m, rng, 60, nil)
	// every exec runs in epoch 2 (none is left in its replay) and they agree
	start := pc.status()[0].Status.EpochStart
	seq, digests := pc.agreeingCheckpoint(all, start+1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
	pc.killAll()
	for _, i := range all {
		verifyLedgers(t, pc.dir, uint64(i), 2)
	}
}

// snapshotRecords returns the snapshot records ('s') of replica id's ledger, by key,
// as stored (the replica is stopped).
func (pc *procCluster) snapshotRecords(id int) map[string][]byte {
	db := pc.openLedgerDB(id)
	defer db.Close()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{'s'}, UpperBound: []byte{'s' + 1}})
	if err != nil {
		pc.t.Fatal(err)
	}
	defer it.Close()
	out := map[string][]byte{}
	for ok := it.First(); ok; ok = it.Next() {
		out[string(it.Key())] = append([]byte(nil), it.Value()...)
	}
	return out
}

// replaceSnapshots deletes every snapshot record of replica id's ledger and stores
// recs instead (the replica is stopped).
func (pc *procCluster) replaceSnapshots(id int, recs map[string][]byte) {
	db := pc.openLedgerDB(id)
	defer db.Close()
	b := db.NewBatch()
	if err := b.DeleteRange([]byte{'s'}, []byte{'s' + 1}, nil); err != nil {
		pc.t.Fatal(err)
	}
	for k, v := range recs {
		if err := b.Set([]byte(k), v, nil); err != nil {
			pc.t.Fatal(err)
		}
		pc.t.Logf("replica %d: snapshot record of seq %d put back", id, binary.BigEndian.Uint64([]byte(k)[1:]))
	}
	if err := b.Commit(pebble.Sync); err != nil {
		pc.t.Fatal(err)
	}
}

func (pc *procCluster) openLedgerDB(id int) *pebble.DB {
	db, err := pebble.Open(pc.ledgerDirOf(id), &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		pc.t.Fatalf("replica %d's ledger: %v", id, err)
	}
	return db
}
