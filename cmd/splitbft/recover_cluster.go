package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/splitbft/splitbft/operator"
	"github.com/splitbft/splitbft/spec"
)

const recoverClusterUsage = `usage: splitbft recover-cluster --dir DIR --member-key FILE... [--config GENESIS] [--head N] [--absent ID]...

Recovers a whole cluster after every replica stopped (SPEC.md §17.8). Start every
replica again with the same command first: finding no running peer, each one starts
fresh compartments and offers what its ledger proves. This command, run by the
governance members, collects an offer from every replica, verifies each from the
configuration the members trust (--config, default DIR/replica-0/genesis.cbor),
chooses the highest certified head, signs the recovery plan with each --member-key
(the configuration's threshold of them) and delivers it; the replicas replay their
ledgers to the head and continue in a new epoch. It prints what it chose.

A replica whose host is gone can be left out with --absent ID (at most f of them):
its offer is not awaited and its slot is carried over from the last configuration
(SPEC.md §17.8, "Absent replicas"). It counts among the f faults the cluster
tolerates until it is started again with its usual command, which rejoins it with
fresh compartments. Its ledger is not consulted: a write acknowledged by f+1
replicas is then guaranteed only while one of the offering replicas that hold it
is correct.

examples:
  splitbft recover-cluster --dir /tmp/sbft --member-key /tmp/sbft/members/member-0.json
  splitbft recover-cluster --dir /tmp/sbft --member-key /tmp/sbft/members/member-0.json --absent 3`

// recoverClusterMain is `splitbft recover-cluster`.
func recoverClusterMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("recover-cluster", recoverClusterUsage, stderr)
	dir := fs.String("dir", "", "cluster directory made by init (required)")
	cfgFile := fs.String("config", "", "the genesis configuration the members trust (default DIR/replica-0/genesis.cbor)")
	head := fs.Uint64("head", 0, "replay to exactly this head (default: the highest certified head offered)")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for every replica's offer")
	var keyFiles listFlag
	fs.Var(&keyFiles, "member-key", "member key file (repeatable)")
	var absent absentFlag
	fs.Var(&absent, "absent", "replica id to recover without, its slot carried over (repeatable, at most f)")
	words, err := parseFlags(fs, args, stdout)
	switch {
	case err != nil:
	case *dir == "":
		err = errors.New("--dir is required")
	case len(keyFiles) == 0:
		err = errors.New("at least one --member-key is required")
	case len(words) > 0:
		err = fmt.Errorf("unexpected argument %q", words[0])
	}
	if err != nil {
		return usageError("recover-cluster", err, stderr)
	}
	opt, err := recoverClusterOptions(*dir, *cfgFile, keyFiles, absent)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft recover-cluster: %v\n", err)
		return 1
	}
	opt.Head, opt.Timeout = *head, *timeout
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+30*time.Second)
	defer cancel()
	ch, err := operator.RecoverCluster(ctx, *opt)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft recover-cluster: %v\n", err)
		return 1
	}
	printChoice(stdout, stderr, ch)
	if len(ch.Refused) > 0 {
		return 1
	}
	return 0
}

// absentFlag collects --absent replica ids.
type absentFlag []uint64

func (a *absentFlag) String() string { return fmt.Sprint([]uint64(*a)) }
func (a *absentFlag) Set(v string) error {
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return fmt.Errorf("not a replica id: %q", v)
	}
	*a = append(*a, id)
	return nil
}

// recoverClusterOptions loads the template, the trusted configuration and the keys.
func recoverClusterOptions(dir, cfgFile string, keyFiles []string, absent []uint64) (*operator.RecoverClusterOptions, error) {
	t, err := operator.LoadTemplate(dir)
	if err != nil {
		return nil, err
	}
	if err := operator.CheckAbsent(t, absent); err != nil {
		return nil, err
	}
	if cfgFile == "" {
		cfgFile = filepath.Join(dir, "replica-0", operator.GenesisFile)
	}
	trusted, err := os.ReadFile(cfgFile)
	if err != nil {
		return nil, fmt.Errorf("trusted configuration: %w", err)
	}
	var g spec.Config
	if err := spec.Decode(trusted, &g, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("%s is not a configuration: %w", cfgFile, err)
	}
	var keys []ed25519.PrivateKey
	for _, f := range keyFiles {
		k, err := operator.LoadMemberKey(f)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return &operator.RecoverClusterOptions{T: t, Trusted: trusted, Keys: keys, Absent: absent}, nil
}

// printChoice says what the tool chose and where the plan went.
func printChoice(stdout, stderr io.Writer, ch *operator.RecoveryChoice) {
	fmt.Fprintf(stdout, "recovery to epoch %d: replay from the certified state at seq %d to head %d (offer of replica %d)\n", ch.Epoch, ch.Base, ch.Head, ch.Source)
	if ch.LeadEpochs > 0 {
		fmt.Fprintf(stdout, "no ledger holds a snapshot of epoch %d's start: the replay leads in from seq %d, %d epoch(s) earlier (SPEC §17.8 RV6)\n", ch.Epoch-1, ch.LeadFrom, ch.LeadEpochs)
	}
	if len(ch.Absent) == 0 {
		fmt.Fprintf(stdout, "%d of %d offers reach the head (%d prove a certified state); acknowledged writes are lost only if every replica that acknowledged one lost its ledger\n", ch.AtHead, ch.Offers, ch.Proven)
	} else {
		fmt.Fprintf(stdout, "%d of %d offers reach the head (%d prove a certified state); an acknowledged write is in the ledgers of f+1 replicas, of which at least %d offered: it is lost only if all of those lost it or are faulty\n", ch.AtHead, ch.Offers, ch.Proven, ch.F+1-uint64(len(ch.Absent)))
		fmt.Fprintf(stderr, "replicas %v recovered without: their ledgers were not consulted and their slots carried over; they count among the f faults the cluster tolerates until started again (they then rejoin with fresh compartments; a replacement host needs their replica-N directory from before)\n", ch.Absent)
	}
	if len(ch.Gateways) > 0 {
		fmt.Fprintf(stdout, "the plan registers the Redis gateways of replicas %v as they run now\n", ch.Gateways)
	}
	for _, g := range ch.GatewaysNot {
		fmt.Fprintf(stderr, "gateway not registered by the plan (re-admit it once the cluster runs: splitbft propose --readmit-gateway REPLICA): %s\n", g)
	}
	fmt.Fprintf(stdout, "plan delivered to replicas %v\n", ch.Delivered)
	for _, r := range ch.Refused {
		fmt.Fprintf(stderr, "not delivered: %s\n", r)
	}
	if len(ch.Insecure) > 0 {
		fmt.Fprintf(stderr, "\n*** WARNING: replicas %v keep the exec group key UNSEALED on disk (dev-insecure, format 0):\n*** anyone who can read their directories can decrypt every request and snapshot. Development and testing only.\n\n", ch.Insecure)
	}
}
