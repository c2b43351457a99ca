package operator

import (
	"strings"
	"testing"
)

// TestRunBenchSessions: sessions run their own workloads, and the merged result sums
// them and keeps every latency; a failing session shows in the sum.
func TestBatchSamples(t *testing.T) {
	text := "# TYPE splitbft_batch_size summary\nsplitbft_batch_size_sum 140\nsplitbft_batch_size_count 10\nsplitbft_other 3\n"
	sum, count, err := batchSamples(strings.NewReader(text))
	if err != nil || sum != 140 || count != 10 {
		t.Fatalf("sum %v count %v err %v", sum, count, err)
	}
	if _, _, err := batchSamples(strings.NewReader("splitbft_batch_size_sum x\n")); err == nil {
		t.Fatal("a malformed sample was accepted")
	}
}
