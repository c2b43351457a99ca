// Command splitbft is the SplitBFT command-line tool.
//
//	splitbft <command> [flags] [arguments]
//	splitbft help [command]
//
// Commands: demo, conformance, init, replica, kv, status, gateway, recover, propose, tcb, bench-table, ledger
// (see usage below, and cli.go for the flag handling they share).
//
// Trust: untrusted host code. It hosts compartments in-process, outside any enclave.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// commands maps each subcommand to its entry point.
var commands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"demo":            demoMain,
	"conformance":     conformanceMain,
	"init":            initMain,
	"replica":         replicaMain,
	"recover":         recoverMain,
	"recover-cluster": recoverClusterMain,
	"propose":         proposeMain,
	"keygen":          keygenMain,
	"kv":              kvMain,
	"status":          statusMain,
	"gateway":         gatewayMain,
	"tcb":             tcbMain,
	"bench-table":     benchTableMain,
	"ledger":          ledgerMain,
}

// run runs the command line args (without the program name) and returns the exit
// status: help (no arguments is a usage error) exits 0, an unknown command 2.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		return help(args[1:], stdout, stderr)
	}
	if args[0] == "sim" {
		fmt.Fprintln(stderr, "splitbft: the swarm simulator is its own binary now (this one links no test code):\n  go run ./cmd/splitbft-sim -h")
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "splitbft: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd(args[1:], stdout, stderr)
}

// help is `splitbft help [VERB]`: the overview, or the verb's own help.
func help(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stdout)
		return 0
	case len(args) > 1:
		fmt.Fprintln(stderr, "splitbft help: takes at most one command name")
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "splitbft help: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd([]string{"-h"}, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: splitbft <command> [flags]

commands:
  demo    run a local 4-replica cluster in one process under a key-value workload
          (dev-insecure: no enclave, no TEE protection) and report throughput,
          latency and the state digest every replica agrees on
  conformance  run the conformance vectors of a role against a compartment binary
  init    write a cluster directory (template, client credentials) for n = 3f+1
          replicas and print its diversity matrix
  replica run one replica: its broker and its prep, conf, exec compartments as processes
          (started again after a crash, it rejoins the running cluster)
  recover replace one compartment of a running replica by a fresh one, admitted in a
          new epoch (optionally another accepted build)
  recover-cluster  recover a whole cluster after every replica stopped: collect the
          replicas' offers, sign the recovery plan with member keys, deliver it
  propose sign a governance proposal with member keys and submit it (a new epoch):
          builds, addresses, clients, members, threshold
  keygen  make the key of a new client or governance member, for propose to register
  kv      a key-value client: put, get, del, cas, script (stdin), bench
  status  every replica's view, last executed, stable checkpoint, builds, attestation,
          and the cluster's health as the exit status (0 healthy, 1 degraded, 2 no quorum)
  gateway verify a replica's Redis gateway (attestation, registered identities, TLS key)
          and write its certificate for redis-cli to pin
  tcb     lines of Go source linked into each enclave binary: its own logic, spec,
          shared packages, third-party modules, standard library (for auditors)
  bench-table  render "kv bench --report" files as the README's performance table
  ledger  verify a replica's durable ledger offline; extract and verify a client's receipt

Run "splitbft help <command>" (or "splitbft <command> -h") for a command's synopsis,
an example and its flags. Flags may come before or after a command's arguments.
The Byzantine swarm simulator is a separate binary, splitbft-sim, so that this one
links no test code.
`)
}
