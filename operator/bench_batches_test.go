package operator

import (
	"os"
	"strings"
	"testing"
)

// TestRunBenchSessions: sessions run their own workloads, and the merged result sums
// them and keeps every latency; a failing session shows in the sum.
func TestBatchSamples(t *testing.T) {
	text := "# TYPE splitbft_batch_size summary\nsplitbft_batch_size_sum 140\nsplitbft_batch_size_count 10\nsplitbft_other 3\n"
	text += "splitbft_process_cpu_seconds_total{process=\"prep\",build=\"prep-a\"} 1.5\nsplitbft_process_cpu_seconds_total{process=\"broker\"} 2\n"
	cpu := map[string]float64{"prep": 1}
	sum, count, err := batchSamples(strings.NewReader(text), cpu)
	if err != nil || sum != 140 || count != 10 || cpu["prep"] != 2.5 || cpu["broker"] != 2 {
		t.Fatalf("sum %v count %v cpu %v err %v", sum, count, cpu, err)
	}
	if _, _, err := batchSamples(strings.NewReader("splitbft_batch_size_sum x\n"), nil); err == nil {
		t.Fatal("a malformed sample was accepted")
	}
}

// TestProcessCPU: the CPU time read from /proc for this process grows while it
// works, matches what the runtime's rusage says within a tick or two, and a process
// that does not exist gives none.
func TestProcessCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	before, ok := processCPU(os.Getpid())
	if !ok {
		t.Fatal("no CPU time for this process")
	}
	x := uint64(1)
	for start := selfCPU(); selfCPU()-start < 0.05; { // burn 50 ms of CPU
		for i := range 100000 {
			x = x*6364136223846793005 + uint64(i)
		}
	}
	after, _ := processCPU(os.Getpid())
	self := selfCPU()
	if after <= before || after > self+0.05 || after < self-0.05 {
		t.Fatalf("CPU from /proc %.3f s → %.3f s, rusage %.3f s (x %d)", before, after, self, x)
	}
	if _, ok := processCPU(1 << 30); ok {
		t.Fatal("CPU time for a process that does not exist")
	}
}

// TestCPUPerRequest: CPU per request by process type between two scrapes, never
// negative (a replaced compartment's counter starts again), none without counters.
func TestCPUPerRequest(t *testing.T) {
	b := BatchCounters{CPU: map[string]float64{"broker": 1, "prep": 2, "conf": 1, "exec": 5}}
	a := BatchCounters{CPU: map[string]float64{"broker": 2, "prep": 4, "conf": 1.5, "exec": 0.5}}
	got := CPUPerRequest(b, a, 1000)
	want := map[string]float64{"broker": 1, "prep": 2, "conf": 0.5, "exec": 0}
	for k, v := range want {
		if d := got[k] - v; d > 1e-9 || d < -1e-9 {
			t.Fatalf("%s: %v ms per request, want %v", k, got[k], v)
		}
	}
	if CPUPerRequest(b, BatchCounters{}, 1000) != nil || CPUPerRequest(b, a, 0) != nil {
		t.Fatal("CPU per request without counters or requests")
	}
}
