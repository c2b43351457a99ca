package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/client"
)

const devInsecureBanner = `WARNING: dev-insecure cluster. Every compartment runs in this process, outside any
enclave: there is NO TEE protection and the host can read all keys and client data.
This demonstrates the protocol, not the trusted-execution guarantees.
`

type demoFlags struct {
	duration  time.Duration
	clients   int
	ops       int
	valueSize int
	keys      int
	impl      string
	f         int
	k, l      int
	batch     int
	quiet     bool
	kill      time.Duration // -kill-primary: stop the primary's replica after this long (0: never)
	redis     bool          // -redis: serve Redis gateways instead of running the workload
	redisPort int           // -redis-port: replica i's gateway listens on this + i (0: any free port)
}

const demoUsage = `usage: splitbft demo [flags]

Starts n = 3f+1 replicas in this process (dev-insecure: no enclave, NO TEE protection;
replica i runs a mix of the a and b builds), has -clients clients run a key-value
workload for -duration with a live progress line, checks every result against a
sequential model of the store, drives the cluster to a checkpoint and checks that every
live replica's Execution enclave certified the same state digest. It ends with one
PASS line saying what was proven, or exits 1.

example:
  splitbft demo
  splitbft demo -clients 16 -ops 16 -duration 10s
  splitbft demo -kill-primary 2s
  splitbft demo -redis          # then: redis-cli -p 6380`

func parseDemoFlags(args []string, stdout, stderr io.Writer) (*demoFlags, error) {
	fs := newFlagSet("demo", demoUsage, stderr)
	d := &demoFlags{}
	fs.DurationVar(&d.duration, "duration", 5*time.Second, "how long the workload runs")
	fs.IntVar(&d.clients, "clients", 8, "concurrent clients")
	fs.IntVar(&d.ops, "ops", 1, "operations per signed request (1..16)")
	fs.IntVar(&d.valueSize, "value-size", 10, "bytes per written value")
	fs.IntVar(&d.keys, "keys", 64, "keys per client")
	fs.StringVar(&d.impl, "impl", "mixed", "prep/conf implementations: a, b or mixed")
	fs.IntVar(&d.f, "f", 1, "faults tolerated per compartment type (n = 3f+1)")
	fs.IntVar(&d.k, "checkpoint", 16, "checkpoint interval K in batches")
	fs.IntVar(&d.l, "window", 64, "window L in batches (a multiple of K, ≥ 2K)")
	fs.IntVar(&d.batch, "batch", 200, "maximum requests per batch")
	fs.BoolVar(&d.quiet, "quiet", false, "no live progress line")
	fs.DurationVar(&d.kill, "kill-primary", 0, "stop the primary's replica (broker and enclaves) after this long, to show a view change")
	fs.BoolVar(&d.redis, "redis", false, "serve a Redis gateway per replica on loopback (SPEC.md §16) until interrupted, instead of the workload")
	fs.IntVar(&d.redisPort, "redis-port", 6380, "with -redis: replica i's gateway listens on 127.0.0.1:PORT+i (0: any free port)")
	words, err := parseFlags(fs, args, stdout)
	if err != nil {
		return nil, err
	}
	if len(words) > 0 {
		return nil, fmt.Errorf("unexpected argument %q", words[0])
	}
	return d, d.validate()
}

func (d *demoFlags) validate() error {
	switch {
	case d.duration <= 0:
		return fmt.Errorf("-duration must be positive")
	case d.clients < 1 || d.clients > 1024:
		return fmt.Errorf("-clients must be 1..1024")
	case d.ops < 1 || d.ops > 16:
		return fmt.Errorf("-ops must be 1..16")
	case d.valueSize < 0 || d.valueSize > 16<<10:
		return fmt.Errorf("-value-size must be 0..16384")
	case d.keys < 1:
		return fmt.Errorf("-keys must be ≥ 1")
	case d.f < 1 || d.f > 5:
		return fmt.Errorf("-f must be 1..5")
	case d.k < 1 || d.l < 2*d.k || d.l%d.k != 0:
		return fmt.Errorf("-window must be a multiple of -checkpoint and at least twice it")
	case d.batch < 1 || d.batch > 4096:
		return fmt.Errorf("-batch must be 1..4096")
	case d.kill < 0 || (d.kill > 0 && d.kill >= d.duration):
		return fmt.Errorf("-kill-primary must be shorter than -duration")
	}
	return nil
}

func demoMain(args []string, stdout, stderr io.Writer) int {
	fl, err := parseDemoFlags(args, stdout, stderr)
	if err != nil {
		return usageError("demo", err, stderr)
	}
	fmt.Fprint(stderr, devInsecureBanner)
	n := 3*fl.f + 1
	assign, err := diversity(fl.impl, n)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft demo: %v\n", err)
		return 2
	}
	printMatrix(stdout, assign)
	if fl.redis {
		return redisDemo(assign, fl, stdout, stderr)
	}
	cl, err := localnet.Start(localnet.Options{
		Replicas: replicaBuilds(assign), Clients: fl.clients,
		Setup:  broker.Setup{Name: "demo", F: uint64(fl.f), K: uint64(fl.k), L: uint64(fl.l), MaxBatchRequests: uint64(fl.batch), MaxRequestOps: 16},
		Client: client.Options{Timeout: 30 * time.Second},
	})
	if err != nil {
		fmt.Fprintf(stderr, "splitbft demo: starting the cluster: %v\n", err)
		return 1
	}
	defer cl.Stop()
	return runDemo(cl, fl, stdout, stderr)
}

func runDemo(cl *localnet.Cluster, fl *demoFlags, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), fl.duration)
	defer cancel()
	var progress io.Writer = stderr
	if fl.quiet {
		progress = io.Discard
	}
	vw := newViewWatch()
	res := runWorkload(ctx, cl, fl, progress, vw)
	fmt.Fprintln(progress)
	agreed, err := settle(cl)
	vw.observe(cl)
	report(stdout, cl, fl, res, agreed, vw)
	switch {
	case res.wrong > 0:
		fmt.Fprintf(stderr, "splitbft demo: %d results differed from the model of the store\n", res.wrong)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "splitbft demo: %v\n", err)
		return 1
	case res.failed > 0:
		fmt.Fprintf(stderr, "splitbft demo: %d requests failed\n", res.failed)
		return 1
	}
	fmt.Fprintln(stdout, passLine(res, agreed))
	return 0
}

// passLine is the demo's last line when every check held: what was proven.
func passLine(res *workloadResult, a *agreement) string {
	return fmt.Sprintf("PASS: %s operations checked against a model of the store; %d replicas agree on the state at checkpoint %s",
		thousands(res.ops), len(a.who), thousands(int64(a.seq)))
}

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func printMatrix(w io.Writer, assign [][2]string) {
	fmt.Fprintln(w, "replica  prep    conf    exec")
	for i, a := range assign {
		fmt.Fprintf(w, "%-8d prep-%s  conf-%s  exec\n", i, a[0], a[1])
	}
}

func report(w io.Writer, cl *localnet.Cluster, fl *demoFlags, res *workloadResult, agreed *agreement, vw *viewWatch) {
	secs := res.elapsed.Seconds()
	fmt.Fprintf(w, "\n%d clients, %d op(s) per signed request, %d-byte values, %s\n", fl.clients, fl.ops, fl.valueSize, res.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "operations   %d ok, %d failed requests, %d wrong results\n", res.ops, res.failed, res.wrong)
	fmt.Fprintf(w, "throughput   %.0f ops/s (%.0f signed requests/s)\n", float64(res.ops)/secs, float64(res.requests)/secs)
	fmt.Fprintf(w, "latency      p50 %s  p90 %s  p99 %s  max %s\n", res.pct(50), res.pct(90), res.pct(99), res.pct(100))
	st := cl.StepTime()
	fmt.Fprintf(w, "enclave time prep %s  conf %s  exec %s\n", st[0].Round(time.Millisecond), st[1].Round(time.Millisecond), st[2].Round(time.Millisecond))
	vw.reportViews(w)
	if agreed == nil {
		return
	}
	fmt.Fprintf(w, "agreement    every live replica executed %d batches; checkpoint %d state digest %x (%s)\n",
		agreed.lastExec, agreed.seq, agreed.digest[:8], strings.Join(agreed.who, ","))
}
