package operator

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// TestRecoverBehindReplica: every replica is killed right after a recovery that one
// of them had not recorded yet (simulated: its chain.cbor loses the last step and its
// ledger's epoch record is corrupted, so it opens ending in the epoch before). Started
// again, it offers for the older epoch; recover-cluster waits, the replica's broker
// gets the missing recovery from its peers, adopts it and stops with an error saying
// why; started again it offers for the epoch reached, and the next recovery completes
// with every acknowledged write (SPEC §17.8).
func TestRecoverBehindReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes, kills and restarts them all twice; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--members", "1")
	m, rng := Model{}, rand.New(rand.NewPCG(1404, 7))
	all := []int{0, 1, 2, 3}
	pc.checkedOps(m, rng, 40, nil)
	pc.killAll()
	pc.restartAll("first")
	pc.recoverCluster(nil)
	pc.waitEpoch(all, 1, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 40, nil)
	pc.killAll()
	pc.forgetLastStep(3)
	pc.restartAll("second")
	rc := pc.recoverCluster(func() { // while recover-cluster waits for replica 3
		pc.restartAfterStop(3, "replica-3-second.log", "this replica's chain was behind", 90*time.Second, "replica-3-third.log")
	})
	t.Logf("recover-cluster:\n%s", rc)
	pc.waitEpoch(all, 2, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 0, nil) // every acknowledged write reads back
	pc.checkedOps(m, rng, 30, nil)
	pc.killAll()
	// Replica 1 wrote the last step to its chain file but its ledger had not recorded
	// the epoch: it recovers as a replica behind (localChain drops the step), is
	// forwarded the step, stops, and started again offers for the epoch reached.
	pc.forgetLedgerEpoch(1)
	pc.restartAll("third")
	rc = pc.recoverCluster(func() {
		pc.restartAfterStop(1, "replica-1-third.log", "this replica's chain was behind", 90*time.Second, "replica-1-fourth.log")
	})
	t.Logf("recover-cluster:\n%s", rc)
	pc.waitEpoch(all, 3, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 0, nil)
	pc.killAll()
	for _, i := range all {
		verifyLedgers(t, pc.dir, uint64(i), 3)
	}
}

// restartAfterStop waits up to limit for replica id to exit with an error whose
// reason (why) its log, logName, states, fails the test otherwise, and starts it again
// with the same command, logging to nextLog.
func (pc *procCluster) restartAfterStop(id int, logName, why string, limit time.Duration, nextLog string) {
	t := pc.t
	done := make(chan error, 1)
	go func() { done <- pc.reps[id].Wait() }()
	select {
	case err := <-done:
		log, _ := os.ReadFile(filepath.Join(pc.dir, logName))
		if err == nil || !bytes.Contains(log, []byte(why)) {
			t.Fatalf("replica %d exited with %v, its log not saying %q:\n%s", id, err, why, log)
		}
	case <-time.After(limit):
		t.Fatalf("replica %d did not stop within %v (%q)", id, limit, why)
	}
	pc.reps[id] = pc.spawn(id, nextLog, pc.replicaCmd(id)...)
}

func (pc *procCluster) killAll() {
	for _, c := range pc.reps {
		killGroup(c)
		waitGroupGone(pc.t, c.Process.Pid)
	}
}

func (pc *procCluster) restartAll(tag string) {
	for i := range pc.reps {
		pc.reps[i] = pc.spawn(i, fmt.Sprintf("replica-%d-%s.log", i, tag), pc.replicaCmd(i)...)
	}
}

// recoverCluster runs recover-cluster with the member key, calling meanwhile (if
// set) while it runs, and returns its output; it fails the test if the tool does.
func (pc *procCluster) recoverCluster(meanwhile func()) []byte {
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(pc.bin, "splitbft"), "recover-cluster", "--dir", pc.dir,
		"--member-key", MemberKeyPath(pc.dir, 0), "--timeout", "150s")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		pc.t.Fatal(err)
	}
	defer killGroup(cmd)
	if meanwhile != nil {
		meanwhile()
	}
	if err := cmd.Wait(); err != nil {
		pc.t.Fatalf("recover-cluster: %v\n%s", err, out.Bytes())
	}
	return out.Bytes()
}

// forgetLastStep makes replica id's directory look as if it was killed before it
// recorded the last chain step: chain.cbor without it, the ledger's epoch record of
// it corrupted (Open cuts it off, with what follows).
func (pc *procCluster) forgetLastStep(id int) {
	t := pc.t
	path := filepath.Join(replicaDir(pc.dir, uint64(id)), ChainFile)
	raw, err := os.ReadFile(path)
	var c Chain
	if err == nil {
		err = spec.Decode(raw, &c, maxChainBody)
	}
	if err != nil || len(c.Changes) == 0 {
		t.Fatalf("replica %d's chain: %v (%d steps)", id, err, len(c.Changes))
	}
	epoch := uint64(len(c.Changes)) // the first configuration is of epoch 0
	c.Changes = c.Changes[:len(c.Changes)-1]
	if err := os.WriteFile(path, spec.Encode(&c), 0o644); err != nil {
		t.Fatal(err)
	}
	pc.corruptEpochRecord(id, epoch)
}

// forgetLedgerEpoch makes replica id's directory look as if it was killed after it
// wrote the last chain step to its chain file and before its ledger recorded that
// epoch: the ledger's epoch record of the chain's last epoch is corrupted.
func (pc *procCluster) forgetLedgerEpoch(id int) {
	t := pc.t
	raw, err := os.ReadFile(filepath.Join(replicaDir(pc.dir, uint64(id)), ChainFile))
	var c Chain
	if err == nil {
		err = spec.Decode(raw, &c, maxChainBody)
	}
	if err != nil || len(c.Changes) == 0 {
		t.Fatalf("replica %d's chain: %v (%d steps)", id, err, len(c.Changes))
	}
	pc.corruptEpochRecord(id, uint64(len(c.Changes)))
}

// corruptEpochRecord corrupts the record of epoch in replica id's ledger, so that
// Open cuts it off with what follows.
func (pc *procCluster) corruptEpochRecord(id int, epoch uint64) {
	t := pc.t
	db, err := pebble.Open(pc.ledgerDirOf(id), &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	k := binary.BigEndian.AppendUint64([]byte{'e'}, epoch)
	v, closer, err := db.Get(k)
	if err != nil {
		t.Fatalf("replica %d's ledger has no epoch record %d: %v", id, epoch, err)
	}
	bad := append([]byte(nil), v...)
	closer.Close()
	bad[len(bad)-1] ^= 1
	if err := db.Set(k, bad, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// quietPebble discards pebble's log lines.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	slog.Error(fmt.Sprintf(format, args...))
	panic("pebble: fatal")
}
