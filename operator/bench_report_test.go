package operator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchReport checks the JSON report: the histogram counts every request once in
// the right bucket, the percentiles are in milliseconds, and the file reads back
// strictly (an unknown field or another version is an error naming the file).
func TestBenchReport(t *testing.T) {
	res := BenchResult{Clients: 2, Options: BenchOptions{Pack: 4, ValueSize: 10, Keys: 16}, Ops: 12, Requests: 3,
		Elapsed:   2 * time.Second,
		Latencies: []time.Duration{300 * time.Microsecond, 3 * time.Millisecond, 2 * time.Minute}}
	rep := NewBenchReport(res, nil, "test", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if rep.OpsPerSecond != 6 || rep.ReqsPerSecond != 1.5 || rep.LatencyMs.P50 != 3 || rep.LatencyMs.Max != 120000 || rep.Date != "2026-01-02T03:04:05Z" {
		t.Fatalf("report %+v", rep)
	}
	got := map[float64]int{}
	total := 0
	for _, b := range rep.Histogram {
		got[b.UpToMs] += b.Count
		total += b.Count
	}
	if total != 3 || got[0.5] != 1 || got[4] != 1 || got[0] != 1 {
		t.Fatalf("histogram %+v", rep.Histogram)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	f, _ := os.Create(path)
	if err := rep.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	back, err := ReadBenchReport(path)
	if err != nil || back.Ops != 12 || back.Label != "test" || len(back.Histogram) != len(rep.Histogram) {
		t.Fatalf("read back %+v, %v", back, err)
	}
	raw, _ := os.ReadFile(path)
	for _, tc := range []struct{ from, to, want string }{
		{`"label"`, `"lable"`, `unknown field "lable"`},
		{`"version": 1`, `"version": 2`, "version 2, want 1"},
	} {
		os.WriteFile(path, []byte(strings.Replace(string(raw), tc.from, tc.to, 1)), 0o644)
		if _, err := ReadBenchReport(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want %q", tc.to, err, tc.want)
		}
	}
}
