package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/splitbft/splitbft/operator"
)

const initUsage = `usage: splitbft init --dir DIR [flags]

Writes DIR/cluster.json (the cluster template) and DIR/clients/client-<id>.json
(client credentials), and prints the diversity matrix. Enclave keys are made by
the compartments when the replicas start, and never written to disk. cluster.json
is strict: an unknown (misspelt) field is an error naming it.

example:
  splitbft init --dir /tmp/sbft --allow-dev-insecure
  splitbft init --dir /tmp/sbft --n 7 --hosts 10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7`

// initMain is `splitbft init`: it writes a cluster directory and prints its diversity
// matrix.
func initMain(args []string, stdout, stderr io.Writer) int {
	dir, opt, err := parseInitFlags(args, stdout, stderr)
	if err != nil {
		return usageError("init", err, stderr)
	}
	t, err := operator.Init(dir, opt, rand.Reader)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft init: %v\n", err)
		if errors.Is(err, operator.ErrExists) || errors.Is(err, operator.ErrTemplate) {
			return 2
		}
		return 1
	}
	operator.WriteInitReport(stdout, dir, t)
	return 0
}

// parseInitFlags parses the flags of init into the cluster directory and the options.
func parseInitFlags(args []string, stdout, stderr io.Writer) (string, operator.InitOptions, error) {
	fs := newFlagSet("init", initUsage, stderr)
	var opt operator.InitOptions
	var dir, hosts string
	var n uint64
	fs.StringVar(&dir, "dir", "", "cluster directory to create (required)")
	fs.Uint64Var(&n, "n", 0, "number of replicas, 3f+1 (default 4)")
	fs.Uint64Var(&opt.F, "f", 0, "faults tolerated per compartment type (default 1)")
	fs.StringVar(&opt.Name, "name", "splitbft", "cluster name")
	fs.StringVar(&opt.Diversity, "diversity", operator.DiversityBalanced, "builds per replica: balanced, a, b or random")
	fs.Uint64Var(&opt.Seed, "seed", 1, "seed of --diversity random")
	fs.IntVar(&opt.BasePort, "base-port", 7000, "replica i listens on base+3i (peers), base+3i+1 (clients), base+3i+2 (status, metrics)")
	fs.StringVar(&hosts, "hosts", "127.0.0.1", "host of every replica, or a comma-separated host per replica")
	fs.IntVar(&opt.Clients, "clients", 4, "client identities to create (ids 1..N)")
	fs.BoolVar(&opt.AllowDevInsecure, "allow-dev-insecure", false, "admit dev-insecure evidence: compartments outside any enclave, NO TEE protection")
	fs.Uint64Var(&opt.K, "k", 16, "checkpoint interval K in batches")
	fs.Uint64Var(&opt.L, "l", 64, "window L in batches (a multiple of K, at least 2K)")
	fs.Uint64Var(&opt.Batch, "batch", 200, "maximum requests per batch")
	fs.Uint64Var(&opt.MaxOps, "max-ops", 16, "maximum operations per signed request")
	fs.Uint64Var(&opt.MaxOpBytes, "max-op-bytes", 16384, "maximum ciphertext bytes per operation (an admission carries an enclave's evidence, a few KiB with SGX)")
	fs.BoolVar(&opt.Force, "force", false, "replace the cluster in an existing directory")
	fs.IntVar(&opt.RedisPort, "redis-port", 0, "give replica i a Redis gateway on 127.0.0.1:PORT+i (SPEC.md §16; 0: none)")
	fs.BoolVar(&opt.RedisTLS, "redis-tls", false, "with --redis-port: the gateways serve TLS under their attested keys (check and pin with `splitbft gateway verify`)")
	fs.IntVar(&opt.GatewayClients, "gateway-clients", 4, "with --redis-port: client identities per gateway")
	fs.IntVar(&opt.Members, "members", 1, "governance member keys to create in DIR/members (SPEC.md §17.2, §17.8: they authorise proposals and the recovery of a whole cluster; 0: no governance, and no recovery after every replica stopped)")
	fs.Uint64Var(&opt.MemberThreshold, "member-threshold", 0, "member signatures a proposal needs (default: a majority of --members)")
	words, err := parseFlags(fs, args, stdout)
	if err != nil {
		return "", opt, err
	}
	if len(words) > 0 {
		return "", opt, fmt.Errorf("unexpected argument %q", words[0])
	}
	opt.Hosts = strings.Split(hosts, ",")
	return dir, opt, checkInitFlags(fs.FlagSet, dir, n, &opt)
}

// checkInitFlags rejects what the flag package cannot: a missing directory, extra
// arguments, n and f that do not fit, and empty hosts.
func checkInitFlags(fs *flag.FlagSet, dir string, n uint64, opt *operator.InitOptions) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case dir == "":
		return errors.New("--dir is required")
	case set["f"] && opt.F < 1:
		return errors.New("--f must be at least 1")
	case set["n"] && (n < 4 || (n-1)%3 != 0):
		return fmt.Errorf("--n %d is not 3f+1 for some f ≥ 1 (4, 7, 10, ...)", n)
	case set["n"] && set["f"] && n != 3*opt.F+1:
		return fmt.Errorf("--n %d and --f %d disagree: n must be 3f+1 = %d", n, opt.F, 3*opt.F+1)
	case set["seed"] && opt.Diversity != operator.DiversityRandom:
		return errors.New("--seed only applies to --diversity random")
	}
	if set["n"] {
		opt.F = (n - 1) / 3
	}
	for _, h := range opt.Hosts {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, " /") {
			return fmt.Errorf("--hosts: bad host %q", h)
		}
	}
	for _, v := range []struct {
		name string
		val  uint64
	}{{"k", opt.K}, {"l", opt.L}, {"batch", opt.Batch}, {"max-ops", opt.MaxOps}, {"max-op-bytes", opt.MaxOpBytes}} {
		if set[v.name] && v.val == 0 {
			return fmt.Errorf("--%s must be positive", v.name)
		}
	}
	return nil
}
