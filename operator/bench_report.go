package operator

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/spec"
)

// BenchReportVersion is the version of the BenchReport JSON format.
const BenchReportVersion = 1

// BenchReport is a `kv bench --report` file: the request shape, the cluster, what was
// measured, and a latency histogram. The README's performance table is generated from
// such files (`splitbft bench-table`).
type BenchReport struct {
	Version int    `json:"version"`
	Label   string `json:"label"` // where and how it ran, free text (--label)
	Date    string `json:"date"`  // RFC 3339, UTC

	Cluster   BenchCluster `json:"cluster"`
	Clients   int          `json:"clients"`            // concurrent clients, one request outstanding each
	Pack      int          `json:"pack"`               // operations per signed request
	ValueSize int          `json:"value_size"`         // bytes per value
	Keys      int          `json:"keys"`               // distinct keys per client
	Workload  string       `json:"workload,omitempty"` // BenchOptions.Workload; absent in reports older than the option: mixed

	Ops            int     `json:"ops"`      // operations completed and checked
	Requests       int     `json:"requests"` // signed requests completed
	Wrong          int     `json:"wrong"`    // results that differed from the model
	Failed         int     `json:"failed"`   // requests that failed
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	OpsPerSecond   float64 `json:"ops_per_second"`
	ReqsPerSecond  float64 `json:"requests_per_second"`

	LatencyMs BenchLatency  `json:"latency_ms"` // per request
	Histogram []BenchBucket `json:"histogram"`  // per request; non-cumulative
}

// BenchCluster is the shape of the cluster a benchmark ran against.
type BenchCluster struct {
	N           uint64   `json:"n"`
	F           uint64   `json:"f"`
	Builds      []string `json:"builds"` // per replica, "prep-a/conf-b/exec"
	MaxBatch    uint64   `json:"max_batch_requests"`
	DevInsecure bool     `json:"dev_insecure"`
}

// BenchLatency are latency percentiles in milliseconds.
type BenchLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// BenchBucket counts the requests whose latency was at most UpToMs and above the
// previous bucket's bound; the last bucket (UpToMs 0) counts those above every bound.
type BenchBucket struct {
	UpToMs float64 `json:"up_to_ms"`
	Count  int     `json:"count"`
}

// benchBounds are the histogram's upper bounds in milliseconds: 0.25 ms doubling to
// about 65 s.
func benchBounds() []float64 {
	var b []float64
	for v := 0.25; v <= 65536; v *= 2 {
		b = append(b, v)
	}
	return b
}

// NewBenchReport makes the report of res, run against cluster cfg, labelled label.
func NewBenchReport(res BenchResult, cfg *spec.Config, label string, now time.Time) BenchReport {
	secs := max(res.Elapsed.Seconds(), 1e-9)
	r := BenchReport{Version: BenchReportVersion, Label: label, Date: now.UTC().Format(time.RFC3339),
		Clients: res.Clients, Pack: res.Options.Pack, ValueSize: res.Options.ValueSize, Keys: res.Options.Keys, Workload: res.Options.Workload,
		Ops: res.Ops, Requests: res.Requests, Wrong: res.Wrong, Failed: res.Failed,
		ElapsedSeconds: round3(res.Elapsed.Seconds()), OpsPerSecond: round3(float64(res.Ops) / secs),
		ReqsPerSecond: round3(float64(res.Requests) / secs),
		LatencyMs:     BenchLatency{P50: ms(res.Percentile(50)), P90: ms(res.Percentile(90)), P99: ms(res.Percentile(99)), Max: ms(res.Percentile(100))},
		Histogram:     histogram(res.Latencies)}
	if cfg != nil {
		r.Cluster = BenchCluster{N: cfg.N, F: cfg.F, MaxBatch: cfg.MaxBatchRequests, DevInsecure: attest.InsecureWarning(cfg) != ""}
		for i := range cfg.Replicas {
			r.Cluster.Builds = append(r.Cluster.Builds, fmt.Sprintf("%s/%s/%s", cfg.Enrollment(spec.RolePrep, uint64(i)).Body.Build,
				cfg.Enrollment(spec.RoleConf, uint64(i)).Body.Build, cfg.Enrollment(spec.RoleExec, uint64(i)).Body.Build))
		}
	}
	return r
}

// histogram buckets the latencies by benchBounds.
func histogram(lat []time.Duration) []BenchBucket {
	bounds := benchBounds()
	out := make([]BenchBucket, len(bounds)+1)
	for i, b := range bounds {
		out[i].UpToMs = b
	}
	for _, l := range lat {
		i := 0
		for i < len(bounds) && ms(l) > bounds[i] {
			i++
		}
		out[i].Count++
	}
	return out
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Write writes the report as indented JSON.
func (r *BenchReport) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadBenchReport reads a report file, strictly: unknown fields and other versions
// are errors naming the file.
func ReadBenchReport(path string) (*BenchReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("operator: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var r BenchReport
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("operator: bench report %s: %w", path, err)
	}
	if r.Version != BenchReportVersion {
		return nil, fmt.Errorf("operator: bench report %s: version %d, want %d", path, r.Version, BenchReportVersion)
	}
	return &r, nil
}
