package operator

import (
	"context"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/exec/kv"
)

// TestRunBenchSessions: sessions run their own workloads, and the merged result sums
// them and keeps every latency; a failing session shows in the sum.
func TestRunBenchSessions(t *testing.T) {
	doers := []Doer{&storeDoer{s: kv.New()}, &storeDoer{s: kv.New()}, &storeDoer{s: kv.New()}}
	res := RunBenchSessions(context.Background(), doers, BenchOptions{Ops: 40, Pack: 4, Seed: 3, Prefix: "t-"})
	if res.Ops != 120 || res.Requests != 30 || len(res.Latencies) != 30 || res.Wrong != 0 || res.Failed != 0 {
		t.Fatalf("ops %d requests %d latencies %d wrong %d failed %d", res.Ops, res.Requests, len(res.Latencies), res.Wrong, res.Failed)
	}
	doers = []Doer{&storeDoer{s: kv.New()}, &storeDoer{s: kv.New(), failAt: 1}, &storeDoer{s: kv.New()}}
	res = RunBenchSessions(context.Background(), doers, BenchOptions{Ops: 40, Pack: 4, Seed: 3, Prefix: "t-"})
	if res.Failed != 1 || res.Ops != 80 || res.FirstFailure == nil {
		t.Fatalf("with a failing session: failed %d ops %d first failure %v", res.Failed, res.Ops, res.FirstFailure)
	}
}

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
