package operator

import (
	"crypto/ed25519"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// TestForgedConfigProcesses is issue 13's "a replica serving a forged configuration
// does not stop clients" (SPEC §13.4, §17.7): replica 3 is killed and a fake status
// server takes its port, serving a chain with forged epoch changes (epochs 1 to 3, votes
// signed by a key no configuration holds) and a forged /config. While the checked
// workload runs, the real cluster moves to epoch 1 (a recovery on replica 1): the
// running `kv script` follows the real chain, a `kv` client started afterwards finds
// the real configuration among the copies, and the fake server was asked (so the
// forgery was seen and ignored, not merely missed).
func TestForgedConfigProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	tmpl, err := LoadTemplate(pc.dir)
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int64
	pc.workloadWhile(31, func(i int) bool {
		switch i {
		case 20:
			pgid := pc.reps[3].Process.Pid
			killGroup(pc.reps[3])
			waitGroupGone(t, pgid)
			serveForged(t, tmpl.Replicas[3].Status, pc.dir, &asked)
		case 40:
			pc.recover(1, spec.RolePrep, tmpl.Replicas[1].Prep)
		case 120:
			return false
		}
		return true
	}, 200)
	live := []int{0, 1, 2}
	pc.waitEpoch(live, 1, time.Now().Add(60*time.Second))
	argv := []string{filepath.Join(pc.bin, "splitbft"), "kv", "--dir", pc.dir, "--client", "2", "--wait", "30s"}
	for _, c := range []struct {
		args []string
		want string
	}{{[]string{"put", "fresh", "client"}, "ok"}, {[]string{"get", "fresh"}, "client"}} {
		args := c.args
		out, err := exec.Command(argv[0], append(argv[1:], args...)...).Output()
		if err != nil || strings.TrimSpace(string(out)) != c.want {
			t.Fatalf("kv %v with a forged replica: %v\n%s", args, err, out)
		}
	}
	if asked.Load() == 0 {
		t.Fatal("no client asked the forged replica: the test did not test anything")
	}
	seq, digests := pc.agreeingCheckpoint(live, pc.status()[0].Status.EpochStart+1, time.Now().Add(60*time.Second))
	for _, i := range live {
		if digests[i] != digests[0] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
	t.Logf("the forged replica was asked %d times; clients followed the real chain to epoch 1", asked.Load())
}

// serveForged serves, on addr (a dead replica's status port), a chain from the real
// genesis with three forged epoch changes (votes signed by a key no configuration
// holds) and the forged configuration they reach, counting requests.
func serveForged(t *testing.T, addr, dir string, asked *atomic.Int64) {
	genesis, err := os.ReadFile(filepath.Join(dir, "replica-0", GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	var next spec.Config
	if err := spec.Decode(genesis, &next, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	_, forger, _ := ed25519.GenerateKey(nil)
	var changes []spec.Step
	for range 3 { // longer than the real chain, so that a client must verify to refuse it
		next.Epoch, next.Prev, next.StartSeq = next.Epoch+1, spec.ConfigDigest(&next), next.StartSeq+1
		ec := spec.EpochChange{Config: spec.Encode(&next)}
		for i := range next.Quorum() {
			b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: uint64(i)}
			var sig spec.Signature
			copy(sig[:], ed25519.Sign(forger, spec.SignedBytes(spec.DomainEpochVote, next.Prev, spec.Encode(&b))))
			ec.Votes = append(ec.Votes, spec.EpochVote{Body: b, Sig: sig})
		}
		changes = append(changes, spec.ChangeStep(ec))
	}
	chain := spec.Encode(&Chain{Genesis: genesis, Changes: changes})
	forgedCfg := spec.Encode(&next)
	mux := http.NewServeMux()
	mux.HandleFunc("/chain", func(w http.ResponseWriter, _ *http.Request) { asked.Add(1); w.Write(chain) })
	mux.HandleFunc("/config", func(w http.ResponseWriter, _ *http.Request) { asked.Add(1); w.Write(forgedCfg) })
	var l net.Listener
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead replica's status port %s: %v", addr, err)
		}
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}
