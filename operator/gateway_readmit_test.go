package operator

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/gateway"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// TestGatewayChanges: re-admitting a gateway replaces the registration of each of its
// ids that the configuration holds (remove, then add with the attested keys), adds
// those it does not, and refuses a gateway already registered with its keys.
func TestGatewayChanges(t *testing.T) {
	const seed = 71
	tc, err := testcluster.New(seed, testcluster.Options{Clients: []uint64{100}, Admit: broker.AdmitKey})
	if err != nil {
		t.Fatal(err)
	}
	enroll := func(s uint64) *spec.GatewayEnrollment {
		e, err := gateway.Enroll(spec.TestStream("gateway", s), 1, []uint64{200, 201}, []string{"127.0.0.1"}, time.Unix(1.7e9, 0), attest.DevInsecure{})
		if err != nil {
			t.Fatal(err)
		}
		return &e.Attestation.Enrollment
	}
	old, restarted := enroll(seed), enroll(seed+1)
	withOld := *tc.Config
	withOld.Clients = append(slices.Clone(tc.Config.Clients), old.Registrations()...)
	reg := restarted.Registrations()
	remove := func(id uint64) spec.Change {
		return spec.Change{Op: spec.ChangeRemoveClient, Client: spec.ClientConfig{ID: id}}
	}
	add := func(c spec.ClientConfig) spec.Change { return spec.Change{Op: spec.ChangeAddClient, Client: c} }

	got, err := GatewayChanges(restarted, &withOld)
	if want := []spec.Change{remove(200), add(reg[0]), remove(201), add(reg[1])}; err != nil || !cmp.Equal(got, want) {
		t.Errorf("seed %d: replacing the old gateway: %v, diff (-want +got):\n%s", seed, err, cmp.Diff(want, got))
	}
	got, err = GatewayChanges(restarted, tc.Config)
	if want := []spec.Change{add(reg[0]), add(reg[1])}; err != nil || !cmp.Equal(got, want) {
		t.Errorf("seed %d: a gateway never registered: %v, diff (-want +got):\n%s", seed, err, cmp.Diff(want, got))
	}
	if _, err := GatewayChanges(old, &withOld); !errors.Is(err, ErrGatewayRegistered) {
		t.Errorf("seed %d: the registered gateway: %v, want ErrGatewayRegistered", seed, err)
	}
	// Half re-admitted: id 200 with the new keys, 201 with the old ones.
	half := *tc.Config
	half.Clients = append(slices.Clone(tc.Config.Clients), reg[0], old.Registrations()[1])
	got, err = GatewayChanges(restarted, &half)
	if want := []spec.Change{remove(200), add(reg[0]), remove(201), add(reg[1])}; err != nil || !cmp.Equal(got, want) {
		t.Errorf("seed %d: half re-admitted: %v, diff (-want +got):\n%s", seed, err, cmp.Diff(want, got))
	}
	short := *restarted
	short.SignKeys = short.SignKeys[:1]
	if _, err := GatewayChanges(&short, tc.Config); err == nil || !strings.Contains(err.Error(), "2 client ids, 1 sign keys") {
		t.Errorf("seed %d: an enrollment with fewer keys than ids: %v", seed, err)
	}
}

// TestCheckReadmissions: re-admitting the gateway of a replica that runs none, or
// together with a change that adds or removes one of its ids, is refused up front.
func TestCheckReadmissions(t *testing.T) {
	tmpl := &Template{N: 4, F: 1, Replicas: make([]ReplicaTemplate, 4)}
	tmpl.Replicas[1].Redis, tmpl.Replicas[1].GatewayClients = "127.0.0.1:6381", []uint64{200, 201}
	for _, c := range []struct {
		name     string
		gateways []uint64
		changes  []spec.Change
		want     string // "": accepted
	}{
		{"one gateway", []uint64{1}, []spec.Change{{Op: spec.ChangeAddClient, Client: spec.ClientConfig{ID: 66}}}, ""},
		{"no gateway", []uint64{2}, nil, "replica 2 runs no gateway"},
		{"out of range", []uint64{4}, nil, "replica 4 runs no gateway"},
		{"its id removed too", []uint64{1}, []spec.Change{{Op: spec.ChangeRemoveClient, Client: spec.ClientConfig{ID: 201}}}, "client 201 is replica 1's gateway's"},
		{"its id added too", []uint64{1}, []spec.Change{{Op: spec.ChangeAddClient, Client: spec.ClientConfig{ID: 200}}}, "client 200 is replica 1's gateway's"},
	} {
		err := CheckReadmissions(tmpl, c.gateways, c.changes)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestGatewayReadmitted (processes): replica 1 is killed with its gateway and started
// again. It rejoins, and its new gateway, which has new identities, serves nothing
// until the governance members re-admit it (`splitbft propose --readmit-gateway 1`,
// SPEC.md §16.2); then it answers and reads what was written before the crash, and a
// second re-admission is refused as there is nothing to re-admit. Then replica 2's
// gateway process alone is killed: the replica starts another, which serves once
// re-admitted.
func TestGatewayReadmitted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 processes and restarts 6; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	base := freeBase(t, 16)
	pc.start(4, "--base-port", strconv.Itoa(base), "--redis-port", strconv.Itoa(base+12), "--members", "1")
	gw := func(i int) string { return "127.0.0.1:" + strconv.Itoa(base+12+i) }
	answers := func(addr, req, want string, within time.Duration) {
		t.Helper()
		var got string
		var err error
		for deadline := time.Now().Add(within); ; {
			if got, err = respExchange(addr, req); got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("gateway %s never answered %q with %q (last %q, %v)\n%s", addr, req, want, got, err, summary(pc.status()))
			}
			time.Sleep(200 * time.Millisecond) // polling: formation, or the epoch that admits the gateway
		}
	}
	answers(gw(1), "SET before v0\r\n", "+OK\r\n", 90*time.Second)
	// writes writes key prefix+k = value+k through gateway i, k = 0..7, and reads each
	// back through gateway j: sequential requests spread over the gateway's identities,
	// so that a restarted gateway's first requests reuse timestamps its predecessor's
	// identities used (the execs must not answer them from their client table).
	writes := func(i, j int, prefix, value string) {
		t.Helper()
		for k := range 8 {
			key, val := prefix+strconv.Itoa(k), value+strconv.Itoa(k)
			answers(gw(i), "SET "+key+" "+val+"\r\n", "+OK\r\n", 60*time.Second)
			want := "$" + strconv.Itoa(len(val)) + "\r\n" + val + "\r\n"
			if got, err := respExchange(gw(j), "GET "+key+"\r\n"); got != want {
				t.Fatalf("GET %s through gateway %d after a SET through gateway %d: %q, %v; want %q", key, j, i, got, err, want)
			}
		}
	}
	writes(1, 2, "r", "old")

	pgid := pc.reps[1].Process.Pid
	killGroup(pc.reps[1])
	waitGroupGone(t, pgid)
	pc.reps[1] = pc.spawn(1, "replica-1-restart.log", pc.replicaCmd(1)...)
	all := []int{0, 1, 2, 3}
	pc.waitEpoch(all, 1, time.Now().Add(90*time.Second)) // replica 1 rejoined: its compartments are admitted in epoch 1

	tmpl, err := LoadTemplate(pc.dir)
	if err != nil {
		t.Fatal(err)
	}
	v := attest.DefaultVerifier()
	// awaitNew polls until replica i serves the attestation of a gateway that the
	// configuration does not register: the new gateway started (and bound its port).
	awaitNew := func(i uint64) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; {
			cfg, err := FetchConfig(context.Background(), tmpl, v, 2*time.Second)
			if err == nil {
				if _, _, err = ReadmitGateway(context.Background(), tmpl, i, cfg, v, 2*time.Second); err == nil {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d never served the attestation of a new gateway: %v", i, err)
			}
			time.Sleep(200 * time.Millisecond) // polling: the replica starts its gateway (again, after a pause)
		}
	}
	awaitNew(1)
	if got, err := respExchange(gw(1), "SET after v1\r\n"); got != "" {
		t.Fatalf("the restarted gateway answered %q (%v) before it was re-admitted", got, err)
	}
	if st := pc.status()[1].Status; st == nil || !strings.Contains(st.GatewayError, "waiting for re-admission") {
		t.Fatalf("replica 1's status does not say its gateway waits for re-admission: %+v", st)
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(pc.bin, "splitbft"), args...).CombinedOutput()
		return string(out), err
	}
	readmit := []string{"propose", "--dir", pc.dir, "--client", "1", "--member-key", MemberKeyPath(pc.dir, 0), "--readmit-gateway", "1"}
	if out, err := run(readmit...); err != nil || !strings.Contains(out, "accepted: the cluster moves to epoch 2") {
		t.Fatalf("splitbft %s: %v\n%s", strings.Join(readmit, " "), err, out)
	}
	writes(1, 2, "r", "new")
	answers(gw(1), "SET after v1\r\n", "+OK\r\n", 60*time.Second)
	if got, err := respExchange(gw(1), "GET before\r\n"); got != "$2\r\nv0\r\n" {
		t.Fatalf("GET before through the re-admitted gateway: %q, %v", got, err)
	}
	if got, err := respExchange(gw(2), "GET after\r\n"); got != "$2\r\nv1\r\n" {
		t.Fatalf("GET after through replica 2's gateway: %q, %v", got, err)
	}
	if out, err := run(readmit...); err == nil || !strings.Contains(out, "already registers them") {
		t.Fatalf("a second re-admission: %v\n%s\nwant a failure saying the configuration already registers them", err, out)
	}

	// Replica 2's gateway process alone dies: replica 2 starts another (new
	// identities), which serves once re-admitted.
	writes(2, 1, "s", "old")
	pid := childPID(t, pc.reps[2].Process.Pid, "gateway")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	awaitNew(2)
	readmit[len(readmit)-1] = "2"
	if out, err := run(readmit...); err != nil || !strings.Contains(out, "accepted: the cluster moves to epoch 3") {
		t.Fatalf("splitbft %s: %v\n%s", strings.Join(readmit, " "), err, out)
	}
	answers(gw(2), "GET after\r\n", "$2\r\nv1\r\n", 60*time.Second)
	writes(2, 1, "s", "new")
}

// childPID returns the pid of the child of process ppid whose command name is comm,
// failing the test when there is none.
func childPID(t *testing.T, ppid int, comm string) int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
		open, end := strings.IndexByte(string(raw), '('), strings.LastIndexByte(string(raw), ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(raw[end+1:]))
		if string(raw[open+1:end]) != comm || len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw[:open])))
		if err == nil {
			return pid
		}
	}
	t.Fatalf("process %d has no child %q", ppid, comm)
	return 0
}
