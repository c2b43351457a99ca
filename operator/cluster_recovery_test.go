package operator

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker/ledger"
)

// TestRecoverClusterProcesses is issue 14's whole-cluster recovery as an operator
// does it (SPEC §17.8): a cluster with one governance member runs a checked workload;
// replica 3's ledger is copied (its processes stopped for the copy) half-way; then
// every replica's processes are killed with SIGKILL, replica 3's ledger is replaced
// by the older copy, every replica is started again with the same command, and
// `splitbft recover-cluster` signs and delivers the plan. Every acknowledged write
// reads back (the head is the highest a ledger proves, not the older copy's), new
// writes work in the recovery epoch, the replicas agree on a checkpoint there, and
// every replica's ledger verifies offline across the recovery. Each replica runs a
// Redis gateway, which the recovery plan registers again. Replicas 0 and 1 prune their
// ledgers (retention with an archive, SPEC §13.5): the recovery reads what they kept,
// and their archives and live ledgers verify as one chain afterwards.
func TestRecoverClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes, kills and restarts them all; skipped in -short mode")
	}
	const seed = 1401
	pc := &procCluster{t: t}
	pc.wrap = func(ns int, argv []string) []string {
		if len(argv) > 1 && argv[1] == "replica" && ns < 2 { // replicas 0 and 1 prune their ledgers (SPEC §13.5 Retention)
			return append(argv, "--ledger-retain", "8", "--ledger-archive", filepath.Join(pc.dir, "archive"), "--ledger-snapshot-log", "1")
		}
		return argv
	}
	ports := freeBase(t, 16)
	pc.start(4, "--base-port", strconv.Itoa(ports), "--members", "1", "--redis-port", strconv.Itoa(ports+12))
	gw := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports+12+i) }
	m, rng := Model{}, rand.New(rand.NewPCG(seed, 7))
	older := filepath.Join(t.TempDir(), "older-ledger")
	gwSet := func(i int, key, val string) {
		t.Helper()
		var got string
		var err error
		for deadline := time.Now().Add(60 * time.Second); got != "+OK\r\n"; {
			if got, err = respExchange(gw(i), "SET "+key+" "+val+"\r\n"); got == "+OK\r\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("seed %d: replica %d's gateway never answered SET %s (last %q, %v)", seed, i, key, got, err)
			}
			time.Sleep(200 * time.Millisecond) // polling: the gateway accepts its configuration
		}
	}
	for i := range 4 {
		for k := range 4 { // each gateway's identities take timestamps 1, 2, …
			gwSet(i, fmt.Sprintf("g%d-%d", i, k), "old")
		}
	}
	pc.checkedOps(m, rng, 117, func(i int) { // 125 requests: the head is above the last checkpoint (K = 8)
		if i == 60 {
			pc.copyLedger(3, older)
		}
	})
	for _, c := range pc.reps {
		killGroup(c)
		waitGroupGone(t, c.Process.Pid)
	}
	pc.replaceLedger(3, older)
	for i := range pc.reps {
		pc.reps[i] = pc.spawn(i, fmt.Sprintf("replica-%d-recovered.log", i), pc.replicaCmd(i)...)
	}
	out, err := exec.Command(filepath.Join(pc.bin, "splitbft"), "recover-cluster", "--dir", pc.dir,
		"--member-key", MemberKeyPath(pc.dir, 0), "--timeout", "90s").CombinedOutput()
	if err != nil {
		t.Fatalf("seed %d: recover-cluster: %v\n%s", seed, err, out)
	}
	t.Logf("recover-cluster:\n%s", out)
	var base, head uint64
	line := out[max(0, bytes.Index(out, []byte("replay from"))):]
	if _, err := fmt.Sscanf(string(line), "replay from the certified state at seq %d to head %d", &base, &head); err != nil || head <= base {
		t.Fatalf("seed %d: recover-cluster chose base %d, head %d (%v): the test wants batches replayed above the base", seed, base, head, err)
	}
	all := []int{0, 1, 2, 3}
	pc.waitEpoch(all, 1, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 0, nil) // every acknowledged write reads back
	pc.checkedOps(m, rng, 60, nil)
	// The plan registered the gateways every replica started again (SPEC §16.2): they
	// serve without a re-admission.
	if !bytes.Contains(out, []byte("the plan registers the Redis gateways of replicas [0 1 2 3]")) {
		t.Fatalf("seed %d: recover-cluster did not register the four gateways:\n%s", seed, out)
	}
	// The new gateways' timestamps start again at 1: the recovery epoch starts their
	// identities afresh (SPEC §17.3), so each write executes and reads back through
	// another gateway.
	for _, i := range all {
		for k := range 4 {
			key := fmt.Sprintf("g%d-%d", i, k)
			gwSet(i, key, "new")
			if got, err := respExchange(gw((i+1)%4), "GET "+key+"\r\n"); got != "$3\r\nnew\r\n" {
				t.Fatalf("seed %d: GET %s through replica %d's gateway after the recovery: %q, %v", seed, key, (i+1)%4, got, err)
			}
		}
	}
	pc.agreeAndVerifyLedgers(seed, all, 1)
	// Replicas 0 and 1 recovered from pruned ledgers, whose archives and live
	// ledgers still verify as one chain from the first batch.
	for _, i := range []int{0, 1} {
		starts, err := LedgerStarts(pc.dir, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		d := pc.ledgerDirOf(i)
		a, err := ledger.VerifyArchive(ArchiveDir(filepath.Join(pc.dir, "archive"), uint64(i), starts[d]), d, starts[d])
		if err != nil || len(a.Segments) == 0 || a.Segments[0].First != 1 || a.Live.PrunedTo == 0 {
			t.Fatalf("seed %d: replica %d: archive with the live ledger: %+v, %v", seed, i, a, err)
		}
	}
}

// TestRecoverClusterWithoutReplica: a whole-cluster recovery with all four replicas
// first; then replica 0, the primary, is cut off (SIGSTOP, a partition) while the
// other three are killed and started again, and the members recover without it:
// `recover-cluster --absent 0` (after refusing two absent replicas with f = 1, and
// probing replica 0's status port, which does not answer) carries replica 0's slot
// over (SPEC §17.8, "Absent replicas"). Every acknowledged write reads back and new
// writes work with three replicas (a view change away from the absent primary).
// When the partition heals, replica 0, still running the compartments of the first
// recovery's epoch (keys the second recovery carried over), adopts the recovery its
// peers forward, stops saying it was left out, and started again with its usual
// command rejoins (an admission); all agree on a checkpoint and every ledger
// verifies.
func TestRecoverClusterWithoutReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes, kills and restarts them; skipped in -short mode")
	}
	const seed = 1405
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--members", "1")
	m, rng := Model{}, rand.New(rand.NewPCG(seed, 7))
	recoverCmd := func(extra ...string) ([]byte, error) {
		args := append([]string{"recover-cluster", "--dir", pc.dir, "--member-key", MemberKeyPath(pc.dir, 0), "--timeout", "90s"}, extra...)
		return exec.Command(filepath.Join(pc.bin, "splitbft"), args...).CombinedOutput()
	}
	all, present := []int{0, 1, 2, 3}, []int{1, 2, 3}
	pc.checkedOps(m, rng, 40, nil)
	for _, c := range pc.reps {
		killGroup(c)
		waitGroupGone(t, c.Process.Pid)
	}
	for _, i := range all {
		pc.reps[i] = pc.spawn(i, fmt.Sprintf("replica-%d-recovered.log", i), pc.replicaCmd(i)...)
	}
	if out, err := recoverCmd(); err != nil {
		t.Fatalf("seed %d: recover-cluster: %v\n%s", seed, err, out)
	}
	pc.waitEpoch(all, 1, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 20, nil)

	syscall.Kill(-pc.reps[0].Process.Pid, syscall.SIGSTOP)
	for _, i := range present {
		killGroup(pc.reps[i])
		waitGroupGone(t, pc.reps[i].Process.Pid)
	}
	for _, i := range present {
		pc.reps[i] = pc.spawn(i, fmt.Sprintf("replica-%d-recovered-2.log", i), pc.replicaCmd(i)...)
	}
	if out, err := recoverCmd("--absent", "0", "--absent", "3"); err == nil || !bytes.Contains(out, []byte("at most f = 1")) {
		t.Fatalf("seed %d: recover-cluster with two absent replicas: %v\n%s\nwant a refusal naming f", seed, err, out)
	}
	out, err := recoverCmd("--absent", "0")
	if err != nil {
		t.Fatalf("seed %d: recover-cluster --absent 0: %v\n%s", seed, err, out)
	}
	t.Logf("recover-cluster:\n%s", out)
	for _, want := range []string{"recovery to epoch 2", "plan delivered to replicas [1 2 3]", "replicas [0] recovered without", "of which at least 1 offered"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("seed %d: recover-cluster output does not say %q:\n%s", seed, want, out)
		}
	}
	pc.waitEpoch(present, 2, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 0, nil) // every acknowledged write reads back
	pc.checkedOps(m, rng, 40, nil)
	syscall.Kill(-pc.reps[0].Process.Pid, syscall.SIGCONT)
	pc.restartAfterStop(0, "replica-0-recovered.log", "the members recovered the whole cluster without this replica", 90*time.Second, "replica-0-back.log")
	pc.waitEpoch(all, 3, time.Now().Add(90*time.Second)) // replica 0's admission
	pc.checkedOps(m, rng, 40, nil)
	pc.agreeAndVerifyLedgers(seed, all, 3)
}

// agreeAndVerifyLedgers waits until the replicas in all agree on a checkpoint of
// epoch ≥ epoch, stops every replica and verifies each one's ledgers offline, one of
// which must reach epoch.
func (pc *procCluster) agreeAndVerifyLedgers(seed uint64, all []int, epoch uint64) {
	t := pc.t
	seq, digests := pc.agreeingCheckpoint(all, epoch, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("seed %d: checkpoint %d: replicas disagree on the state digest: %v", seed, seq, digests)
		}
	}
	for _, c := range pc.reps {
		killGroup(c)
	}
	for _, i := range all {
		verifyLedgers(t, pc.dir, uint64(i), epoch)
	}
}

// checkedOps runs, in one kv script, a get of every key the model knows, then ops
// random operations, checking every answer against m; at(i) runs before op i.
func (pc *procCluster) checkedOps(m Model, rng *rand.Rand, ops int, at func(i int)) {
	t := pc.t
	stdin, lines, cmd := pc.script()
	var script []Op
	for k := range 8 {
		script = append(script, Op{Verb: "get", Key: []byte("k" + strconv.Itoa(k))})
	}
	gets := len(script)
	for i := 0; i < gets+ops; i++ {
		if i >= gets {
			if at != nil {
				at(i - gets)
			}
			script = append(script, RandomOp(rng, m, "k", 8, 6))
		}
		op := script[i]
		want := m.Apply(op)
		fmt.Fprintln(stdin, scriptLine(op))
		select {
		case got, ok := <-lines:
			if !ok || got != want {
				t.Fatalf("op %d %s: got %q (open %v), want %q", i, scriptLine(op), got, ok, want)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("op %d %s: no answer within 60s", i, scriptLine(op))
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kv script exited with %v", err)
	}
}

// ledgerDirOf returns replica id's only ledger directory.
func (pc *procCluster) ledgerDirOf(id int) string {
	dirs, _ := filepath.Glob(filepath.Join(pc.dir, fmt.Sprintf("replica-%d", id), "ledger", "*"))
	if len(dirs) != 1 {
		pc.t.Fatalf("replica %d has ledgers %v, want one", id, dirs)
	}
	return dirs[0]
}

// copyLedger copies replica id's ledger to to while its processes are stopped
// (SIGSTOP): the copy is what a crash at that moment leaves on disk.
func (pc *procCluster) copyLedger(id int, to string) {
	pgid := pc.reps[id].Process.Pid
	syscall.Kill(-pgid, syscall.SIGSTOP)
	defer syscall.Kill(-pgid, syscall.SIGCONT)
	if err := os.CopyFS(to, os.DirFS(pc.ledgerDirOf(id))); err != nil {
		pc.t.Fatal(err)
	}
}

// replaceLedger puts the older copy in place of replica id's ledger.
func (pc *procCluster) replaceLedger(id int, older string) {
	d := pc.ledgerDirOf(id)
	if err := os.RemoveAll(d); err != nil {
		pc.t.Fatal(err)
	}
	if err := os.CopyFS(d, os.DirFS(older)); err != nil {
		pc.t.Fatal(err)
	}
}

// TestRecoveryModeLeftWhenPeersRun: a restarted replica that heard no peer within its
// grace (its peers stopped with SIGSTOP for that time, as a partition) goes into
// recovery mode; once it sees f+1 peers
// serving its chain it stops with an error saying so, and started again it rejoins
// the running cluster (SPEC §17.8 is for a stopped cluster only).
func TestRecoveryModeLeftWhenPeersRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes and restarts 4; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--members", "1")
	m, rng := Model{}, rand.New(rand.NewPCG(1403, 7))
	pc.checkedOps(m, rng, 30, nil)
	killGroup(pc.reps[3])
	waitGroupGone(t, pc.reps[3].Process.Pid)
	for i := range 3 { // a partition, as replica 3 sees it: its peers do not answer
		syscall.Kill(-pc.reps[i].Process.Pid, syscall.SIGSTOP)
	}
	pc.reps[3] = pc.spawn(3, "replica-3-grace.log", append(pc.replicaCmd(3), "--recovery-grace", "2s")...)
	pc.waitLog("replica-3-grace.log", "the whole cluster stopped", time.Now().Add(60*time.Second))
	for i := range 3 {
		syscall.Kill(-pc.reps[i].Process.Pid, syscall.SIGCONT)
	}
	pc.restartAfterStop(3, "replica-3-grace.log", "serve the configuration chain after all", 60*time.Second, "replica-3-rejoin.log")
	pc.waitEpoch([]int{0, 1, 2, 3}, 1, time.Now().Add(90*time.Second))
	pc.checkedOps(m, rng, 20, nil)
}

// waitLog polls the log file name in the cluster directory until it contains text.
func (pc *procCluster) waitLog(name, text string, deadline time.Time) {
	for {
		log, _ := os.ReadFile(filepath.Join(pc.dir, name))
		if bytes.Contains(log, []byte(text)) {
			return
		}
		if time.Now().After(deadline) {
			pc.t.Fatalf("%s never logged %q:\n%s", name, text, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
