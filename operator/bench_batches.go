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
// and client batches its broker delivered to its prep; and of its
// splitbft_process_cpu_seconds_total, by process type (broker, prep, conf, exec).
type BatchCounters struct {
	Requests, Batches float64
	CPU               map[string]float64
}

// ProcessTypes are the process label values of splitbft_process_cpu_seconds_total.
var ProcessTypes = []string{"broker", "prep", "conf", "exec"}

// ScrapeBatches reads /metrics from every replica's status address in t and sums the
// batch-size summaries. A replica that does not answer is an error.
func ScrapeBatches(ctx context.Context, t *Template) (BatchCounters, error) {
	sum := BatchCounters{CPU: map[string]float64{}}
	for _, r := range t.Replicas {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Status+"/metrics", nil)
		if err != nil {
			return sum, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return sum, fmt.Errorf("operator: metrics of replica %d: %w", r.ID, err)
		}
		reqs, batches, err := batchSamples(io.LimitReader(resp.Body, 1<<20), sum.CPU)
		resp.Body.Close()
		if err != nil {
			return sum, fmt.Errorf("operator: metrics of replica %d: %w", r.ID, err)
		}
		sum.Requests += reqs
		sum.Batches += batches
	}
	return sum, nil
}

// batchSamples returns the splitbft_batch_size_sum and _count samples of an
// exposition, and adds its splitbft_process_cpu_seconds_total samples to cpu by
// process label.
func batchSamples(r io.Reader, cpu map[string]float64) (sum, count float64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		var p *float64
		var cpuSample float64
		switch {
		case name == "splitbft_batch_size_sum":
			p = &sum
		case name == "splitbft_batch_size_count":
			p = &count
		case strings.HasPrefix(name, "splitbft_process_cpu_seconds_total{"):
			p = &cpuSample
		}
		if ok && p != nil {
			if *p, err = strconv.ParseFloat(strings.TrimSpace(val), 64); err != nil {
				return 0, 0, fmt.Errorf("sample %s: %w", name, err)
			}
		}
		if p == &cpuSample && cpu != nil {
			cpu[processLabel(name)] += cpuSample
		}
	}
	return sum, count, sc.Err()
}

// Template returns the cluster template the client connected with.
func (k *KV) Template() *Template { return k.t }

// processLabel returns the value of the process label of a sample name.
func processLabel(name string) string {
	_, rest, _ := strings.Cut(name, `process="`)
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// CPUPerRequest returns, by process type, the CPU milliseconds per request that the
// replicas used between two scrapes; nil if the counters are missing.
func CPUPerRequest(before, after BatchCounters, requests int) map[string]float64 {
	if requests <= 0 || len(after.CPU) == 0 {
		return nil
	}
	out := map[string]float64{}
	for _, p := range ProcessTypes {
		out[p] = max(after.CPU[p]-before.CPU[p], 0) * 1000 / float64(requests)
	}
	return out
}
