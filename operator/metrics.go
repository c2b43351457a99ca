package operator

import "sync"

// The /metrics exposition is produced by github.com/prometheus/client_golang from a
// collector over one snapshot of the replica (node_metrics.go). This file holds the
// latency histogram the compartments' Step calls feed.

// LatencyBounds are the bucket upper bounds, in seconds, of enclave call latency.
var LatencyBounds = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

// Histogram counts observations into buckets. It is safe for concurrent use.
type Histogram struct {
	mu     sync.Mutex
	bounds []float64 // strictly increasing upper bounds; +Inf is implicit
	counts []uint64  // counts[i]: observations v with bounds[i-1] < v ≤ bounds[i]; len == len(bounds)
	count  uint64    // all observations, including those above the last bound
	sum    float64
}

// NewHistogram returns an empty histogram with the given strictly increasing bounds.
func NewHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]uint64, len(bounds))}
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, b := range h.bounds {
		if v <= b {
			h.counts[i]++
			break
		}
	}
	h.count++
	h.sum += v
}

// HistogramSnapshot is a histogram's state at one moment. Counts are per bucket, not
// cumulative.
type HistogramSnapshot struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Snapshot returns a copy of the histogram's state.
func (h *Histogram) Snapshot() HistogramSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HistogramSnapshot{Bounds: h.bounds, Counts: append([]uint64(nil), h.counts...), Count: h.count, Sum: h.sum}
}
