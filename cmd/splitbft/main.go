// Command splitbft is the SplitBFT command-line tool.
//
//	splitbft demo [flags]   run a local 4-replica cluster in one process under a
//	                        key-value workload and report throughput and agreement
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
	"demo":        demoMain,
	"conformance": conformanceMain,
	"init":        initMain,
	"replica":     replicaMain,
	"kv":          kvMain,
	"status":      statusMain,
	"tcb":         tcbMain,
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
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
  kv      a key-value client: put, get, del, cas, script (stdin), bench
  status  every replica's view, last executed, stable checkpoint, builds, attestation
  tcb     lines of Go source linked into each enclave binary: its own logic, spec,
          shared packages, third-party modules, standard library (for auditors)

Run "splitbft <command> -h" for the flags of a command. The Byzantine swarm
simulator is a separate binary, splitbft-sim, so that this one links no test code.
`)
}
