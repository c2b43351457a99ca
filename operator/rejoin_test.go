package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/spec"
)

// TestRejoinProcesses is issue 13's operator test (SPEC §13.4 rejoin, §17.5): while a
// workload runs and is checked against a model, a backup replica's processes are
// killed with SIGKILL and started again with the same command; it fetches the chain,
// has its fresh compartments admitted in a new epoch, catches up and serves; then the
// same for the primary. No result is wrong or lost (the workload checks every
// answer), and at the end all four replicas agree on a checkpoint in the last epoch,
// and every replica's ledgers verify offline across the epochs (SPEC §13.5).
func TestRejoinProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes and restarts 8; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	restarts := 0
	restart := func(victim int) {
		pgid := pc.reps[victim].Process.Pid
		t.Logf("killing replica %d (process group %d) and starting it again", victim, pgid)
		killGroup(pc.reps[victim])
		waitGroupGone(t, pgid)
		restarts++
		pc.reps[victim] = pc.spawn(victim, fmt.Sprintf("replica-%d-restart-%d.log", victim, restarts), pc.replicaCmd(victim)...)
	}
	all := []int{0, 1, 2, 3}
	pc.workload(13, 300, func(i int) {
		switch i {
		case 60:
			restart(3) // a backup
		case 180: // once replica 3 is back (epoch 1): two replicas down at once is more than f
			pc.waitEpoch(all, 1, time.Now().Add(60*time.Second))
			restart(0) // the primary of view 0 (epochs restart at view 0)
		case 250: // the rest of the workload runs in epoch 2, so that it checkpoints
			pc.waitEpoch(all, 2, time.Now().Add(60*time.Second))
		}
	})
	seq, digests := pc.agreeingCheckpoint(all, 1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
	for _, c := range pc.reps {
		killGroup(c)
	}
	for _, i := range all {
		verifyLedgers(t, pc.dir, uint64(i), 2)
	}
}

// verifyLedgers checks every ledger of replica id offline from the configuration it
// starts with (SPEC §13.5) and that one of them reached epoch want with batches of it.
func verifyLedgers(t testing.TB, dir string, id, want uint64) {
	t.Helper()
	starts, err := LedgerStarts(dir, id)
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("replica-%d", id), "ledger", "*"))
	reached := false
	for _, d := range dirs {
		cfg := starts[d]
		if cfg == nil {
			t.Fatalf("replica %d: ledger %s starts with no configuration of the chain", id, d)
		}
		s, err := ledger.Verify(d, cfg)
		if err != nil {
			t.Fatalf("replica %d: ledger %s (from epoch %d): %v", id, d, cfg.Epoch, err)
		}
		t.Logf("replica %d: ledger from epoch %d verifies: %+v", id, cfg.Epoch, s)
		reached = reached || (s.LastEpoch == want && s.Batches > 0)
	}
	if !reached {
		t.Fatalf("replica %d: no ledger of %d reached epoch %d", id, len(dirs), want)
	}
}

// waitEpoch polls until every replica in live serves a configuration of epoch ≥ min
// and reports no error.
func (pc *procCluster) waitEpoch(live []int, min uint64, deadline time.Time) {
	for {
		st := pc.status()
		ok := true
		for _, i := range live {
			ok = ok && st[i].Status != nil && st[i].Status.Epoch >= min && st[i].Status.Error == ""
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			pc.t.Fatalf("replicas %v never all reached epoch %d:\n%s", live, min, summary(st))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitRunning polls until every replica in live is running (formed, or rejoined,
// and its broker serving) and reports no error.
func (pc *procCluster) waitRunning(live []int, deadline time.Time) {
	for {
		st := pc.status()
		ok := true
		for _, i := range live {
			ok = ok && st[i].Status != nil && st[i].Status.Phase == PhaseRunning && st[i].Status.Error == ""
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			pc.t.Fatalf("replicas %v never all ran:\n%s", live, summary(st))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRestartFetchesChain checks the part of a rejoin that needs no compartment
// support for epochs (SPEC §13.4 rejoin): a backup replica killed with SIGKILL and
// started again with the same command does not form a configuration of its own; it
// fetches and verifies the chain from its peers, starts fresh compartments for the
// current epoch, runs, and asks its peers to attest them, while the workload goes on
// and every answer is checked.
// Replica 0, the primary and the group key's dealer, once formed a cluster of its own
// when restarted (issue 13); it is the second case.
//
// The "stopped during formation" cases restart a replica with what it holds when it
// is killed after its peers have its enrollments but before it writes its genesis
// (SPEC §13.4): its credentials and the record of its formation attempt (FormingFile,
// written before its enrollments were served), and no genesis, chain, configuration
// or ledger. It once tried to form again and stopped ("restart every replica to form
// a new cluster"; a CI run of TestRejoinProcesses killed replica 3 in that window); it
// joins the cluster its peers formed, found from the record. Without the record (the
// "lost record" case) formation itself finds the dealer's share made for its earlier
// exec key, and it joins the configuration holding that key.
func TestRestartFetchesChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes and restarts 4, five times; skipped in -short mode")
	}
	for _, c := range []struct {
		victim int
		lost   string // "": a plain restart; "record": stopped during formation; "all": the record lost too
	}{{3, ""}, {0, ""}, {3, "record"}, {0, "record"}, {3, "all"}} {
		name := fmt.Sprintf("replica %d", c.victim)
		switch c.lost {
		case "record":
			name += " stopped during formation"
		case "all":
			name += " stopped during formation, lost record"
		}
		t.Run(name, func(t *testing.T) { restartFetchesChain(t, c.victim, c.lost) })
	}
}

func restartFetchesChain(t *testing.T, victim int, lost string) {
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	logName := fmt.Sprintf("replica-%d-restart.log", victim)
	rd := filepath.Join(pc.dir, fmt.Sprintf("replica-%d", victim))
	pc.workload(17, 60, func(i int) {
		if i != 20 {
			return
		}
		pgid := pc.reps[victim].Process.Pid
		killGroup(pc.reps[victim])
		waitGroupGone(t, pgid)
		if lost != "" {
			raw, err := os.ReadFile(filepath.Join(rd, GenesisFile))
			if err != nil {
				t.Fatal(err)
			}
			var g spec.Config
			if err := spec.Decode(raw, &g, spec.MaxMessageBytes); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{GenesisFile, ChainFile, ConfigFile, "ledger"} {
				if err := os.RemoveAll(filepath.Join(rd, f)); err != nil {
					t.Fatal(err)
				}
			}
			if lost == "record" {
				// The attempt the genesis holds, and a later one that found no genesis
				// and was stopped too (its enrollments are another slot's here: any
				// that the configuration does not give this replica).
				me, later := g.Replicas[victim], g.Replicas[(victim+1)%4]
				rec := spec.Encode(&FormingRecord{Attempts: []ReplicaEnrollments{
					{Replica: uint64(victim), Enrollments: []spec.Enrollment{me.Prep, me.Conf, me.Exec}},
					{Replica: uint64(victim), Enrollments: []spec.Enrollment{later.Prep, later.Conf, later.Exec}},
				}})
				if err := os.WriteFile(filepath.Join(rd, FormingFile), rec, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		pc.reps[victim] = pc.spawn(victim, logName, pc.replicaCmd(victim)...)
	})
	other := (victim + 1) % 4
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := pc.status()
		// The two may be an epoch apart for a moment (the admission of the restarted
		// replica's fresh compartments is an epoch change); at one epoch they must
		// serve one configuration.
		sv, so := st[victim].Status, st[other].Status
		if sv != nil && so != nil && sv.Phase == PhaseRunning && sv.Epoch == so.Epoch {
			if sv.ConfigDigest != so.ConfigDigest {
				t.Fatalf("the restarted replica serves configuration %s (epoch %d), replica %d %s (epoch %d)", sv.ConfigDigest, sv.Epoch, other, so.ConfigDigest, so.Epoch)
			}
			break
		}
		if time.Now().After(deadline) {
			raw, _ := json.MarshalIndent([]any{st[victim], st[other]}, "", " ")
			t.Fatalf("the restarted replica is not running at its peer's epoch after 60s:\n%s", raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs, _ := os.ReadFile(filepath.Join(pc.dir, logName))
	wants := []string{"does not form a new one", "chain fetched and verified", "admission started"}
	switch lost {
	case "record":
		wants = append(wants, "the cluster formed while this replica was down", "joining the cluster its peers formed")
	case "all":
		wants = append(wants, "the dealer's share for this replica is for another exec key", "joining the cluster its peers formed")
	}
	if lost != "" {
		mine, err := os.ReadFile(filepath.Join(rd, GenesisFile))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(pc.dir, fmt.Sprintf("replica-%d", other), GenesisFile))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mine, theirs) {
			t.Errorf("the restarted replica's genesis differs from replica %d's", other)
		}
		if _, err := os.Stat(filepath.Join(rd, FormingFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the record of the formation attempt is still there after the join: %v", err)
		}
	}
	for _, want := range wants {
		if !strings.Contains(string(logs), want) {
			t.Errorf("the restarted replica's log lacks %q:\n%s", want, logs)
		}
	}
}

// TestDeadCompartmentReplaced: a single compartment process that dies (here replica
// 2's exec, then replica 1's prep, each killed with SIGKILL while a checked workload
// runs) is replaced without an operator (SPEC §17.6): the replica starts a fresh
// process of the same build and has it admitted in a new epoch; the new process is
// alive and configured, and every answer of the workload is right.
func TestDeadCompartmentReplaced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	victims := []struct {
		replica int
		role    string
	}{{2, "exec"}, {1, "prep"}}
	old := map[int]int{}
	all := []int{0, 1, 2, 3}
	pc.workload(19, 200, func(i int) {
		if i == 0 {
			// Clients need only 2f+1 formed replicas; a compartment killed while its
			// replica still forms stops the replica instead (formation fails), which
			// is not what this test is about.
			pc.waitRunning(all, time.Now().Add(60*time.Second))
		}
		if i == 160 { // the rest of the workload runs in the last epoch, so that it checkpoints
			pc.waitEpoch(all, 2, time.Now().Add(60*time.Second))
		}
		if i%80 != 40 {
			return
		}
		if i/80 > 0 { // the earlier victim's replacement admitted first: one epoch each (two admissions can share a batch and an epoch)
			pc.waitEpoch(all, uint64(i/80), time.Now().Add(60*time.Second))
		}
		v := victims[i/80]
		pid := pc.compartmentPid(v.replica, v.role)
		if pid == 0 {
			t.Fatalf("replica %d reports no %s process", v.replica, v.role)
		}
		old[v.replica] = pid
		t.Logf("killing replica %d's %s (pid %d)", v.replica, v.role, pid)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	})
	for _, v := range victims {
		c := pc.compartment(v.replica, v.role)
		if c == nil || !c.Alive || !c.Configured || c.Pid == old[v.replica] {
			t.Fatalf("replica %d's %s was not replaced by a live, configured process: %+v (old pid %d)", v.replica, v.role, c, old[v.replica])
		}
	}
	seq, digests := pc.agreeingCheckpoint(all, 1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
}

// compartment returns replica i's compartment of role as its status shows it.
func (pc *procCluster) compartment(i int, role string) *CompartmentStatus {
	st := pc.status()
	if i >= len(st) || st[i].Status == nil {
		return nil
	}
	for _, c := range st[i].Status.Compartments {
		if c.Role == role {
			return &c
		}
	}
	return nil
}

// compartmentPid returns the pid of replica i's compartment of role, or 0.
func (pc *procCluster) compartmentPid(i int, role string) int {
	if c := pc.compartment(i, role); c != nil {
		return c.Pid
	}
	return 0
}

// TestRejoinAnsweredThenClusterRecovers: the whole cluster stops one replica after the
// other and restarts around a replica that came up while a peer still ran (SPEC §17.8).
// Replicas 1–3 are killed; replica 3, started again, gets the chain from replica 0
// only (one answer, fewer than f+1: it tries again); then replica 0 is killed and
// replicas 0–2 are started again, find no peer serving a chain and go into recovery
// mode. Replica 3 must go into recovery mode too (before, one answer during its grace
// made it wait for f+1 chains for ever, so recover-cluster never had its offer); the
// members' tool recovers the cluster and every acknowledged write reads back.
func TestRejoinAnsweredThenClusterRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes, kills and restarts them all; skipped in -short mode")
	}
	const seed = 1417
	t.Logf("seed %d", seed)
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--members", "1")
	m, rng := Model{}, rand.New(rand.NewPCG(seed, 7))
	pc.checkedOps(m, rng, 30, nil)
	pc.waitRunning([]int{0, 1, 2, 3}, time.Now().Add(60*time.Second)) // every replica holds the chain it is to recover from
	for _, i := range []int{1, 2, 3} {
		killGroup(pc.reps[i])
		waitGroupGone(t, pc.reps[i].Process.Pid)
	}
	pc.reps[3] = pc.spawn(3, "replica-3-restart.log", append(pc.replicaCmd(3), "--recovery-grace", "2s")...)
	pc.waitLog("replica-3-restart.log", "answered=1", time.Now().Add(60*time.Second)) // a round ended with replica 0's chain
	killGroup(pc.reps[0])
	waitGroupGone(t, pc.reps[0].Process.Pid)
	for i := range 3 {
		pc.reps[i] = pc.spawn(i, fmt.Sprintf("replica-%d-restart.log", i), pc.replicaCmd(i)...)
	}
	pc.waitLog("replica-3-restart.log", "the whole cluster stopped", time.Now().Add(60*time.Second))
	out := pc.recoverCluster(nil)
	t.Logf("recover-cluster:\n%s", out)
	all := []int{0, 1, 2, 3}
	pc.waitEpoch(all, 1, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 0, nil) // every acknowledged write reads back
	pc.checkedOps(m, rng, 20, nil)
	pc.killAll()
}

// TestDealerRestartedBeforeDealing: the dealer (replica 0) is killed after its peers
// gathered its enrollments and before it dealt (replica 3 has not started, so nobody
// can deal yet), and started again with the same command. It finds no configuration
// holding its earlier attempt, forms again with new compartments and deals from its
// new exec; the peers, whose gathered enrollments name its earlier exec, fetch its
// enrollments again and form with the new ones (SPEC §13.4, "Restarted during
// formation"). They once stopped, naming replica 0 as restarted or faulty, and the
// cluster could not form without --new-cluster on every replica. All four then run
// one configuration, and a checked workload runs on it.
func TestDealerRestartedBeforeDealing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(3, "--base-port", strconv.Itoa(freeBase(t, 12)))
	deadline := time.Now().Add(60 * time.Second)
	for _, i := range []int{1, 2} {
		pc.waitLog(fmt.Sprintf("replica-%d.log", i), fmt.Sprintf(`msg="enrollments received" replica=%d peer=0`, i), deadline)
	}
	// What a replica serves at GET /enrollments is in its record of attempts.
	tmpl, err := LoadTemplate(pc.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 2} {
		served, err := httpGet(context.Background(), tmpl.Replicas[i].Status, "/enrollments", 5*time.Second, maxFormationBody)
		if err != nil {
			t.Fatal(err)
		}
		rp := &replica{t: tmpl, opt: ReplicaOptions{ID: uint64(i), Dir: pc.dir}, log: slog.New(slog.DiscardHandler)}
		rec := rp.earlierAttempts()
		if len(rec) != 1 || !bytes.Equal(spec.Encode(&rec[0]), served) {
			t.Fatalf("replica %d serves enrollments its record of attempts (%d) does not hold", i, len(rec))
		}
	}
	pgid := pc.reps[0].Process.Pid
	killGroup(pc.reps[0])
	waitGroupGone(t, pgid)
	pc.reps[0] = pc.spawn(0, "replica-0-restart.log", pc.replicaCmd(0)...)
	pc.waitLog("replica-0-restart.log", `msg="forming the cluster"`, time.Now().Add(60*time.Second)) // after its wait for an earlier attempt's configuration
	pc.reps = append(pc.reps, pc.spawn(3, "replica-3.log", pc.replicaCmd(3)...))
	all := []int{0, 1, 2, 3}
	pc.waitRunning(all, time.Now().Add(60*time.Second))
	st := pc.status()
	for _, i := range all {
		if st[i].Status.ConfigDigest != st[0].Status.ConfigDigest {
			t.Fatalf("replicas run different configurations:\n%s", summary(st))
		}
	}
	for _, i := range []int{1, 2} {
		pc.waitLog(fmt.Sprintf("replica-%d.log", i), "the dealer restarted during formation", time.Now())
	}
	for _, i := range all { // formed: the record is gone
		if _, err := os.Stat(filepath.Join(pc.dir, fmt.Sprintf("replica-%d", i), FormingFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("replica %d still holds its record of attempts after forming: %v", i, err)
		}
	}
	pc.workload(29, 30, func(int) {})
}
