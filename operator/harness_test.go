package operator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file is the harness of the process-level cluster tests: the splitbft binary and
// the compartment binaries built once, replicas started as real processes (each in
// its own process group, so that a test can kill a replica with its compartments),
// and the workload driven through `splitbft kv script`.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds splitbft and every compartment binary once into a temporary
// directory and returns it. It skips the test when the go tool is unavailable.
func binaries(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not available: cannot build the binaries")
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "operator-bin-"); buildErr != nil {
			return
		}
		cmd := exec.Command(goTool, "build", "-o", binDir, "./cmd/splitbft", "./prep-a/cmd/prep-a", "./prep-b/cmd/prep-b",
			"./conf-a/cmd/conf-a", "./conf-b/cmd/conf-b", "./exec/cmd/exec", "./gateway/cmd/gateway")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building the binaries: %v", buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// procCluster is a cluster of replica processes under test.
type procCluster struct {
	t    testing.TB
	dir  string                               // cluster directory
	bin  string                               // binaries
	wrap func(ns int, argv []string) []string // runs argv in replica ns's network (ns = -1: the client's)
	reps []*exec.Cmd
	// replicaArgs are extra flags of every `splitbft replica`.
	replicaArgs []string
}

// start inits the cluster with extra init flags and starts every replica.
func (pc *procCluster) start(n int, initArgs ...string) {
	t := pc.t
	pc.bin = binaries(t)
	pc.dir = filepath.Join(t.TempDir(), "cluster")
	args := append([]string{"init", "--dir", pc.dir, "--allow-dev-insecure", "--k", "8", "--l", "32"}, initArgs...)
	if out, err := exec.Command(filepath.Join(pc.bin, "splitbft"), args...).CombinedOutput(); err != nil {
		t.Fatalf("splitbft init: %v\n%s", err, out)
	}
	for i := range n {
		pc.reps = append(pc.reps, pc.spawn(i, fmt.Sprintf("replica-%d.log", i), pc.replicaCmd(i)...))
	}
}

// replicaCmd is the `splitbft replica` command line of replica i (the same for a
// restart).
func (pc *procCluster) replicaCmd(i int) []string {
	return append([]string{"replica", "--dir", pc.dir, "--id", strconv.Itoa(i), "--bin-dir", pc.bin}, pc.replicaArgs...)
}

// spawn starts splitbft args in network ns, in its own process group, logging to
// logName in the cluster directory; cleanup kills the group.
func (pc *procCluster) spawn(ns int, logName string, args ...string) *exec.Cmd {
	t := pc.t
	argv := pc.wrap(ns, append([]string{filepath.Join(pc.bin, "splitbft")}, args...))
	cmd := exec.Command(argv[0], argv[1:]...)
	log, err := os.Create(filepath.Join(pc.dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	// Pdeathsig: if this test process dies, so do its replicas (and, by their own
	// Pdeathsig, their compartments), whatever namespace they run in.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	t.Cleanup(func() {
		killGroup(cmd)
		log.Close()
		if t.Failed() {
			tail, _ := os.ReadFile(log.Name())
			t.Logf("---- %s (last 3000 bytes) ----\n%s", logName, tail[max(0, len(tail)-3000):])
		}
	})
	return cmd
}

// killGroup kills cmd's whole process group (the replica and its compartments) and
// reaps cmd. It is idempotent.
func killGroup(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
}

// script runs `splitbft kv script` for client 1 in the client's network and returns
// its stdin and a channel of its result lines.
func (pc *procCluster) script() (io.WriteCloser, <-chan string, *exec.Cmd) {
	t := pc.t
	argv := pc.wrap(-1, []string{filepath.Join(pc.bin, "splitbft"), "kv", "--dir", pc.dir, "--client", "1", "--wait", "60s", "script"})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		killGroup(cmd)
		if t.Failed() {
			t.Logf("---- kv script stderr ----\n%s", stderr.String())
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return stdin, lines, cmd
}

// workload writes ops drawn from seed to the script one at a time, checks every
// answer against a Model, and calls at(i) before op i.
func (pc *procCluster) workload(seed uint64, ops int, at func(i int)) {
	pc.workloadWhile(seed, func(i int) bool {
		if i < ops {
			at(i)
		}
		return i < ops
	}, ops+1)
}

// scriptLine renders op as a script line.
func scriptLine(op Op) string {
	q := func(b []byte) string { return strconv.Quote(string(b)) }
	switch op.Verb {
	case "put", "cas-absent":
		return op.Verb + " " + q(op.Key) + " " + q(op.Value)
	case "cas":
		return "cas " + q(op.Key) + " " + q(op.Expected) + " " + q(op.Value)
	}
	return op.Verb + " " + q(op.Key)
}

// statusEntry is one element of `splitbft status --json`.
type statusEntry struct {
	Replica uint64         `json:"replica"`
	Status  *ReplicaStatus `json:"status"`
	Error   string         `json:"error"`
}

// status runs `splitbft status --json` in the client's network and returns its
// replicas.
func (pc *procCluster) status() []statusEntry {
	argv := pc.wrap(-1, []string{filepath.Join(pc.bin, "splitbft"), "status", "--dir", pc.dir, "--json", "--timeout", "2s"})
	out, _ := exec.Command(argv[0], argv[1:]...).Output() // exit 1 or 2 with a dead replica
	var doc struct {
		Replicas []statusEntry `json:"replicas"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		pc.t.Fatalf("splitbft status --json: %v\n%s", err, out)
	}
	return doc.Replicas
}

// summary describes st in one line per replica (phase, epoch, errors, and each
// compartment's liveness and progress), short enough that a CI log's excerpt of a
// failure keeps the replicas' log tails that follow it.
func summary(st []statusEntry) string {
	var b strings.Builder
	for _, e := range st {
		fmt.Fprintf(&b, "replica %d: ", e.Replica)
		if e.Status == nil {
			fmt.Fprintf(&b, "no status (%s)\n", e.Error)
			continue
		}
		s := e.Status
		fmt.Fprintf(&b, "%s, epoch %d from %d, config %.16s, admitted %d, primary %d", s.Phase, s.Epoch, s.EpochStart, s.ConfigDigest, s.Admitted, s.Primary)
		if s.Error != "" {
			fmt.Fprintf(&b, ", error %q", s.Error)
		}
		for _, c := range s.Compartments {
			fmt.Fprintf(&b, "; %s %s alive=%v configured=%v view %d last %d stable %d", c.Role, c.Build, c.Alive, c.Configured, c.View, c.Last, c.Stable)
			if c.Error != "" {
				fmt.Fprintf(&b, " (%s)", c.Error)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// agreeingCheckpoint polls until every replica in live reports an own checkpoint at
// one common sequence number at least min, and returns the digests they report there.
func (pc *procCluster) agreeingCheckpoint(live []int, min uint64, deadline time.Time) (uint64, map[int]string) {
	for {
		st := pc.status()
		if seq, digests, ok := commonCheckpoint(st, live, min); ok {
			return seq, digests
		}
		if time.Now().After(deadline) {
			pc.t.Fatalf("replicas %v never reported a common checkpoint ≥ %d:\n%s", live, min, summary(st))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// commonCheckpoint finds the highest sequence number ≥ min at which every replica in
// live reports an own checkpoint.
func commonCheckpoint(st []statusEntry, live []int, min uint64) (uint64, map[int]string, bool) {
	counts := map[uint64]int{}
	for _, i := range live {
		if st[i].Status == nil {
			return 0, nil, false
		}
		for _, cp := range st[i].Status.Checkpoints {
			counts[cp.Seq]++
		}
	}
	var best uint64
	for seq, c := range counts {
		if c == len(live) && seq >= min && seq > best {
			best = seq
		}
	}
	if best == 0 {
		return 0, nil, false
	}
	digests := map[int]string{}
	for _, i := range live {
		for _, cp := range st[i].Status.Checkpoints {
			if cp.Seq == best {
				digests[i] = cp.State
			}
		}
	}
	return best, digests, true
}

// lockedBuffer is a goroutine-safe strings.Builder.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
