package operator

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// Model is a sequential kv-v1 store: what a correct cluster's answers must match.
type Model map[string]string

// Apply applies op to the model and returns the line FormatResult must give for it.
func (m Model) Apply(op Op) string {
	k := string(op.Key)
	cur, ok := m[k]
	switch op.Verb {
	case "put":
		m[k] = string(op.Value)
		return "ok"
	case "get", "del":
		if !ok {
			return "notfound"
		}
		if op.Verb == "del" {
			delete(m, k)
		}
		return "ok " + strconv.Quote(cur)
	case "cas":
		if !ok || cur != string(op.Expected) {
			return "mismatch " + strconv.Quote(cur)
		}
	case "cas-absent":
		if ok {
			return "mismatch " + strconv.Quote(cur)
		}
	}
	m[k] = string(op.Value)
	return "ok"
}

// RandomOp draws an operation on keys prefix0..prefix<keys-1> that is likely to
// succeed against the model m: puts, gets, deletes, and compare-and-swaps that
// mostly expect the current value.
func RandomOp(rng *rand.Rand, m Model, prefix string, keys, valueSize int) Op {
	k := []byte(prefix + strconv.Itoa(rng.IntN(keys)))
	v := []byte(fmt.Sprintf("%0*d", valueSize, rng.Uint64()%1_000_000_000))[:valueSize]
	cur, ok := m[string(k)]
	switch p := rng.IntN(10); {
	case p < 3:
		return Op{Verb: "put", Key: k, Value: v}
	case p < 6:
		return Op{Verb: "get", Key: k}
	case p < 7:
		return Op{Verb: "del", Key: k}
	case !ok:
		return Op{Verb: "cas-absent", Key: k, Value: v}
	case p < 9:
		return Op{Verb: "cas", Key: k, Expected: []byte(cur), Value: v}
	}
	return Op{Verb: "cas", Key: k, Expected: []byte("stale"), Value: v}
}

// BenchOptions shape RunBench. Zero values take the defaults noted.
type BenchOptions struct {
	Ops       int    // operations in all; default 1000
	Pack      int    // operations per signed request; default 1
	Keys      int    // distinct keys; default 16
	ValueSize int    // bytes per value; default 10
	Seed      uint64 // the workload's random stream
	Prefix    string // key prefix, unique per run so the model starts empty; required
}

// BenchResult is what RunBench measured.
type BenchResult struct {
	Ops, Requests int             // operations and requests completed
	Wrong, Failed int             // results that differed from the model; requests that failed
	Elapsed       time.Duration   // wall time of the run
	Latencies     []time.Duration // per request, sorted
	FirstWrong    string          // the first wrong result, for the report
	FirstFailure  error           // the first failed request
}

// RunBench runs a seeded workload of opt.Ops operations, opt.Pack per request, one
// request at a time, and checks every result against a Model. A failed request ends
// the run (its operations' effects are unknown, so the model cannot continue).
func RunBench(ctx context.Context, d Doer, opt BenchOptions) BenchResult {
	opt.Ops, opt.Pack = cmpInt(opt.Ops, 1000), cmpInt(opt.Pack, 1)
	opt.Keys, opt.ValueSize = cmpInt(opt.Keys, 16), cmpInt(opt.ValueSize, 10)
	rng := rand.New(rand.NewPCG(opt.Seed, 0xbe4c))
	m := Model{}
	var res BenchResult
	start := time.Now()
	for res.Ops < opt.Ops && res.Failed == 0 {
		ops := make([]Op, min(opt.Pack, opt.Ops-res.Ops))
		want := make([]string, len(ops))
		plain := make([][]byte, len(ops))
		for i := range ops {
			ops[i] = RandomOp(rng, m, opt.Prefix, opt.Keys, opt.ValueSize)
			want[i], plain[i] = m.Apply(ops[i]), ops[i].Plaintext()
		}
		t0 := time.Now()
		got, err := d.Do(ctx, plain)
		res.Latencies = append(res.Latencies, time.Since(t0))
		if err != nil {
			res.Failed, res.FirstFailure = 1, err
			break
		}
		res.Requests++
		res.Ops += len(ops)
		res.check(ops, want, got)
	}
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	return res
}

func (res *BenchResult) check(ops []Op, want []string, got []spec.Result) {
	for i := range ops {
		if g := FormatResult(ops[i], got[i]); g != want[i] {
			res.Wrong++
			if res.FirstWrong == "" {
				res.FirstWrong = fmt.Sprintf("%s %q: got %s, want %s", ops[i].Verb, ops[i].Key, g, want[i])
			}
		}
	}
}

func cmpInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Percentile returns the p-th percentile (0..100) of the sorted latencies.
func (res *BenchResult) Percentile(p int) time.Duration {
	if len(res.Latencies) == 0 {
		return 0
	}
	return res.Latencies[min(len(res.Latencies)-1, p*len(res.Latencies)/100)]
}

// Report writes a summary of the run.
func (res *BenchResult) Report(w io.Writer) {
	secs := max(res.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "operations   %d ok in %d requests, %d wrong, %d failed requests, %s\n", res.Ops, res.Requests, res.Wrong, res.Failed, res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "throughput   %.0f ops/s (%.0f requests/s)\n", float64(res.Ops)/secs, float64(res.Requests)/secs)
	fmt.Fprintf(w, "latency      p50 %s  p90 %s  p99 %s  max %s\n", res.Percentile(50).Round(time.Microsecond),
		res.Percentile(90).Round(time.Microsecond), res.Percentile(99).Round(time.Microsecond), res.Percentile(100).Round(time.Microsecond))
	if res.FirstWrong != "" {
		fmt.Fprintf(w, "first wrong  %s\n", res.FirstWrong)
	}
	if res.FirstFailure != nil {
		fmt.Fprintf(w, "failure      %v\n", res.FirstFailure)
	}
}
