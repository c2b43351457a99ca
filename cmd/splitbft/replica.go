package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/splitbft/splitbft/internal/cpusched"
	"github.com/splitbft/splitbft/operator"
)

const replicaUsage = `usage: splitbft replica --dir DIR --id I [flags]

Runs replica I of the cluster in DIR: starts its prep, conf and exec compartments as
processes, forms the cluster with the other replicas, then serves peers, clients, and
/status and /metrics on its status port, until SIGINT or SIGTERM. Started again after
a crash (the same command), it does not form a new cluster: it fetches the
configuration chain from its peers and has fresh compartments admitted in a new epoch.
It keeps a durable ledger of the committed batches (client ciphertexts and their
certificates) in DIR/replica-I/ledger/ and answers a client only once the batch is on
disk; check it with "splitbft ledger verify". It logs (info level)
every view change, suspicion of the primary, state transfer and checkpoint stall with
its cause, and every compartment that dies.

example:
  splitbft replica --dir /tmp/sbft --id 0 2>/tmp/sbft/replica-0.log &
  splitbft replica --dir /tmp/sbft --id 1 --log-json --log-level debug`

// replicaMain is `splitbft replica`: it runs one replica until SIGINT or SIGTERM.
func replicaMain(args []string, stdout, stderr io.Writer) int {
	opt, err := parseReplicaFlags(args, stdout, stderr)
	if err != nil {
		return usageError("replica", err, stderr)
	}
	if opt.cpuProfile != "" {
		done, err := startCPUProfile(opt.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "splitbft replica: --cpuprofile: %v\n", err)
			return 1
		}
		defer done()
	}
	shareCPUs(opt)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := operator.RunReplica(ctx, opt.ReplicaOptions); err != nil {
		fmt.Fprintf(stderr, "splitbft replica: %v\n", err)
		return 1
	}
	return 0
}

// replicaFlags are RunReplica's options and the command's own.
type replicaFlags struct {
	operator.ReplicaOptions
	cpuProfile string // write the broker's CPU profile here until it stops
	procs      int    // Go scheduler Ps for the broker; 0: its share of the host (shareCPUs)
	sched      string // the Linux scheduling policy of the replica's processes: "batch" or "normal"
}

// shareCPUs sizes the Go scheduler of this process, unless the GOMAXPROCS
// environment variable does: --procs, or by default this process's CPUs (the
// runtime's default, which follows a container's CPU limit) divided by the replicas
// of the cluster that listen on this host (operator.SchedulerProcs). When the share is
// the default it is left alone, so that the runtime keeps following the limit. When
// it leaves one P, the compartments, which inherit the environment, get one too
// (prep-a and conf-a would otherwise keep one per CPU for parallel verification,
// which gains nothing on a host whose every CPU another replica also uses).
func shareCPUs(opt replicaFlags) {
	cpus := runtime.GOMAXPROCS(0)
	if env := os.Getenv("GOMAXPROCS"); env != "" {
		opt.Log.Info("scheduler", "procs", cpus, "from", "GOMAXPROCS environment variable "+strconv.Quote(env), "policy", setPolicy(opt))
		return
	}
	procs, replicas := opt.procs, 0
	if procs == 0 {
		t, err := operator.LoadTemplate(opt.Dir)
		if err != nil {
			return // RunReplica reports it
		}
		replicas = operator.ReplicasOnHost(t, opt.ID)
		procs = operator.SchedulerProcs(cpus, replicas)
	}
	if procs != cpus || opt.procs != 0 {
		runtime.GOMAXPROCS(procs)
	}
	if procs == 1 {
		os.Setenv("GOMAXPROCS", "1")
	}
	opt.Log.Info("scheduler", "procs", procs, "cpus", cpus, "replicas_on_host", replicas, "compartments_one_proc", procs == 1, "policy", setPolicy(opt))
}

// setPolicy applies opt.sched (cpusched.Apply) and returns the policy of the
// broker's thread now, which the compartments it starts inherit.
func setPolicy(opt replicaFlags) string {
	got, err := cpusched.Apply(opt.sched)
	if err != nil {
		opt.Log.Warn("scheduler: keeping the policy the process started with", "err", err)
	}
	return got
}

// parseReplicaFlags parses the flags of replica into RunReplica's options.
func parseReplicaFlags(args []string, stdout, stderr io.Writer) (replicaFlags, error) {
	fs := newFlagSet("replica", replicaUsage, stderr)
	var opt replicaFlags
	var runner, level string
	var jsonLogs bool
	id := fs.Int64("id", 0, "replica id (required)")
	fs.StringVar(&opt.Dir, "dir", "", "cluster directory made by init (required)")
	fs.StringVar(&opt.BinDir, "bin-dir", "", "directory of prebuilt compartment binaries named by build (default DIR/bin, built there with go build when missing)")
	fs.StringVar(&runner, "enclave-runner", "", `command prefix for the compartment binaries, e.g. "ego run" (space-separated)`)
	fs.DurationVar(&opt.Tick, "tick", 10*time.Millisecond, "broker tick")
	fs.BoolVar(&opt.NewCluster, "new-cluster", false, "form a new cluster even if this replica formed one before (discarding the old cluster's state; after every replica stopped, splitbft recover-cluster recovers it from the ledgers instead)")
	fs.DurationVar(&opt.RecoveryGrace, "recovery-grace", 5*time.Second, "restarting: a round of waiting for f+1 peers serving the chain; after a round in which none served it, or fewer than f+1 were not recovering themselves, it concludes that every replica stopped and waits for a recovery plan (SPEC §17.8)")
	fs.DurationVar(&opt.RecoverEvery, "recover-every", 0, "proactive recovery: replace this replica's compartments one at a time, each replica in its own slot of D/n (SPEC §17.6); 0: never")
	fs.BoolVar(&jsonLogs, "log-json", false, "structured logs as JSON (default: text) on stderr")
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&opt.NoLedger, "no-ledger", false, "keep no durable ledger: replies do not wait for the disk, and nothing survives (same as --durability=off)")
	durability := fs.String("durability", "on", `"on": keep the ledger in DIR/replica-I/ledger/ and release a reply only once its batch is on disk; "off": as --no-ledger`)
	fs.Uint64Var(&opt.LedgerRetain, "ledger-retain", 0, "ledger retention: once a snapshot is on disk, prune the batch records below it, keeping those within N sequence numbers of the chain's end (SPEC §13.5 \"Retention\"); 0: keep every record")
	fs.StringVar(&opt.LedgerArchive, "ledger-archive", "", "with --ledger-retain: write pruned records first to archive segments under this directory, in replica-I/<ledger directory name>/ (each a ledger that \"splitbft ledger verify\" reads; \"ledger verify --archive\" checks them with the live ledger)")
	fs.Uint64Var(&opt.LedgerSnapshotLog, "ledger-snapshot-log", 0, "bytes of batch records written after a snapshot before the next is due (unless the snapshot was larger); 0: 16 MiB")
	fs.BoolVar(&opt.InsecureTransport, "insecure-transport", false, "serve peers and clients over plain TCP without authentication, to measure the transport's cost (INSECURE: anyone can impersonate any replica or client)")
	fs.IntVar(&opt.procs, "procs", 0, "Go scheduler Ps (threads running Go code at once) for the broker; 0: its CPUs (within a container's limit) divided by the cluster's replicas on this host, at least 1 (with 1, the compartments get one too); the GOMAXPROCS environment variable overrides")
	fs.StringVar(&opt.sched, "sched", "batch", `Linux scheduling policy of the broker and its compartments: "batch" (SCHED_BATCH: a woken process does not preempt a running one, so a loaded host switches less and cuts larger batches) or "normal" (the default policy, for a host that also runs CPU-bound work, whose time slices a replica under SCHED_BATCH would wait for); a process started under a policy other than these two (chrt, systemd) keeps it`)
	fs.StringVar(&opt.cpuProfile, "cpuprofile", "", "write a CPU profile of the broker process (not its compartments) to this file until the replica stops (go tool pprof reads it)")
	words, err := parseFlags(fs, args, stdout)
	if err != nil {
		return opt, err
	}
	switch {
	case opt.Dir == "":
		return opt, errors.New("--dir is required")
	case requiredID(fs, "id", *id) != nil:
		return opt, requiredID(fs, "id", *id)
	case len(words) > 0:
		return opt, fmt.Errorf("unexpected argument %q", words[0])
	case opt.Tick <= 0:
		return opt, errors.New("--tick must be positive")
	case opt.procs < 0:
		return opt, errors.New("--procs must not be negative")
	case opt.sched != "batch" && opt.sched != "normal":
		return opt, fmt.Errorf("--sched must be batch or normal, not %q", opt.sched)
	case opt.RecoverEvery < 0:
		return opt, errors.New("--recover-every must not be negative")
	case *durability != "on" && *durability != "off":
		return opt, fmt.Errorf("--durability must be on or off, not %q", *durability)
	case opt.LedgerArchive != "" && opt.LedgerRetain == 0:
		return opt, errors.New("--ledger-archive needs --ledger-retain N (N > 0): without retention nothing is pruned to archive")
	case (opt.LedgerRetain > 0 || opt.LedgerSnapshotLog > 0) && (opt.NoLedger || *durability == "off"):
		return opt, errors.New("--ledger-retain and --ledger-snapshot-log need the ledger (--durability on)")
	}
	opt.NoLedger = opt.NoLedger || *durability == "off"
	opt.ID = uint64(*id)
	opt.Runner = strings.Fields(runner)
	opt.Stderr = stderr
	if opt.InsecureTransport {
		fmt.Fprint(stderr, "WARNING: --insecure-transport: peer and client ports use plain TCP with NO AUTHENTICATION;\n"+
			"anyone who can reach them can impersonate any replica or client. For measurements only.\n")
	}
	opt.Log, err = newLogger(stderr, jsonLogs, level)
	return opt, err
}

// startCPUProfile starts writing the process's CPU profile to path; the returned
// function stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// newLogger returns a slog logger writing to w as text or JSON at the given level.
func newLogger(w io.Writer, jsonLogs bool, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	ho := &slog.HandlerOptions{Level: lv}
	if jsonLogs {
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return slog.New(slog.NewTextHandler(w, ho)), nil
}
