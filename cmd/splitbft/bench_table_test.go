package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchTable renders two report files and checks every cell of both rows.
func TestBenchTable(t *testing.T) {
	files := []string{"testdata/bench/a.json", "testdata/bench/b.json"}
	var out, errOut bytes.Buffer
	if code := run(append([]string{"bench-table"}, files...), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := "| clients | ops per request | value | cluster | ops/s | requests/s | p50 | p99 | checked | run |\n" +
		"|---|---|---|---|---|---|---|---|---|---|\n" +
		"| 1 | 1 | 10 B | n = 4, prep-a/conf-a/exec, prep-b/conf-b/exec (dev-insecure) | 55 | 55 | 17.5 ms | 30.25 ms | 1,000 ops, 0 wrong | test a (`testdata/bench/a.json`) |\n" +
		"| 8 | 16 | 100 B | n = 4, prep-a/conf-a/exec | 6,173 | 386 | 20.1 ms | 41.5 ms | 123,456 ops, 0 wrong | test b (`testdata/bench/b.json`) |\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestBenchTableReadme replaces the table between the markers, then --check passes;
// a stale table fails --check and is left alone; errors name the problem.
func TestBenchTableReadme(t *testing.T) {
	readme := filepath.Join(t.TempDir(), "README.md")
	os.WriteFile(readme, []byte("# x\n\n"+benchBegin+"\n| old |\n"+benchEnd+"\n\nafter\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"bench-table", "--readme", readme, "--check", "testdata/bench/a.json"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "not what the reports give") {
		t.Errorf("--check of a stale table: exit %d, %q", code, errOut.String())
	}
	if code := run([]string{"bench-table", "--readme", readme, "testdata/bench/a.json"}, &out, &errOut); code != 0 {
		t.Fatalf("update: exit %d, %s", code, errOut.String())
	}
	raw, _ := os.ReadFile(readme)
	if !strings.Contains(string(raw), "| test a (`testdata/bench/a.json`) |\n"+benchEnd+"\n\nafter\n") || strings.Contains(string(raw), "| old |") {
		t.Errorf("README after the update:\n%s", raw)
	}
	if code := run([]string{"bench-table", "--readme", readme, "--check", "testdata/bench/a.json"}, &out, &errOut); code != 0 {
		t.Errorf("--check after the update: exit %d, %s", code, errOut.String())
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench-table"}, 2, "no report files"},
		{[]string{"bench-table", "--check", "testdata/bench/a.json"}, 2, "--check needs --readme"},
		{[]string{"bench-table", "testdata/bench/none.json"}, 1, "none.json"},
		{[]string{"bench-table", "--readme", "testdata/bench/a.json", "testdata/bench/a.json"}, 1, "has no <!-- bench-table: begin -->"},
	} {
		errOut.Reset()
		if code := run(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
}

// TestReadmeBenchTable checks that the README's performance table is what the report
// files in docs/bench give (regenerate: splitbft bench-table --readme README.md
// docs/bench/*.json, from the repository root).
func TestReadmeBenchTable(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	files, err := filepath.Glob(filepath.Join("docs", "bench", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no reports in docs/bench: %v", err)
	}
	var out, errOut bytes.Buffer
	if code := run(append([]string{"bench-table", "--readme", "README.md", "--check"}, files...), &out, &errOut); code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}
