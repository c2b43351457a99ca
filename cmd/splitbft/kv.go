package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/splitbft/splitbft/operator"
	"github.com/splitbft/splitbft/spec"
)

// kvStdin is where `kv script` reads its operations (a variable for tests).
var kvStdin io.Reader = os.Stdin

const kvUsage = `usage: splitbft kv --dir DIR --client ID [flags] COMMAND

commands:
  put KEY VALUE              set KEY (prints ok)
  get KEY                    print KEY's value (exit 1 if not found)
  del KEY                    delete KEY, print its old value (exit 1 if not found)
  cas KEY OLD NEW            set KEY to NEW if it holds OLD (exit 1 on mismatch)
  cas --absent KEY NEW       set KEY to NEW if it does not exist
  script                     run operations from stdin, one per line
                             (put K V | get K | del K | cas K OLD NEW | cas-absent K NEW),
                             printing one result line each: ok, ok "V", notfound,
                             mismatch "CUR", or error: ...
  bench [--ops N --pack P --keys K --value-size S --seed X --sessions M]
                             run a seeded workload in one session (or M concurrent
                             sessions as clients ID..ID+M-1, N operations each), check
                             every result against a model, report throughput, latency
                             and the replicas' average batch size during the run

The client fetches the configuration from the replicas, requires their copies to agree
and every enclave's evidence to be admitted by cluster.json, then talks to the client
ports. Exit status: 0 ok, 1 operation failed (or not found, or mismatch), 2 usage.

flags:
`

// kvFlags are the flags before the kv command.
type kvFlags struct {
	opt  operator.KVOptions
	args []string
}

// kvMain is `splitbft kv`.
func kvMain(args []string, stdout, stderr io.Writer) int {
	fl, err := parseKVFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "splitbft kv: %v\n", err)
		}
		return 2
	}
	run, err := kvCommand(fl.args, fl.opt, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "splitbft kv: %v\n", err)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	kv, err := operator.Connect(ctx, fl.opt)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft kv: %v\n", err)
		return 1
	}
	defer kv.Close()
	return run(ctx, kv, stdout, stderr)
}

func parseKVFlags(args []string, stderr io.Writer) (*kvFlags, error) {
	fs := flag.NewFlagSet("kv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, kvUsage); fs.PrintDefaults() }
	fl := &kvFlags{}
	id := fs.Int64("client", -1, "client id (credentials DIR/clients/client-ID.json; required)")
	fs.StringVar(&fl.opt.Dir, "dir", "", "cluster directory (required)")
	fs.DurationVar(&fl.opt.Wait, "wait", time.Minute, "how long to wait for the cluster to form")
	fs.DurationVar(&fl.opt.Timeout, "timeout", 30*time.Second, "per request")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fl.opt.Dir == "":
		return nil, errors.New("--dir is required")
	case *id < 0:
		return nil, errors.New("--client is required")
	case fs.NArg() == 0:
		return nil, errors.New("no command (put, get, del, cas, script or bench)")
	}
	fl.opt.ID = uint64(*id)
	fl.opt.Stderr = stderr
	fl.args = fs.Args()
	return fl, nil
}

// kvRun runs a parsed kv command on a connected client and returns the exit status.
type kvRun func(ctx context.Context, kv *operator.KV, stdout, stderr io.Writer) int

// kvCommand parses the command words after the flags.
func kvCommand(args []string, opt operator.KVOptions, stderr io.Writer) (kvRun, error) {
	switch args[0] {
	case "script":
		if len(args) > 1 {
			return nil, fmt.Errorf("script takes no arguments")
		}
		return runKVScript, nil
	case "bench":
		return parseBench(args[1:], opt, stderr)
	case "cas":
		return parseCAS(args[1:], stderr)
	}
	op, err := operator.ParseOp(args)
	if err == nil && op.Verb == "cas-absent" {
		err = errors.New("use cas --absent KEY NEW")
	}
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, kv *operator.KV, stdout, stderr io.Writer) int {
		return runKVOp(ctx, kv, op, stdout, stderr)
	}, nil
}

// parseCAS parses `cas [--absent] KEY OLD NEW` (KEY NEW with --absent).
func parseCAS(args []string, stderr io.Writer) (kvRun, error) {
	fs := flag.NewFlagSet("kv cas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	absent := fs.Bool("absent", false, "set KEY only if it does not exist: cas --absent KEY NEW")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	words := append([]string{"cas"}, fs.Args()...)
	if *absent {
		words[0] = "cas-absent"
	}
	op, err := operator.ParseOp(words)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, kv *operator.KV, stdout, stderr io.Writer) int {
		return runKVOp(ctx, kv, op, stdout, stderr)
	}, nil
}

// runKVOp runs one operation and prints its result for a shell: put and cas print
// ok; get and del print the value itself; not found and mismatch exit 1.
func runKVOp(ctx context.Context, kv *operator.KV, op operator.Op, stdout, stderr io.Writer) int {
	res, err := kv.Do(ctx, [][]byte{op.Plaintext()})
	if err != nil {
		fmt.Fprintf(stderr, "splitbft kv: %s: %v\n", op.Verb, err)
		return 1
	}
	r := res[0]
	switch {
	case r.Status == spec.StatusOK && (op.Verb == "get" || op.Verb == "del"):
		fmt.Fprintf(stdout, "%s\n", r.Value)
	case r.Status == spec.StatusOK:
		fmt.Fprintln(stdout, "ok")
	case r.Status == spec.StatusNotFound:
		fmt.Fprintf(stderr, "splitbft kv: %s %q: not found\n", op.Verb, op.Key)
		return 1
	default:
		fmt.Fprintf(stderr, "splitbft kv: %s %q: %s\n", op.Verb, op.Key, operator.FormatResult(op, r))
		return 1
	}
	return 0
}

// runKVScript runs `kv script` on kvStdin.
func runKVScript(ctx context.Context, kv *operator.KV, stdout, stderr io.Writer) int {
	failed, err := operator.RunScript(ctx, kv, kvStdin, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft kv script: %v\n", err)
		return 1
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "splitbft kv script: %d operation(s) failed\n", failed)
		return 1
	}
	return 0
}

// parseBench parses the flags of `kv bench`; opt is how the first session connected.
func parseBench(args []string, opt operator.KVOptions, stderr io.Writer) (kvRun, error) {
	fs := flag.NewFlagSet("kv bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var bo operator.BenchOptions
	fs.IntVar(&bo.Ops, "ops", 1000, "operations in all (per session)")
	fs.IntVar(&bo.Pack, "pack", 1, "operations per signed request (at most the cluster's max-ops)")
	fs.IntVar(&bo.Keys, "keys", 16, "distinct keys")
	fs.IntVar(&bo.ValueSize, "value-size", 10, "bytes per value")
	fs.Uint64Var(&bo.Seed, "seed", 1, "workload seed (session i uses seed+i)")
	sessions := fs.Int("sessions", 1, "concurrent sessions, as clients ID, ID+1, ... (each needs credentials)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 || bo.Ops < 1 || bo.Pack < 1 || bo.Keys < 1 || bo.ValueSize < 1 || bo.ValueSize > spec.MaxKVValue || *sessions < 1 || *sessions > 4096 {
		return nil, errors.New("bench: --ops, --pack and --keys must be positive, --value-size 1..16384, --sessions 1..4096, no arguments")
	}
	return func(ctx context.Context, kv *operator.KV, stdout, stderr io.Writer) int {
		bo.Prefix = fmt.Sprintf("bench-%d-%d-k", kv.Session().ID(), kv.Session().NextTimestamp())
		if *sessions == 1 {
			res := operator.RunBench(ctx, kv, bo)
			res.Report(stdout)
			return benchStatus(res)
		}
		return runBenchSessions(ctx, kv, opt, bo, *sessions, stdout, stderr)
	}, nil
}

// runBenchSessions connects sessions-1 more clients beside kv, runs the workload on
// all of them at once and reports it with the replicas' average batch size.
func runBenchSessions(ctx context.Context, kv *operator.KV, opt operator.KVOptions, bo operator.BenchOptions, sessions int, stdout, stderr io.Writer) int {
	doers := []operator.Doer{kv}
	for i := 1; i < sessions; i++ {
		o := opt
		o.ID, o.Wait, o.Stderr = opt.ID+uint64(i), 0, io.Discard
		k, err := operator.Connect(ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "splitbft kv: bench session %d (client %d): %v\n", i, o.ID, err)
			return 1
		}
		defer k.Close()
		doers = append(doers, k)
	}
	t, err := operator.LoadTemplate(opt.Dir)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft kv: %v\n", err)
		return 1
	}
	before, errBefore := operator.ScrapeBatches(ctx, t)
	res := operator.RunBenchSessions(ctx, doers, bo)
	after, errAfter := operator.ScrapeBatches(ctx, t)
	fmt.Fprintf(stdout, "sessions     %d concurrent, %d operations each\n", sessions, bo.Ops)
	res.Report(stdout)
	if b := after.Batches - before.Batches; errBefore == nil && errAfter == nil && b > 0 {
		fmt.Fprintf(stdout, "batches      %.0f, %.1f requests on average\n", b, (after.Requests-before.Requests)/b)
	}
	return benchStatus(res)
}

// benchStatus is the exit status of a bench: 1 if any result was wrong or failed.
func benchStatus(res operator.BenchResult) int {
	if res.Wrong > 0 || res.Failed > 0 {
		return 1
	}
	return 0
}
