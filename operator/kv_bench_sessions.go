package operator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RunBenchSessions runs RunBench on every doer at once, one session each (session i
// with seed opt.Seed+i and its own key prefix), and merges the results: operations,
// requests, wrong and failed results are summed, Elapsed is the wall time of the whole
// run, and Latencies holds every request's latency, sorted. It is the load of many
// clients from one process, so that client cost is not multiplied by process overhead.
func RunBenchSessions(ctx context.Context, doers []Doer, opt BenchOptions) BenchResult {
	results := make([]BenchResult, len(doers))
	var wg sync.WaitGroup
	start := time.Now()
	for i, d := range doers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := opt
			o.Seed += uint64(i)
			o.Prefix = fmt.Sprintf("%ss%d-", opt.Prefix, i)
			results[i] = RunBench(ctx, d, o)
		}()
	}
	wg.Wait()
	out := BenchResult{Elapsed: time.Since(start)}
	for _, r := range results {
		out.Ops, out.Requests = out.Ops+r.Ops, out.Requests+r.Requests
		out.Wrong, out.Failed = out.Wrong+r.Wrong, out.Failed+r.Failed
		out.Latencies = append(out.Latencies, r.Latencies...)
		if out.FirstWrong == "" {
			out.FirstWrong = r.FirstWrong
		}
		if out.FirstFailure == nil {
			out.FirstFailure = r.FirstFailure
		}
	}
	slices.Sort(out.Latencies)
	return out
}

// BatchCounters are the sums of every replica's splitbft_batch_size summary: requests
// and client batches its broker delivered to its prep.
type BatchCounters struct{ Requests, Batches float64 }

// ScrapeBatches reads /metrics from every replica's status address in t and sums the
// batch-size summaries. A replica that does not answer is an error.
func ScrapeBatches(ctx context.Context, t *Template) (BatchCounters, error) {
	var sum BatchCounters
	for _, r := range t.Replicas {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Status+"/metrics", nil)
		if err != nil {
			return sum, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return sum, fmt.Errorf("operator: metrics of replica %d: %w", r.ID, err)
		}
		reqs, batches, err := batchSamples(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return sum, fmt.Errorf("operator: metrics of replica %d: %w", r.ID, err)
		}
		sum.Requests += reqs
		sum.Batches += batches
	}
	return sum, nil
}

// batchSamples returns the splitbft_batch_size_sum and _count samples of an exposition.
func batchSamples(r io.Reader) (sum, count float64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		var p *float64
		switch name {
		case "splitbft_batch_size_sum":
			p = &sum
		case "splitbft_batch_size_count":
			p = &count
		}
		if ok && p != nil {
			if *p, err = strconv.ParseFloat(strings.TrimSpace(val), 64); err != nil {
				return 0, 0, fmt.Errorf("sample %s: %w", name, err)
			}
		}
	}
	return sum, count, sc.Err()
}
