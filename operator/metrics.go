package operator

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
)

// This file writes the Prometheus text exposition format (version 0.0.4) by hand:
// one "# HELP" and one "# TYPE" line per metric family, then its samples, each
// `name{label="value",...} value`. Label values escape backslash, double quote and
// newline; values are Go floats with +Inf, -Inf and NaN spelled as Prometheus does.

// MetricsContentType is the Content-Type of the exposition.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

// Exposition accumulates metric families and writes them in the text format. Families
// must be declared (Family) before their samples; a family's samples must follow its
// declaration without another family in between.
type Exposition struct {
	w    *bufio.Writer
	last string // the family being written
}

// NewExposition returns an Exposition writing to w; call Flush at the end.
func NewExposition(w io.Writer) *Exposition { return &Exposition{w: bufio.NewWriter(w)} }

// Family starts a metric family of type typ (counter, gauge, histogram, summary,
// untyped) with its help text.
func (e *Exposition) Family(name, typ, help string) {
	help = strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help)
	fmt.Fprintf(e.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	e.last = name
}

// Sample writes one sample of the current family (name may carry a _bucket, _sum,
// _count or _total suffix of it).
func (e *Exposition) Sample(name string, v float64, labels ...Label) {
	if !strings.HasPrefix(name, e.last) {
		panic("operator: sample " + name + " outside its family " + e.last)
	}
	e.w.WriteString(name)
	if len(labels) > 0 {
		e.w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				e.w.WriteByte(',')
			}
			fmt.Fprintf(e.w, "%s=\"%s\"", l.Name, escapeLabel(l.Value))
		}
		e.w.WriteByte('}')
	}
	e.w.WriteByte(' ')
	e.w.WriteString(formatFloat(v))
	e.w.WriteByte('\n')
}

// Single writes a family with one unlabelled sample.
func (e *Exposition) Single(name, typ, help string, v float64) {
	e.Family(name, typ, help)
	e.Sample(name, v)
}

// Histogram writes the samples of one histogram series: cumulative buckets with
// their upper bounds (le), +Inf, _sum and _count.
func (e *Exposition) Histogram(name string, h HistogramSnapshot, labels ...Label) {
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		e.Sample(name+"_bucket", float64(cum), append(labels[:len(labels):len(labels)], Label{"le", formatFloat(b)})...)
	}
	e.Sample(name+"_bucket", float64(h.Count), append(labels[:len(labels):len(labels)], Label{"le", "+Inf"})...)
	e.Sample(name+"_sum", h.Sum, labels...)
	e.Sample(name+"_count", float64(h.Count), labels...)
}

// Flush writes out everything buffered.
func (e *Exposition) Flush() error { return e.w.Flush() }

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

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
