package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/splitbft/splitbft/operator"
)

const benchTableUsage = `usage: splitbft bench-table [--readme FILE [--check]] REPORT.json...

Renders the reports that "splitbft kv bench --report" wrote as one Markdown table, one
row per report in the order given: request shape (clients, operations per signed
request, value size), cluster (n, builds), throughput, latency percentiles and the
label. With --readme it replaces the table between the markers
  <!-- bench-table: begin -->  and  <!-- bench-table: end -->
in FILE; with --check as well it changes nothing and exits 1 if FILE's table is not
what the reports give (for CI).

example:
  splitbft kv bench --dir /tmp/sbft --client 1 --clients 4 --pack 16 --duration 20s \
      --report docs/bench/c4-p16.json --label "4 processes, 2-core VM"
  splitbft bench-table --readme README.md docs/bench/*.json`

// Markers of the generated table in a README.
const (
	benchBegin = "<!-- bench-table: begin -->"
	benchEnd   = "<!-- bench-table: end -->"
)

// benchTableMain is `splitbft bench-table`.
func benchTableMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench-table", benchTableUsage, stderr)
	readme := fs.String("readme", "", "replace the generated table in this Markdown file")
	check := fs.Bool("check", false, "with --readme: exit 1 if the file's table is stale, change nothing")
	files, err := parseFlags(fs, args, stdout)
	switch {
	case err != nil:
	case len(files) == 0:
		err = errors.New("no report files")
	case *check && *readme == "":
		err = errors.New("--check needs --readme")
	}
	if err != nil {
		return usageError("bench-table", err, stderr)
	}
	table, err := benchTable(files)
	if err == nil && *readme != "" {
		err = updateReadme(*readme, table, *check)
	} else if err == nil {
		_, err = io.WriteString(stdout, table)
	}
	if err != nil {
		fmt.Fprintf(stderr, "splitbft bench-table: %v\n", err)
		return 1
	}
	return 0
}

// benchTable renders the report files as a Markdown table.
func benchTable(files []string) (string, error) {
	var b strings.Builder
	b.WriteString("| clients | ops per request | value | cluster | ops/s | requests/s | p50 | p99 | checked | run |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range files {
		r, err := operator.ReadBenchReport(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| %d | %d | %d B | n = %d, %s | %s | %s | %s ms | %s ms | %s ops, %d wrong | %s (`%s`) |\n",
			r.Clients, r.Pack, r.ValueSize, r.Cluster.N, clusterNote(r), thousands(int64(r.OpsPerSecond+0.5)),
			thousands(int64(r.ReqsPerSecond+0.5)), fmt.Sprint(r.LatencyMs.P50), fmt.Sprint(r.LatencyMs.P99),
			thousands(int64(r.Ops)), r.Wrong, r.Label, filepath.ToSlash(f))
	}
	return b.String(), nil
}

// clusterNote summarises the builds of a report's cluster.
func clusterNote(r *operator.BenchReport) string {
	s := strings.Join(r.Cluster.Builds, ", ")
	if r.Cluster.DevInsecure {
		s += " (dev-insecure)"
	}
	return s
}

// updateReadme replaces the table between the markers of the file at path, or with
// check only compares it.
func updateReadme(path, table string, check bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i, j := bytes.Index(raw, []byte(benchBegin)), bytes.Index(raw, []byte(benchEnd))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s block", path, benchBegin, benchEnd)
	}
	head := raw[:i+len(benchBegin)]
	out := append(append(append([]byte(nil), head...), "\n"+table...), raw[j:]...)
	switch {
	case bytes.Equal(out, raw):
		return nil
	case check:
		return fmt.Errorf("%s: the performance table is not what the reports give: run splitbft bench-table --readme %s with them", path, path)
	}
	return os.WriteFile(path, out, 0o644)
}
