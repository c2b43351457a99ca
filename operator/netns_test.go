package operator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNamespaceCluster is the multi-host test: four network namespaces, one replica
// (broker and three compartment processes) in each, joined by veth links to a bridge
// in a fifth namespace where the client runs. All traffic is on the namespaces'
// 10.77.x.0/24 addresses. The workload runs through `splitbft kv script`; midway a
// backup replica's whole process group is killed; the workload must complete with
// every answer matching the model, and the three survivors must report the same state
// digest at a common checkpoint past the kill. It needs root and a working `ip
// netns`, and skips with a message otherwise.
func TestNamespaceCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes in network namespaces; skipped in -short mode")
	}
	lab := newNetnsLab(t)
	pc := &procCluster{t: t, wrap: lab.wrap}
	pc.start(4, "--hosts", strings.Join(lab.addrs, ","), "--base-port", "7000")
	checkKillAndAgree(t, pc, 2, 2, 240, 80)
	// The replicas' addresses exist only inside the namespaces: from here (the test's
	// own namespace) replica 0 does not answer. (Some sandboxes accept every outbound
	// TCP connection, so the check is for an answer, not for a refused connection.)
	var st ReplicaStatus
	if err := getJSON(context.Background(), lab.addrs[0]+":7002", "/status", time.Second, &st); err == nil {
		t.Errorf("replica 0 answered GET /status on %s:7002 from outside the namespaces: %+v", lab.addrs[0], st)
	}
}

// TestNamespaceRejoin is TestRejoinProcesses across network namespaces (issue 13): a
// backup replica's processes are killed with SIGKILL while a checked workload runs and
// started again with the same command inside its namespace; it fetches the chain from
// its peers over the bridge, has fresh compartments admitted in epoch 1 and catches up,
// and all four replicas then agree on a checkpoint of that epoch.
func TestNamespaceRejoin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes in network namespaces; skipped in -short mode")
	}
	lab := newNetnsLab(t)
	pc := &procCluster{t: t, wrap: lab.wrap}
	pc.start(4, "--hosts", strings.Join(lab.addrs, ","), "--base-port", "7000")
	all := []int{0, 1, 2, 3}
	pc.workload(23, 160, func(i int) {
		switch i {
		case 50:
			pgid := pc.reps[3].Process.Pid
			killGroup(pc.reps[3])
			waitGroupGone(t, pgid)
			pc.reps[3] = pc.spawn(3, "replica-3-restart.log", pc.replicaCmd(3)...)
		case 110: // the rest of the workload runs in the new epoch, so that it checkpoints
			pc.waitEpoch(all, 1, time.Now().Add(60*time.Second))
		}
	})
	seq, digests := pc.agreeingCheckpoint(all, 1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
}

// netnsLab is the namespaces of one test run: replica i in ns[i] with address
// addrs[i], and a hub namespace holding the bridge and the client.
type netnsLab struct {
	t     *testing.T
	ip    string
	ns    []string
	hub   string
	addrs []string
}

// newNetnsLab creates the namespaces and links, registering their removal with
// t.Cleanup before each is created. It skips the test without root or ip netns.
func newNetnsLab(t *testing.T) *netnsLab {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (ip netns); skipping the multi-host test")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		if ip, err = exec.LookPath("/usr/sbin/ip"); err != nil {
			t.Skip("the ip tool (iproute2) is not installed; skipping the multi-host test")
		}
	}
	pid := os.Getpid()
	lab := &netnsLab{t: t, ip: ip, hub: fmt.Sprintf("sbft%d-hub", pid)}
	lab.removeStale()
	if err := lab.add(lab.hub); err != nil {
		t.Skipf("ip netns does not work here (%v); skipping the multi-host test", err)
	}
	subnet := 20 + pid%200 // 10.77.<subnet>.0/24, different for concurrent runs
	lab.must("-n", lab.hub, "link", "add", "br0", "type", "bridge")
	lab.must("-n", lab.hub, "addr", "add", fmt.Sprintf("10.77.%d.100/24", subnet), "dev", "br0")
	lab.must("-n", lab.hub, "link", "set", "br0", "up")
	lab.must("-n", lab.hub, "link", "set", "lo", "up")
	for i := range 4 {
		lab.addReplica(i, subnet)
	}
	return lab
}

// addReplica creates replica i's namespace with eth0 on the hub's bridge.
func (lab *netnsLab) addReplica(i, subnet int) {
	ns := fmt.Sprintf("sbft%d-r%d", os.Getpid(), i)
	if err := lab.add(ns); err != nil {
		lab.t.Fatal(err)
	}
	peer := fmt.Sprintf("v%d", i)
	addr := fmt.Sprintf("10.77.%d.%d", subnet, i+1)
	lab.must("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", peer, "netns", lab.hub)
	lab.must("-n", lab.hub, "link", "set", peer, "master", "br0", "up")
	lab.must("-n", ns, "addr", "add", addr+"/24", "dev", "eth0")
	lab.must("-n", ns, "link", "set", "eth0", "up")
	lab.must("-n", ns, "link", "set", "lo", "up")
	lab.ns, lab.addrs = append(lab.ns, ns), append(lab.addrs, addr)
}

// add creates namespace name, registering its deletion first.
func (lab *netnsLab) add(name string) error {
	lab.t.Cleanup(func() { exec.Command(lab.ip, "netns", "del", name).Run() })
	if out, err := exec.Command(lab.ip, "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	return nil
}

// must runs ip with args and fails the test on error.
func (lab *netnsLab) must(args ...string) {
	if out, err := exec.Command(lab.ip, args...).CombinedOutput(); err != nil {
		lab.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// wrap runs argv inside replica ns's namespace, or the hub's for ns < 0.
func (lab *netnsLab) wrap(ns int, argv []string) []string {
	name := lab.hub
	if ns >= 0 {
		name = lab.ns[ns]
	}
	return append([]string{lab.ip, "netns", "exec", name}, argv...)
}

// removeStale deletes namespaces left by earlier runs of this test whose process is
// gone (a run killed before its cleanup). Their replicas died with that process
// (Pdeathsig).
func (lab *netnsLab) removeStale() {
	out, err := exec.Command(lab.ip, "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, "sbft")
		digits, _, dash := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(digits)
		if !ok || !dash || err != nil || pid == os.Getpid() {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			exec.Command(lab.ip, "netns", "del", name).Run()
		}
	}
}
