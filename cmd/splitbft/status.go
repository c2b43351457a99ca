package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/splitbft/splitbft/operator"
)

// statusMain is `splitbft status`: every replica's view, progress, builds and
// attestation state, as a table or JSON.
func statusMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: splitbft status --dir DIR [--json]\n\n"+
			"Queries GET /status of every replica of the cluster in DIR and prints, per compartment:\n"+
			"replica, phase, role, build, view, last executed (prep: prepared, conf: committed),\n"+
			"stable checkpoint, attestation state and alive/dead. Exit 1 if a replica is unreachable.\n\n")
		fs.PrintDefaults()
	}
	dir := fs.String("dir", "", "cluster directory (required)")
	asJSON := fs.Bool("json", false, "print the replicas' /status documents as one JSON array")
	timeout := fs.Duration("timeout", 3*time.Second, "per replica")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "splitbft status: --dir is required and takes no arguments")
		return 2
	}
	t, err := operator.LoadTemplate(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft status: %v\n", err)
		return 1
	}
	results := operator.FetchStatus(context.Background(), t, *timeout)
	if err := printStatus(stdout, results, *asJSON); err != nil {
		fmt.Fprintf(stderr, "splitbft status: %v\n", err)
		return 1
	}
	for _, r := range results {
		if r.Err != nil {
			return 1
		}
	}
	return 0
}

// printStatus writes the results as a table, or as JSON (null for an unreachable
// replica, with its error).
func printStatus(w io.Writer, results []operator.StatusResult, asJSON bool) error {
	if !asJSON {
		return operator.WriteStatusTable(w, results)
	}
	type entry struct {
		Replica uint64                  `json:"replica"`
		Status  *operator.ReplicaStatus `json:"status"`
		Error   string                  `json:"error,omitempty"`
	}
	out := make([]entry, len(results))
	for i, r := range results {
		out[i] = entry{Replica: r.Replica, Status: r.Status}
		if r.Err != nil {
			out[i].Error = r.Err.Error()
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
