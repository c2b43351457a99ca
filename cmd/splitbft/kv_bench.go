package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/splitbft/splitbft/internal/cpusched"
	"github.com/splitbft/splitbft/operator"
	"github.com/splitbft/splitbft/spec"
)

// benchFlags are the flags of `kv bench`.
type benchFlags struct {
	bo      operator.BenchOptions
	clients int
	report  string
	label   string
	sched   string
}

// benchFlagNames are the flags only bench takes.
var benchFlagNames = []string{"clients", "ops", "pack", "duration", "keys", "value-size", "seed", "report", "label", "sched", "workload"}

// define adds the bench flags to the kv flag set.
func (b *benchFlags) define(fs *flagSet) {
	fs.IntVar(&b.clients, "clients", 1, "bench: concurrent clients, ids --client.. (each registered in cluster.json)")
	fs.IntVar(&b.bo.Ops, "ops", 0, "bench: operations in all (default 1000 without --duration)")
	fs.DurationVar(&b.bo.Duration, "duration", 0, "bench: run this long instead of a number of operations")
	fs.IntVar(&b.bo.Pack, "pack", 1, "bench: operations per signed request (at most the cluster's max-ops)")
	fs.IntVar(&b.bo.Keys, "keys", 16, "bench: distinct keys per client")
	fs.IntVar(&b.bo.ValueSize, "value-size", 10, "bench: bytes per value")
	fs.Uint64Var(&b.bo.Seed, "seed", 1, "bench: workload seed (client i uses seed+i)")
	fs.StringVar(&b.report, "report", "", "bench: write the result as JSON (with a latency histogram) to this file")
	fs.StringVar(&b.label, "label", "", "bench: free-text label for --report (machine, placement)")
	fs.StringVar(&b.bo.Workload, "workload", operator.WorkloadMixed, `bench: "mixed" (random gets, puts, deletes and compare-and-swaps on fresh keys, each result checked against a model) or "puts" (BenchmarkCluster's workload: puts of keys c<client>/k<j>, each result checked)`)
	fs.StringVar(&b.sched, "sched", "batch", `bench: Linux scheduling policy of this process, "batch" or "normal" (as splitbft replica --sched: the clients' wake-ups then do not preempt the replicas of a cluster on the same host)`)
}

// used returns the first bench-only flag that was set, or "".
func (b *benchFlags) used(set map[string]bool) string {
	for _, n := range benchFlagNames {
		if set[n] {
			return n
		}
	}
	return ""
}

// command checks the bench flags and returns the run.
func (b *benchFlags) command(args []string, set map[string]bool, timeout time.Duration) (kvRun, error) {
	switch {
	case len(args) > 0:
		return nil, fmt.Errorf("bench takes no arguments, got %q", args[0])
	case b.clients < 1 || b.clients > 256:
		return nil, errors.New("bench: --clients must be 1..256")
	case b.bo.Ops < 0 || (set["ops"] && b.bo.Ops == 0) || b.bo.Pack < 1 || b.bo.Keys < 1:
		return nil, errors.New("bench: --ops, --pack and --keys must be positive")
	case b.bo.ValueSize < 1 || b.bo.ValueSize > spec.MaxKVValue:
		return nil, fmt.Errorf("bench: --value-size must be 1..%d", spec.MaxKVValue)
	case b.bo.Duration < 0 || (set["duration"] && set["ops"]):
		return nil, errors.New("bench: give --ops or a positive --duration, not both")
	case b.label != "" && b.report == "":
		return nil, errors.New("bench: --label only applies with --report")
	case b.bo.Workload != operator.WorkloadMixed && b.bo.Workload != operator.WorkloadPuts:
		return nil, fmt.Errorf("bench: --workload must be mixed or puts, not %q", b.bo.Workload)
	case b.sched != "batch" && b.sched != "normal":
		return nil, fmt.Errorf("bench: --sched must be batch or normal, not %q", b.sched)
	}
	return func(ctx context.Context, kvs []*operator.KV, stdout, stderr io.Writer) int {
		return b.run(ctx, kvs, timeout, stdout, stderr)
	}, nil
}

// run runs the benchmark on the connected clients, prints a progress line (on
// stderr) and the summary, and writes the report file.
func (b *benchFlags) run(ctx context.Context, kvs []*operator.KV, timeout time.Duration, stdout, stderr io.Writer) int {
	bo := b.bo
	bo.RequestTimeout = timeout
	if max := kvs[0].Config.MaxRequestOps; uint64(bo.Pack) > max {
		fmt.Fprintf(stderr, "splitbft kv bench: --pack %d is over the cluster's max_request_ops %d\n", bo.Pack, max)
		return 2
	}
	if _, err := cpusched.Apply(b.sched); err != nil {
		fmt.Fprintf(stderr, "splitbft kv bench: keeping the scheduling policy it started with: %v\n", err)
	}
	bo.Prefix = fmt.Sprintf("bench-%d-%d-", kvs[0].Session().ID(), kvs[0].Session().NextTimestamp())
	progressed := false
	bo.Progress = func(ops, reqs int64, el time.Duration) {
		progressed = true
		fmt.Fprintf(stderr, "\r[%5.1fs] %9d ops  %8.0f ops/s  %8.0f requests/s   ", el.Seconds(), ops, float64(ops)/el.Seconds(), float64(reqs)/el.Seconds())
	}
	doers := make([]operator.Doer, len(kvs))
	for i, kv := range kvs {
		doers[i] = kv
	}
	before, scraped := operator.ScrapeBatches(ctx, kvs[0].Template())
	res := operator.RunBench(ctx, doers, bo)
	if progressed {
		fmt.Fprintln(stderr) // keep the last progress line
	}
	res.Report(stdout)
	if after, err := operator.ScrapeBatches(ctx, kvs[0].Template()); scraped == nil && err == nil && after.Batches > before.Batches {
		fmt.Fprintf(stdout, "the primaries cut %.0f batches of %.1f requests on average during the run\n",
			after.Batches-before.Batches, (after.Requests-before.Requests)/(after.Batches-before.Batches))
		if cpu := operator.CPUPerRequest(before, after, res.Requests); cpu != nil {
			fmt.Fprintf(stdout, "replica CPU per request, all replicas: broker %.3f ms, prep %.3f ms, conf %.3f ms, exec %.3f ms (this client process: not counted)\n",
				cpu["broker"], cpu["prep"], cpu["conf"], cpu["exec"])
		}
	}
	if b.report != "" {
		if err := b.writeReport(res, kvs[0]); err != nil {
			fmt.Fprintf(stderr, "splitbft kv bench: %v\n", err)
			return 1
		}
	}
	if res.Wrong > 0 || res.Failed > 0 {
		return 1
	}
	return 0
}

// writeReport writes the JSON report file.
func (b *benchFlags) writeReport(res operator.BenchResult, kv *operator.KV) error {
	rep := operator.NewBenchReport(res, kv.Config, b.label, time.Now())
	f, err := os.Create(b.report)
	if err != nil {
		return err
	}
	if err := rep.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
