package operator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// Model is a sequential kv-v1 store: what a correct cluster's answers must match.
type Model map[string]string

// Apply applies op to the model and returns the line FormatResult must give for it.
func (m Model) Apply(op Op) string { return FormatResult(op, m.Expect(op)) }

// Expect applies op to the model and returns the result a correct cluster gives for
// it, compared with SameResult (the benchmark checks every result this way, without
// formatting lines).
func (m Model) Expect(op Op) spec.Result {
	k := string(op.Key)
	cur, ok := m[k]
	switch op.Verb {
	case "put":
		m[k] = string(op.Value)
		return spec.Result{Status: spec.StatusOK}
	case "get", "del":
		if !ok {
			return spec.Result{Status: spec.StatusNotFound}
		}
		if op.Verb == "del" {
			delete(m, k)
		}
		return spec.Result{Status: spec.StatusOK, Value: []byte(cur)}
	case "cas":
		if !ok || cur != string(op.Expected) {
			return spec.Result{Status: spec.StatusCASMismatch, Value: []byte(cur)}
		}
	case "cas-absent":
		if ok {
			return spec.Result{Status: spec.StatusCASMismatch, Value: []byte(cur)}
		}
	}
	m[k] = string(op.Value)
	return spec.Result{Status: spec.StatusOK}
}

// SameResult reports whether got and want give the same FormatResult line for op:
// the same status, and the same value where the line shows one.
func SameResult(op Op, got, want spec.Result) bool {
	if got.Status != want.Status {
		return false
	}
	switch {
	case got.Status == spec.StatusOK && (op.Verb == "get" || op.Verb == "del"), got.Status == spec.StatusCASMismatch:
		return bytes.Equal(got.Value, want.Value)
	}
	return true
}

// RandomOp draws an operation on keys prefix0..prefix<keys-1> that is likely to
// succeed against the model m: puts, gets, deletes, and compare-and-swaps that
// mostly expect the current value.
func RandomOp(rng *rand.Rand, m Model, prefix string, keys, valueSize int) Op {
	k := []byte(prefix + strconv.Itoa(rng.IntN(keys)))
	v := zeroPadded(rng.Uint64()%1_000_000_000, valueSize)
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

// zeroPadded returns fmt.Sprintf("%0*d", width, n) cut to width bytes.
func zeroPadded(n uint64, width int) []byte {
	d := strconv.AppendUint(make([]byte, 0, 20), n, 10)
	if len(d) >= width {
		return d[:width]
	}
	v := make([]byte, width)
	for i := range width - len(d) {
		v[i] = '0'
	}
	copy(v[width-len(d):], d)
	return v
}

// BenchOptions shape RunBench. Zero values take the defaults noted.
type BenchOptions struct {
	Ops       int           // operations in all; default 1000 when Duration is 0, else unbounded
	Duration  time.Duration // stop issuing requests after this long; default 0 (run until Ops)
	Pack      int           // operations per signed request; default 1
	Keys      int           // distinct keys per client; default 16
	ValueSize int           // bytes per value; default 10
	Seed      uint64        // the workload's random stream (client i uses Seed+i)
	Prefix    string        // key prefix, unique per run so the models start empty; required
	// Workload is WorkloadMixed (the default: RandomOp's gets, puts, deletes and
	// compare-and-swaps on Prefix's keys) or WorkloadPuts (BenchmarkCluster's: puts
	// only, of keys c<client>/k<j> for the j-th operation of a request, j < Keys, and
	// values "v" and the request's number, zero-padded to ValueSize).
	Workload string
	Progress func(ops, requests int64, elapsed time.Duration) // called about every Every, never after RunBench returns; may be nil
	Every    time.Duration                                    // progress period; default 1s
	// RequestTimeout bounds each request; default 30s. A request that times out fails
	// the run, also within Duration: a stuck cluster must not pass as a slow one.
	RequestTimeout time.Duration
}

// The workloads of BenchOptions.Workload.
const (
	WorkloadMixed = "mixed"
	WorkloadPuts  = "puts"
)

func (o BenchOptions) withDefaults() BenchOptions {
	if o.Workload == "" {
		o.Workload = WorkloadMixed
	}
	if o.Duration <= 0 {
		o.Ops = cmpInt(o.Ops, 1000)
	}
	o.Pack, o.Keys, o.ValueSize = cmpInt(o.Pack, 1), cmpInt(o.Keys, 16), cmpInt(o.ValueSize, 10)
	o.Every, o.RequestTimeout = cmpOr(o.Every, time.Second), cmpOr(o.RequestTimeout, 30*time.Second)
	return o
}

// BenchResult is what RunBench measured.
type BenchResult struct {
	Clients       int             // concurrent clients (one outstanding request each)
	Options       BenchOptions    // the options, defaults applied
	Ops, Requests int             // operations and requests completed
	Wrong, Failed int             // results that differed from the model; requests that failed
	Elapsed       time.Duration   // wall time of the run
	Latencies     []time.Duration // per request, sorted
	FirstWrong    string          // the first wrong result, for the report
	FirstFailure  error           // the first failed request
}

// RunBench runs a seeded workload from len(doers) concurrent clients, each with one
// request of opt.Pack operations outstanding at a time on its own keys, until opt.Ops
// operations were issued or opt.Duration passed, and checks every result against a
// Model per client. A failed request ends the run (its operations' effects are
// unknown, so the model cannot continue); a request cut off by the end of the
// duration is not counted.
func RunBench(ctx context.Context, doers []Doer, opt BenchOptions) BenchResult {
	opt = opt.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opt.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, opt.Duration)
		defer cancel()
	}
	b := &bench{opt: opt, cancel: cancel}
	start := time.Now()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		b.progress(start, stop)
	}()
	var wg sync.WaitGroup
	parts := make([]BenchResult, len(doers))
	for i, d := range doers {
		wg.Go(func() { parts[i] = b.client(ctx, i, d) })
	}
	wg.Wait()
	close(stop)
	<-stopped // no Progress call after RunBench returns
	res := BenchResult{Clients: len(doers), Options: opt, Elapsed: time.Since(start)}
	for _, p := range parts {
		res.merge(p)
	}
	slices.Sort(res.Latencies)
	return res
}

// bench is the state the clients of one RunBench share.
type bench struct {
	opt           BenchOptions
	cancel        func()
	issued        atomic.Int64 // operations claimed by clients (against opt.Ops)
	ops, requests atomic.Int64 // completed, for the progress line
}

// claim reserves up to opt.Pack operations and returns how many (0: the run is over).
func (b *bench) claim() int {
	if b.opt.Ops <= 0 {
		return b.opt.Pack
	}
	end := b.issued.Add(int64(b.opt.Pack))
	return max(0, min(b.opt.Pack, b.opt.Ops-int(end-int64(b.opt.Pack))))
}

// client runs client i's loop on its own keys and model.
func (b *bench) client(ctx context.Context, i int, d Doer) BenchResult {
	rng := rand.New(rand.NewPCG(b.opt.Seed+uint64(i), 0xbe4c))
	prefix := fmt.Sprintf("%sc%d/", b.opt.Prefix, i)
	var putKeys [][]byte
	if b.opt.Workload == WorkloadPuts {
		for k := range b.opt.Keys {
			putKeys = append(putKeys, fmt.Appendf(nil, "c%d/k%d", i, k))
		}
	}
	m := Model{}
	var res BenchResult
	for n := b.claim(); n > 0 && ctx.Err() == nil; n = b.claim() {
		ops, want, plain := make([]Op, n), make([]spec.Result, n), make([][]byte, n)
		for j := range ops {
			if putKeys != nil {
				v := append([]byte{'v'}, zeroPadded(uint64(res.Requests), max(b.opt.ValueSize-1, 0))...)[:b.opt.ValueSize]
				ops[j] = Op{Verb: "put", Key: putKeys[j%len(putKeys)], Value: v}
			} else {
				ops[j] = RandomOp(rng, m, prefix, b.opt.Keys, b.opt.ValueSize)
			}
			want[j], plain[j] = m.Expect(ops[j]), ops[j].Plaintext()
		}
		t0 := time.Now()
		rctx, cancel := context.WithTimeout(ctx, b.opt.RequestTimeout)
		got, err := d.Do(rctx, plain)
		cancel()
		if err != nil {
			if ctx.Err() == nil || !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				res.Failed, res.FirstFailure = 1, err
				b.cancel()
			}
			break
		}
		res.Latencies = append(res.Latencies, time.Since(t0))
		res.Requests++
		res.Ops += n
		b.ops.Add(int64(n))
		b.requests.Add(1)
		res.check(ops, want, got)
	}
	return res
}

// progress calls opt.Progress every opt.Every until stop is closed.
func (b *bench) progress(start time.Time, stop <-chan struct{}) {
	if b.opt.Progress == nil {
		return
	}
	t := time.NewTicker(b.opt.Every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.opt.Progress(b.ops.Load(), b.requests.Load(), time.Since(start))
		}
	}
}

// merge adds one client's result.
func (res *BenchResult) merge(p BenchResult) {
	res.Ops += p.Ops
	res.Requests += p.Requests
	res.Wrong += p.Wrong
	res.Failed += p.Failed
	res.Latencies = append(res.Latencies, p.Latencies...)
	if res.FirstWrong == "" {
		res.FirstWrong = p.FirstWrong
	}
	if res.FirstFailure == nil {
		res.FirstFailure = p.FirstFailure
	}
}

func (res *BenchResult) check(ops []Op, want, got []spec.Result) {
	for i := range ops {
		if !SameResult(ops[i], got[i], want[i]) {
			res.Wrong++
			if res.FirstWrong == "" {
				res.FirstWrong = fmt.Sprintf("%s %q: got %s, want %s", ops[i].Verb, ops[i].Key, FormatResult(ops[i], got[i]), FormatResult(ops[i], want[i]))
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

// Report writes a summary of the run: the request shape, what was checked,
// throughput and latency, and the ceiling that shape sets (each client has one
// request outstanding, so clients × pack / latency bounds the throughput).
func (res *BenchResult) Report(w io.Writer) {
	secs := max(res.Elapsed.Seconds(), 1e-9)
	o := res.Options
	fmt.Fprintf(w, "shape        %d client(s), each with 1 signed request of %d op(s) outstanding, %d-byte values, %d keys per client, %s workload\n",
		res.Clients, o.Pack, o.ValueSize, o.Keys, o.Workload)
	fmt.Fprintf(w, "operations   %d ok in %d requests, %d wrong, %d failed requests, %s\n", res.Ops, res.Requests, res.Wrong, res.Failed, res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "throughput   %.0f ops/s (%.0f requests/s)\n", float64(res.Ops)/secs, float64(res.Requests)/secs)
	fmt.Fprintf(w, "latency      p50 %s  p90 %s  p99 %s  max %s\n", res.Percentile(50).Round(time.Microsecond),
		res.Percentile(90).Round(time.Microsecond), res.Percentile(99).Round(time.Microsecond), res.Percentile(100).Round(time.Microsecond))
	if p50 := res.Percentile(50).Seconds(); p50 > 0 {
		fmt.Fprintf(w, "ceiling      %d client(s) × %d op(s) / p50 latency = %.0f ops/s: add --clients or --pack to go faster\n",
			res.Clients, o.Pack, float64(res.Clients*o.Pack)/p50)
		fmt.Fprintln(w, "             (`splitbft demo` runs 8 clients in one process without TCP or process boundaries)")
	}
	if res.FirstWrong != "" {
		fmt.Fprintf(w, "first wrong  %s\n", res.FirstWrong)
	}
	if res.FirstFailure != nil {
		fmt.Fprintf(w, "failure      %v\n", res.FirstFailure)
	}
}
