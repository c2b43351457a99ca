package operator

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// The adversarial suite (issue 15): attacks by someone who holds no key of the
// cluster, and by one faulty registered client, against a 4-replica process cluster
// on 127.0.0.1. Each attack runs while clients measure throughput; baseline rounds
// (no attack) are interleaved with attack rounds in the same run, and each attack's
// throughput is reported as a ratio to the mean of the baselines around it, with the
// view changes it caused and each broker's peak memory and descriptors.
//
// Short form (`go test ./operator -run TestAttacks`, the CI form): 3 rounds of 3 s
// per attack, and 2 more when the median misses the target; the median round's
// ratio is asserted (the machine is shared, so single rounds are noisy: an attack
// that works slows every round, other work on the machine only some; the brokers'
// CPU seconds per operation, reported beside, show what an attack costs them).
// Long form: SPLITBFT_ATTACK_LONG=1 go test ./operator -run TestAttacks -timeout 30m
// (20 s rounds, 3 rounds per attack). SPLITBFT_ATTACKS=word runs only the attacks
// whose name contains word. Skipped in -short mode (it starts 16 processes).

// attackPlan is the size of one run.
type attackPlan struct {
	round   time.Duration // one measurement round
	rounds  int           // attack rounds per attack
	clients int           // measuring clients
	flood   int           // signed requests the flooding client sends per round
}

func planFromEnv() attackPlan {
	if os.Getenv("SPLITBFT_ATTACK_LONG") != "" {
		return attackPlan{round: 20 * time.Second, rounds: 3, clients: 3, flood: 20000}
	}
	return attackPlan{round: 3 * time.Second, rounds: 3, clients: 3, flood: 3000}
}

// Targets of issue 15.
const (
	minRatio      = 0.8 // attacker without keys: throughput ≥ 0.8 of baseline
	minFloodRatio = 0.7 // one flooding registered client or faulty replica's broker: the others ≥ 0.7
	maxRSS        = 256 << 20
	// maxFDs bounds a broker's descriptors: 1,024 client connections, 64 waiting
	// peer connections, 64 status connections, its links and files.
	maxFDs = 1024 + 64 + 64 + 64
)

// attack is one attack: start begins it against the cluster and returns a stop
// function that ends it and waits for its goroutines.
type attack struct {
	name  string
	flood bool // a registered client's attack (target minFloodRatio)
	start func(t *testing.T, pc *procCluster) (stop func())
}

// roundSample is what one round measured.
type roundSample struct {
	opsPerSec float64
	views     uint64   // view changes during the round (max conf view increase)
	brokerCPU float64  // CPU seconds per second used by the broker processes together
	rss, fds  []uint64 // per broker: peak RSS (VmHWM) and peak descriptors
}

func TestAttacks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes; skipped in -short mode")
	}
	plan := planFromEnv()
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--clients", strconv.Itoa(plan.clients+1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kvs := pc.connect(ctx, 1, plan.clients)
	attacks := []attack{
		{name: "forged peer hellos and hints (plain TCP)", start: plainPeerFlood},
		{name: "peer handshakes with an unknown key", start: strangerPeerFlood},
		{name: "client port: impersonation and partial 16 MiB frames", start: clientSlowloris},
		{name: "status port: idle keep-alive connections", start: statusHog},
		{name: "one registered client flooding signed requests", flood: true, start: floodingClient(plan.clients+1, plan.flood)},
		{name: "one registered client flooding attaches (bad signatures, unknown ids)", flood: true, start: attachFlood(plan.clients+1, plan.clients)},
		{name: "faulty replica 3's broker relaying junk requests", flood: true, start: faultyPeerFlood},
	}
	if only := os.Getenv("SPLITBFT_ATTACKS"); only != "" { // e.g. SPLITBFT_ATTACKS=status
		attacks = slices.DeleteFunc(attacks, func(a attack) bool { return !strings.Contains(a.name, only) })
	}
	base := pc.measure(ctx, kvs, plan.round, "base0", nil)
	t.Logf("baseline: %.0f ops/s", base.opsPerSec)
	for _, a := range attacks {
		var ratios, cpuRatios []float64
		var worst roundSample
		target := minRatio
		if a.flood {
			target = minFloodRatio
		}
		// Two more rounds when the median misses the target: an attack that works
		// slows every round, a burst of other work on the machine only some.
		for r := 0; r < plan.rounds || (r < plan.rounds+2 && median(ratios) < target); r++ {
			got := pc.measure(ctx, kvs, plan.round, fmt.Sprintf("%s-%d", a.name[:5], r), &a)
			after := pc.measure(ctx, kvs, plan.round, fmt.Sprintf("base-%s-%d", a.name[:5], r), nil)
			ratios = append(ratios, got.opsPerSec/((base.opsPerSec+after.opsPerSec)/2))
			cpuRatios = append(cpuRatios, cpuPerOp(got)/((cpuPerOp(base)+cpuPerOp(after))/2))
			base = after
			worst = worse(worst, got)
		}
		ratio := median(ratios)
		t.Logf("%-55s ratio %.2f (rounds %v) view changes %d peak RSS MiB %v peak fds %v; broker CPU per op %.2f× baseline's",
			a.name, ratio, fmtRatios(ratios), worst.views, mib(worst.rss), worst.fds, median(cpuRatios))
		checkTargets(t, a.name, ratio, target, worst)
	}
	primaryCrashUnderForgedHints(ctx, t, pc, kvs[0])
}

// primaryCrashUnderForgedHints kills the primary's replica while forged peer
// connections keep sending "ahead" hints (finding 2), and checks that the survivors
// replace it: a request completes, in a higher view, within the client's timeout.
func primaryCrashUnderForgedHints(ctx context.Context, t *testing.T, pc *procCluster, kv Doer) {
	v := pc.maxView()
	stop1, stop2 := plainPeerFlood(t, pc), strangerPeerFlood(t, pc)
	defer stop1()
	defer stop2()
	victim := int(v % uint64(len(pc.reps)))
	killGroup(pc.reps[victim])
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := kv.Do(rctx, [][]byte{client.PutOp([]byte("after-crash"), []byte("v"))}); err != nil {
		t.Fatalf("primary %d crashed under forged hints: no request completed within 20s: %v", victim, err)
	}
	took := time.Since(start)
	pc.reps = append(pc.reps[:victim:victim], pc.reps[victim+1:]...) // no longer sampled
	if nv := pc.maxView(); nv <= v {
		t.Errorf("after the primary's crash the view is %d, was %d", nv, v)
	}
	t.Logf("primary %d crashed under forged hints: replaced, first request completed after %s", victim, took.Round(time.Millisecond))
}

// checkTargets asserts the targets for one attack.
func checkTargets(t *testing.T, name string, ratio, target float64, s roundSample) {
	t.Helper()
	if ratio < target {
		t.Errorf("%s: throughput %.2f of baseline, target ≥ %.2f", name, ratio, target)
	}
	if s.views != 0 {
		t.Errorf("%s: %d view changes", name, s.views)
	}
	for i := range s.rss {
		if s.rss[i] > maxRSS || s.fds[i] > maxFDs {
			t.Errorf("%s: broker %d peaked at %d MiB and %d descriptors (bounds %d MiB, %d)", name, i, s.rss[i]>>20, s.fds[i], maxRSS>>20, maxFDs)
		}
	}
}

// connect connects clients first..first+n−1 of the cluster.
func (pc *procCluster) connect(ctx context.Context, first, n int) []Doer {
	var out []Doer
	for id := first; id < first+n; id++ {
		kv, err := Connect(ctx, KVOptions{Dir: pc.dir, ID: uint64(id), Wait: time.Minute, Stderr: io.Discard, Quiet: true, Timeout: 20 * time.Second})
		if err != nil {
			pc.t.Fatalf("client %d: %v", id, err)
		}
		pc.t.Cleanup(func() { kv.Close() })
		out = append(out, kv)
	}
	return out
}

// measure runs one round of the clients' workload, with attack a running if not nil,
// and samples the brokers' processes meanwhile.
func (pc *procCluster) measure(ctx context.Context, kvs []Doer, d time.Duration, prefix string, a *attack) roundSample {
	t := pc.t
	v0 := pc.maxView()
	var stop func()
	if a != nil {
		stop = a.start(t.(*testing.T), pc)
	}
	done := make(chan struct{})
	var s roundSample
	b0, t0 := pc.brokerTicks(), time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { s.rss, s.fds = pc.sampleProcs(done) })
	res := RunBench(ctx, kvs, BenchOptions{Duration: d, Prefix: fmt.Sprintf("%s-%d/", prefix, time.Now().UnixNano()), Seed: 1, RequestTimeout: 20 * time.Second})
	if stop != nil {
		stop()
	}
	close(done)
	wg.Wait()
	if res.Failed > 0 || res.Wrong > 0 {
		t.Fatalf("round %s: %d failed (first: %v), %d wrong (first: %s)", prefix, res.Failed, res.FirstFailure, res.Wrong, res.FirstWrong)
	}
	s.opsPerSec = float64(res.Ops) / res.Elapsed.Seconds()
	secs := time.Since(t0).Seconds() * 100 // clock ticks (USER_HZ 100) per second
	s.brokerCPU = float64(pc.brokerTicks()-b0) / secs
	s.views = pc.maxView() - v0
	return s
}

// maxView is the highest conf view any replica reports.
func (pc *procCluster) maxView() uint64 {
	var v uint64
	for _, e := range pc.status() {
		if e.Status != nil {
			v = max(v, e.Status.Compartments[spec.RoleConf].View)
		}
	}
	return v
}

// sampleProcs samples each broker process's peak RSS and descriptors until done.
func (pc *procCluster) sampleProcs(done <-chan struct{}) (rss, fds []uint64) {
	rss, fds = make([]uint64, len(pc.reps)), make([]uint64, len(pc.reps))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, c := range pc.reps {
			rss[i] = max(rss[i], peakRSS(c.Process.Pid))
			if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.Process.Pid)); err == nil {
				fds[i] = max(fds[i], uint64(len(ents)))
			}
		}
		select {
		case <-done:
			return rss, fds
		case <-tick.C:
		}
	}
}

// brokerTicks is the CPU time (user + system, clock ticks) of the broker processes.
func (pc *procCluster) brokerTicks() uint64 {
	var n uint64
	for _, c := range pc.reps {
		n += procTicks(strconv.Itoa(c.Process.Pid))
	}
	return n
}

// procTicks is a process's user + system CPU time in clock ticks (0 if unreadable).
func procTicks(pid string) uint64 {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields from 3 (state) on
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	k, _ := strconv.ParseUint(f[12], 10, 64)
	return u + k
}

// peakRSS is a process's VmHWM in bytes (0 if unreadable).
func peakRSS(pid int) uint64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func worse(a, b roundSample) roundSample {
	if a.rss == nil {
		return b
	}
	for i := range a.rss {
		a.rss[i], a.fds[i] = max(a.rss[i], b.rss[i]), max(a.fds[i], b.fds[i])
	}
	a.views = max(a.views, b.views)
	a.brokerCPU = max(a.brokerCPU, b.brokerCPU)
	return a
}

// cpuPerOp is the brokers' CPU seconds per operation of a round.
func cpuPerOp(s roundSample) float64 { return s.brokerCPU / max(s.opsPerSec, 1) }

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s { // tiny: insertion sort
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

func fmtRatios(xs []float64) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.2f", x)
	}
	return b.String()
}

func mib(xs []uint64) []uint64 {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		out[i] = x >> 20
	}
	return out
}

// addrs returns every replica's address of one port kind from the template.
func (pc *procCluster) addrs(kind string) []string {
	tmpl, err := LoadTemplate(pc.dir)
	if err != nil {
		pc.t.Fatal(err)
	}
	var out []string
	for _, r := range tmpl.Replicas {
		out = append(out, map[string]string{"peer": r.Peer, "client": r.Client, "status": r.Status}[kind])
	}
	return out
}

// repeat runs f every period on its own goroutine until the returned stop is called.
func repeat(period time.Duration, f func()) func() {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				f()
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// holder keeps attack connections open until closed.
type holder struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (h *holder) dial(addr string) net.Conn {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns = append(h.conns, c)
	return c
}

func (h *holder) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
}
