package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/spec"
)

const ledgerUsage = `usage: splitbft ledger verify --dir LEDGER [--config FILE] [--archive DIR]
       splitbft ledger receipt --dir LEDGER --client C --timestamp T > receipt.cbor
       splitbft ledger receipt verify --config FILE receipt.cbor

Checks a replica's durable ledger offline (SPEC.md §13.5). The ledger of replica I is
in DIR/replica-I/ledger/<config digest>/; stop the replica first (the store is locked
while it runs), or check a copy.

verify checks the epoch records (each a valid epoch change, q exec votes, after the
configuration in force), then every checkpoint certificate (K1-K5), then every batch
record in sequence order: checksum, chain link, no gap except at a certified
checkpoint or an epoch's start, and the commit certificate (q COMMITs from distinct
confs, signatures under the configuration of the batch's epoch, digest = the
batch's). It prints a summary and exits 0, or prints the first fault and exits 1.
--config is the configuration the ledger starts with, which you trust: a ledger
follows the epochs its replica adopts, so for the ledger a replica started with
when it formed the cluster this is DIR/replica-I/genesis.cbor (not config.cbor,
which is the configuration of the current epoch). A replica that restarted started
a new ledger with the configuration of the epoch it rejoined in; the directory name
is the first 8 bytes of that configuration's digest. Without --config the ledger is
checked against the configuration it records itself, which shows it consistent, not
that it belongs to your cluster.

With --archive DIR (a replica run with --ledger-retain and --ledger-archive ROOT: DIR
is the archive of that ledger, ROOT/replica-I/<ledger directory name>), verify also
checks every archive segment in DIR as a ledger, and that the segments and the live
ledger form one chain: each part's prune record is at the previous part's last batch
and carries its link, so no batch is missing between them or held twice. A segment
is a ledger directory itself: verify and receipt read it with --dir.

receipt writes the receipt of client C's operation with timestamp T (the batch, its
commit certificate, the request's position) as CBOR on stdout; receipt verify checks
one under a configuration: it proves the request was committed at that sequence
number (not what it returned). A receipt carries the ledger's epoch changes and is
checked from the same configuration as the ledger (its first).

example:
  splitbft ledger verify --dir /tmp/sbft/replica-0/ledger/* --config /tmp/sbft/replica-0/genesis.cbor
  splitbft ledger receipt --dir /tmp/sbft/replica-0/ledger/* --client 1 --timestamp 42 > r.cbor
  splitbft ledger receipt verify --config /tmp/sbft/replica-0/genesis.cbor r.cbor`

// ledgerMain is `splitbft ledger`.
func ledgerMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ledger", ledgerUsage, stderr)
	dir := fs.String("dir", "", "the ledger directory (DIR/replica-I/ledger/<digest>)")
	cfgPath := fs.String("config", "", "the configuration the ledger starts with (CBOR, e.g. DIR/replica-I/genesis.cbor)")
	clientID := fs.Int64("client", 0, "receipt: the client id")
	ts := fs.Uint64("timestamp", 0, "receipt: the operation's timestamp")
	archive := fs.String("archive", "", "verify: the ledger's archive directory (segments written by retention), checked with it")
	words, err := parseFlags(fs, args, stdout)
	if err != nil {
		return usageError("ledger", err, stderr)
	}
	var cfg *spec.Config
	if *cfgPath != "" {
		if cfg, err = readConfig(*cfgPath); err != nil {
			fmt.Fprintf(stderr, "splitbft ledger: %v\n", err)
			return 1
		}
	}
	switch {
	case len(words) == 1 && words[0] == "verify" && *dir != "" && *archive != "":
		return archiveVerify(*archive, *dir, cfg, stdout, stderr)
	case len(words) == 1 && words[0] == "verify" && *dir != "":
		return ledgerVerify(*dir, cfg, stdout, stderr)
	case len(words) == 1 && words[0] == "receipt" && *dir != "":
		if err := requiredID(fs, "client", *clientID); err != nil {
			return usageError("ledger", err, stderr)
		}
		return ledgerReceipt(*dir, uint64(*clientID), *ts, stdout, stderr)
	case len(words) == 3 && words[0] == "receipt" && words[1] == "verify" && cfg != nil:
		return receiptVerify(words[2], cfg, stdout, stderr)
	case len(words) == 3 && words[0] == "receipt" && words[1] == "verify":
		return usageError("ledger", errors.New("receipt verify needs --config"), stderr)
	case len(words) == 0:
		return usageError("ledger", errors.New("missing subcommand: verify, receipt or receipt verify"), stderr)
	case words[0] == "verify" && len(words) > 1:
		return usageError("ledger", fmt.Errorf("unexpected argument %q (verify checks one ledger directory, given with --dir)", words[1]), stderr)
	case words[0] != "verify" && words[0] != "receipt":
		return usageError("ledger", fmt.Errorf("unknown subcommand %q", words[0]), stderr)
	}
	return usageError("ledger", errors.New("verify and receipt need --dir; receipt verify needs one receipt file"), stderr)
}

// readConfig reads a canonical CBOR configuration file.
func readConfig(path string) (*spec.Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg spec.Config
	if err := spec.Decode(raw, &cfg, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("%s: not a configuration: %w", path, err)
	}
	return &cfg, nil
}

// ledgerVerify is `ledger verify`.
func ledgerVerify(dir string, cfg *spec.Config, stdout, stderr io.Writer) int {
	s, err := ledger.Verify(dir, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft ledger verify: %v\n", err)
		return 1
	}
	src := "given with --config"
	if s.FromLedger {
		src = "recorded in the ledger itself (pass --config to check it is your cluster's)"
	}
	fmt.Fprintf(stdout, "ledger OK: configuration %x, %s\n", s.ConfigDigest[:8], src)
	fmt.Fprintf(stdout, "  %d batch records (seq %d..%d), %d requests, every commit certificate and link valid\n",
		s.Batches, s.First, s.Last, s.Requests)
	if s.PrunedTo > 0 {
		fmt.Fprintf(stdout, "  pruned to seq %d by retention: the first batch continues from the prune record's link, which only the archive proves (verify --archive)\n", s.PrunedTo)
	}
	fmt.Fprintf(stdout, "  %d checkpoint certificates valid; %d gaps crossed at a certified checkpoint\n", s.Checkpoints, s.Anchors)
	fmt.Fprintf(stdout, "  %d epoch records valid; ends in epoch %d, configuration %x\n", s.Epochs, s.LastEpoch, s.LastDigest[:8])
	return 0
}

// archiveVerify is `ledger verify --archive`.
func archiveVerify(archive, dir string, cfg *spec.Config, stdout, stderr io.Writer) int {
	a, err := ledger.VerifyArchive(archive, dir, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft ledger verify: %v\n", err)
		return 1
	}
	for _, s := range a.Segments {
		fmt.Fprintf(stdout, "segment OK: batches %d..%d, %d requests, %d checkpoint certificates, %d epoch records\n",
			s.First, s.Last, s.Requests, s.Checkpoints, s.Epochs)
	}
	for _, p := range a.Pending {
		fmt.Fprintf(stdout, "segment %s pending: its deletion from the live ledger did not happen (the live ledger holds its records; the next prune replaces it)\n", p.Name)
	}
	for _, o := range a.Orphans {
		fmt.Fprintf(stdout, "segment %s is an orphan: built from records the live ledger lost afterwards (a repair on open); not part of the chain\n", o.Name)
	}
	if len(a.Segments) == 0 {
		fmt.Fprintf(stdout, "no archive segment in %s\n", archive)
	}
	fmt.Fprintf(stdout, "live ledger OK: batches %d..%d (pruned to %d), ends in epoch %d, configuration %x\n",
		a.Live.First, a.Live.Last, a.Live.PrunedTo, a.Live.LastEpoch, a.Live.LastDigest[:8])
	fmt.Fprintf(stdout, "the %d segments and the live ledger form one chain under configuration %x\n", len(a.Segments), a.Live.ConfigDigest[:8])
	return 0
}

// ledgerReceipt is `ledger receipt`.
func ledgerReceipt(dir string, client, ts uint64, stdout, stderr io.Writer) int {
	r, err := ledger.FindReceipt(dir, client, ts)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft ledger receipt: client %d timestamp %d: %v\n", client, ts, err)
		if errors.Is(err, ledger.ErrNoReceipt) {
			fmt.Fprintf(stderr, "(a replica run with --ledger-retain keeps older batches only in its archive segments: try --dir on each)\n")
		}
		return 1
	}
	stdout.Write(spec.Encode(r))
	fmt.Fprintf(stderr, "receipt: client %d timestamp %d committed at seq %d (request %d of the batch)\n", client, ts, r.Seq, r.Index)
	return 0
}

// receiptVerify is `ledger receipt verify`.
func receiptVerify(path string, cfg *spec.Config, stdout, stderr io.Writer) int {
	raw, err := os.ReadFile(path)
	if err == nil {
		var r *ledger.Receipt
		if r, err = ledger.DecodeReceipt(raw); err == nil {
			var q *spec.Request
			if q, err = r.Verify(cfg); err == nil {
				fmt.Fprintf(stdout, "receipt OK: client %d, timestamps %d..%d, committed at seq %d (request %d of the batch), configuration %x\n",
					q.Body.Client, q.Body.Timestamp, q.Body.Timestamp+uint64(len(q.Body.Ops))-1, r.Seq, r.Index, r.ConfigDigest[:8])
				return 0
			}
		}
	}
	fmt.Fprintf(stderr, "splitbft ledger receipt verify: %s: %v\n", path, err)
	return 1
}
