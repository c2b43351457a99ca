package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/splitbft/splitbft/operator"
	"github.com/splitbft/splitbft/spec"
)

// kvStdin is where `kv script` reads its operations (a variable for tests).
var kvStdin io.Reader = os.Stdin

const kvUsage = `usage: splitbft kv --dir DIR --client ID [flags] COMMAND [ARGS]

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
  bench [--clients N --pack OPS --duration D | --ops N] [--value-size S --keys K
        --seed X --report FILE --workload mixed|puts --sched batch|normal]
                             run a seeded workload from N concurrent clients (ids ID..ID+N-1,
                             one signed request of OPS operations outstanding each), check
                             every result against a model, print a progress line and a
                             summary of the request shape, throughput and latency; --report
                             writes the result as JSON with a latency histogram; --workload
                             puts runs BenchmarkCluster's puts; --sched as for replica

The client fetches the configuration from the replicas, requires their copies to agree
and every enclave's evidence to be admitted by cluster.json, then talks to the client
ports. Flags may come before or after the command. When a request times out, kv asks
every replica's status port and says whether a quorum is reachable.

Exit status: 0 ok, 1 operation failed (or not found, or mismatch), 2 usage.

example:
  splitbft kv --dir /tmp/sbft --client 1 put hello world
  splitbft kv get hello --dir /tmp/sbft --client 1 --timeout 5s
  splitbft kv bench --dir /tmp/sbft --client 1 --clients 4 --pack 16 --duration 10s`

// kvFlags are the parsed flags and words of a kv command line.
type kvFlags struct {
	opt    operator.KVOptions
	args   []string
	absent bool
	bench  benchFlags
	set    map[string]bool
}

// kvMain is `splitbft kv`.
func kvMain(args []string, stdout, stderr io.Writer) int {
	fl, err := parseKVFlags(args, stdout, stderr)
	if err != nil {
		return usageError("kv", err, stderr)
	}
	run, err := kvCommand(fl)
	if err != nil {
		return usageError("kv", err, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	kvs, err := connectAll(ctx, fl)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft kv: %v\n", err)
		return 1
	}
	defer func() {
		for _, kv := range kvs {
			kv.Close()
		}
	}()
	return run(ctx, kvs, stdout, stderr)
}

// connectAll connects the clients a command needs: one, or --clients for bench, with
// consecutive ids from --client, sharing one connection per replica
// (operator.ConnectClients). The dev-insecure note is printed once.
func connectAll(ctx context.Context, fl *kvFlags) ([]*operator.KV, error) {
	n := 1
	if fl.args[0] == "bench" {
		n = fl.bench.clients
	}
	return operator.ConnectClients(ctx, fl.opt, n)
}

func parseKVFlags(args []string, stdout, stderr io.Writer) (*kvFlags, error) {
	fs := newFlagSet("kv", kvUsage, stderr)
	fl := &kvFlags{}
	id := fs.Int64("client", 0, "client id (credentials DIR/clients/client-ID.json; required)")
	fs.StringVar(&fl.opt.Dir, "dir", "", "cluster directory (required)")
	fs.DurationVar(&fl.opt.Wait, "wait", time.Minute, "how long to wait for the cluster to form")
	fs.DurationVar(&fl.opt.Timeout, "timeout", 30*time.Second, "per request (bench: a request over it fails the run)")
	fs.BoolVar(&fl.absent, "absent", false, "cas only: set KEY only if it does not exist: cas --absent KEY NEW")
	fs.BoolVar(&fl.opt.InsecureTransport, "insecure-transport", false, "plain TCP without authentication, to replicas run with it (measurements only; INSECURE)")
	fl.bench.define(fs)
	words, err := parseFlags(fs, args, stdout)
	if err != nil {
		return nil, err
	}
	fl.set = setFlags(fs.FlagSet)
	switch {
	case fl.opt.Dir == "":
		return nil, errors.New("--dir is required")
	case requiredID(fs, "client", *id) != nil:
		return nil, requiredID(fs, "client", *id)
	case len(words) == 0:
		return nil, errors.New("no command (put, get, del, cas, script or bench)")
	}
	fl.opt.ID = uint64(*id)
	fl.opt.Stderr = stderr
	fl.args = words
	return fl, nil
}

// kvRun runs a parsed kv command on its connected clients and returns the exit status.
type kvRun func(ctx context.Context, kvs []*operator.KV, stdout, stderr io.Writer) int

// kvCommand checks the command words and the flags that only some commands take.
func kvCommand(fl *kvFlags) (kvRun, error) {
	args := fl.args
	if fl.absent && args[0] != "cas" {
		return nil, errors.New("--absent only applies to cas")
	}
	if args[0] != "bench" {
		if f := fl.bench.used(fl.set); f != "" {
			return nil, fmt.Errorf("--%s only applies to bench", f)
		}
	}
	switch args[0] {
	case "script":
		if len(args) > 1 {
			return nil, fmt.Errorf("script takes no arguments")
		}
		return func(ctx context.Context, kvs []*operator.KV, stdout, stderr io.Writer) int {
			return runKVScript(ctx, kvs[0], stdout, stderr)
		}, nil
	case "bench":
		return fl.bench.command(args[1:], fl.set, fl.opt.Timeout)
	case "cas-absent":
		return nil, errors.New("use cas --absent KEY NEW")
	case "cas":
		if fl.absent {
			args = append([]string{"cas-absent"}, args[1:]...)
		}
	case "put", "get", "del":
	default:
		return nil, fmt.Errorf("unknown operation %q (want put, get, del, cas, cas --absent, script or bench)", args[0])
	}
	op, err := operator.ParseOp(args)
	if err != nil && fl.absent {
		err = errors.New(strings.Replace(err.Error(), "cas-absent", "cas --absent", 1))
	}
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, kvs []*operator.KV, stdout, stderr io.Writer) int {
		return runKVOp(ctx, kvs[0], op, stdout, stderr)
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
