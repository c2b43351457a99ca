package operator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

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

// Template returns the cluster template the client connected with.
func (k *KV) Template() *Template { return k.t }
