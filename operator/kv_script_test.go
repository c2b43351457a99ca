package operator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// storeDoer runs operations on the real kv-v1 application, failing request number
// failAt (1-based; 0: never) and corrupting results with wrong.
type storeDoer struct {
	s      *kv.Store
	calls  int
	failAt int
	wrong  func(r *spec.Result)
}

func (d *storeDoer) Do(_ context.Context, ops [][]byte) ([]spec.Result, error) {
	d.calls++
	if d.calls == d.failAt {
		return nil, errors.New("client: request timed out")
	}
	var out []spec.Result
	for _, op := range ops {
		r := d.s.Execute(op)
		if d.wrong != nil {
			d.wrong(&r)
		}
		out = append(out, r)
	}
	return out, nil
}

func TestRunScript(t *testing.T) {
	in := `# a comment
put k1 v1
get k1
get nope
cas k1 v1 v2
cas k1 v1 v3

cas-absent k1 x
cas-absent k2 ""
get k2
del k1
del k1
put "sp ace" x
frob k
put k
put "" v
`
	var out bytes.Buffer
	failed, err := RunScript(context.Background(), &storeDoer{s: kv.New(), failAt: 10}, strings.NewReader(in), &out)
	want := `ok
ok "v1"
notfound
ok
mismatch "v2"
mismatch "v2"
ok
ok ""
ok "v2"
error: client: request timed out
error: put takes 2 argument(s), got 3
error: unknown operation "frob" (want put, get, del, cas or cas-absent)
error: put takes 2 argument(s), got 1
error: key must be 1..256 bytes and values at most 16384
`
	if err != nil || failed != 5 || out.String() != want {
		t.Errorf("failed %d, err %v, output:\n%s\nwant:\n%s", failed, err, out.String(), want)
	}
}

func TestParseOp(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  Op
		err   string
	}{
		{[]string{"put", "k", "v"}, Op{Verb: "put", Key: []byte("k"), Value: []byte("v")}, ""},
		{[]string{"cas", "k", `""`, `"a\tb"`}, Op{Verb: "cas", Key: []byte("k"), Expected: []byte{}, Value: []byte("a\tb")}, ""},
		{[]string{"cas-absent", "k", "v"}, Op{Verb: "cas-absent", Key: []byte("k"), Value: []byte("v")}, ""},
		{[]string{"get", `"unterminated`}, Op{}, "bad quoted token"},
		{[]string{"get", strings.Repeat("k", 257)}, Op{}, "key must be"},
		{[]string{"put", "k", strings.Repeat("v", spec.MaxKVValue+1)}, Op{}, "values at most"},
		{nil, Op{}, "empty"},
	} {
		got, err := ParseOp(tc.words)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want error %q", tc.words, err, tc.err)
			}
			continue
		}
		if err != nil || got.Verb != tc.want.Verb || !bytes.Equal(got.Key, tc.want.Key) || !bytes.Equal(got.Value, tc.want.Value) || !bytes.Equal(got.Expected, tc.want.Expected) {
			t.Errorf("%q = %+v, %v; want %+v", tc.words, got, err, tc.want)
		}
	}
}

// TestModelMatchesApplication runs a seeded random workload through both the Model and
// the real kv-v1 application and requires the same answer for every operation.
func TestModelMatchesApplication(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		m, m2, s := Model{}, Model{}, kv.New()
		for i := range 2000 {
			op := RandomOp(rng, m, "k", 6, 3)
			want, wantRes := m.Apply(op), m2.Expect(op)
			res := s.Execute(op.Plaintext())
			if got := FormatResult(op, res); got != want {
				t.Fatalf("seed %d op %d %+v: application %s, model %s", seed, i, op, got, want)
			}
			// The benchmark's check (SameResult against Expect) agrees with the lines.
			if !SameResult(op, res, wantRes) || FormatResult(op, wantRes) != want {
				t.Fatalf("seed %d op %d %+v: SameResult(%+v, %+v) false or Expect's line %s, want %s", seed, i, op, res, wantRes, FormatResult(op, wantRes), want)
			}
			// ... and tells apart what the lines tell apart.
			other := res
			other.Value = append(bytes.Clone(res.Value), 'x')
			if SameResult(op, other, wantRes) != (FormatResult(op, other) == want) {
				t.Fatalf("seed %d op %d %+v: SameResult disagrees with the lines for value %q", seed, i, op, other.Value)
			}
			other = spec.Result{Status: res.Status + 1, Value: res.Value}
			if SameResult(op, other, wantRes) {
				t.Fatalf("seed %d op %d %+v: SameResult accepts status %d for %d", seed, i, op, other.Status, res.Status)
			}
		}
	}
}

// TestZeroPadded compares the benchmark's value formatting with fmt's.
func TestZeroPadded(t *testing.T) {
	for _, n := range []uint64{0, 7, 42, 123456789, 999_999_999} {
		for width := 1; width <= 12; width++ {
			want := fmt.Sprintf("%0*d", width, n)[:width]
			if got := string(zeroPadded(n, width)); got != want {
				t.Errorf("zeroPadded(%d, %d) = %q, want %q", n, width, got, want)
			}
		}
	}
}

// sharedStore is one kv store that several bench clients use concurrently, as the
// replicated store is: each client's keys are its own, so each model stays exact.
type sharedStore struct {
	mu sync.Mutex
	d  *storeDoer
}

func (s *sharedStore) Do(ctx context.Context, ops [][]byte) ([]spec.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Do(ctx, ops)
}

func TestRunBench(t *testing.T) {
	res := RunBench(context.Background(), []Doer{&storeDoer{s: kv.New()}}, BenchOptions{Ops: 500, Pack: 7, Prefix: "p", Seed: 3})
	if res.Ops != 500 || res.Requests != 72 || res.Wrong != 0 || res.Failed != 0 || len(res.Latencies) != 72 {
		t.Fatalf("bench %+v", res)
	}
	bad := &storeDoer{s: kv.New(), wrong: func(r *spec.Result) {
		if r.Status == spec.StatusNotFound {
			r.Status = spec.StatusOK
		}
	}}
	res = RunBench(context.Background(), []Doer{bad}, BenchOptions{Ops: 200, Prefix: "p"})
	if res.Wrong == 0 || !strings.Contains(res.FirstWrong, "want notfound") {
		t.Errorf("a store that never says notfound: %d wrong, first %q", res.Wrong, res.FirstWrong)
	}
	res = RunBench(context.Background(), []Doer{&storeDoer{s: kv.New(), failAt: 5}}, BenchOptions{Ops: 200, Prefix: "p"})
	var out bytes.Buffer
	res.Report(&out)
	if res.Failed != 1 || res.Ops != 4 || !strings.Contains(out.String(), "failure      client: request timed out") {
		t.Errorf("a failed request: %+v\n%s", res, out.String())
	}
}

// TestRunBenchPuts runs BenchmarkCluster's workload: puts only, of keys c<i>/k<j>,
// values "v" and the request's number; every result is checked (a store that
// answers a put with anything but ok makes it wrong).
func TestRunBenchPuts(t *testing.T) {
	d := &storeDoer{s: kv.New()}
	res := RunBench(context.Background(), []Doer{d}, BenchOptions{Ops: 100, Pack: 4, Keys: 4, Workload: WorkloadPuts, Prefix: "p"})
	if res.Ops != 100 || res.Requests != 25 || res.Wrong != 0 || res.Failed != 0 {
		t.Fatalf("puts: %+v", res)
	}
	for k := range 4 {
		key := fmt.Sprintf("c0/k%d", k)
		if got := d.s.Execute(client.GetOp([]byte(key))); got.Status != spec.StatusOK || string(got.Value) != "v000000024" {
			t.Errorf("%s = %d %q, want ok \"v000000024\" (the last request's value)", key, got.Status, got.Value)
		}
	}
	if n := d.s.Len(); n != 4 {
		t.Errorf("%d keys stored, want 4", n)
	}
	var out bytes.Buffer
	res.Report(&out)
	if !strings.Contains(out.String(), "puts workload") {
		t.Errorf("summary lacks the workload:\n%s", out.String())
	}
	bad := &storeDoer{s: kv.New(), wrong: func(r *spec.Result) { r.Status = spec.StatusBadOp }}
	if res := RunBench(context.Background(), []Doer{bad}, BenchOptions{Ops: 10, Workload: WorkloadPuts, Prefix: "p"}); res.Wrong != 10 {
		t.Errorf("a store answering badop to every put: %d wrong, want 10", res.Wrong)
	}
}

// TestRunBenchClients runs 4 concurrent clients on one store: every operation is
// counted once (the request count does not depend on the interleaving), every result
// matches each client's model, and the summary states the request shape.
func TestRunBenchClients(t *testing.T) {
	shared := &sharedStore{d: &storeDoer{s: kv.New()}}
	doers := []Doer{shared, shared, shared, shared}
	res := RunBench(context.Background(), doers, BenchOptions{Ops: 1000, Pack: 16, Keys: 4, Prefix: "p", Seed: 5})
	if res.Ops != 1000 || res.Requests != 63 || res.Wrong != 0 || res.Failed != 0 || res.Clients != 4 {
		t.Fatalf("4 clients: %+v", res)
	}
	var out bytes.Buffer
	res.Report(&out)
	for _, want := range []string{"4 client(s), each with 1 signed request of 16 op(s) outstanding, 10-byte values, 4 keys per client", "ceiling", "1000 ok in 63 requests, 0 wrong"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	// One client failing ends the run for all, and is reported once.
	failing := &sharedStore{d: &storeDoer{s: kv.New(), failAt: 3}}
	res = RunBench(context.Background(), []Doer{failing, failing}, BenchOptions{Ops: 100000, Prefix: "p"})
	if res.Failed != 1 || res.Ops >= 100000 || res.FirstFailure == nil {
		t.Errorf("a failing client: %+v", res)
	}
}

// gatedDoer holds its first request until the gate opens.
type gatedDoer struct {
	gate <-chan struct{}
	d    *storeDoer
}

func (g *gatedDoer) Do(ctx context.Context, ops [][]byte) ([]spec.Result, error) {
	<-g.gate
	return g.d.Do(ctx, ops)
}

// TestRunBenchProgress checks that the progress callback runs while requests are
// outstanding (the first request waits for it) and never after RunBench returns.
func TestRunBenchProgress(t *testing.T) {
	gate := make(chan struct{})
	var mu sync.Mutex
	calls, returned, late := 0, false, false
	opt := BenchOptions{Ops: 50, Prefix: "p", Every: time.Millisecond, Progress: func(ops, reqs int64, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 1 {
			close(gate)
		}
		late = late || returned
	}}
	res := RunBench(context.Background(), []Doer{&gatedDoer{gate: gate, d: &storeDoer{s: kv.New()}}}, opt)
	mu.Lock()
	returned = true
	mu.Unlock()
	if res.Ops != 50 || calls == 0 {
		t.Fatalf("ops %d, progress calls %d", res.Ops, calls)
	}
	mu.Lock()
	defer mu.Unlock()
	if late {
		t.Error("Progress was called after RunBench returned")
	}
}

// stuckDoer never answers: it returns when its context ends, as a client does.
type stuckDoer struct{}

func (stuckDoer) Do(ctx context.Context, _ [][]byte) ([]spec.Result, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestRunBenchStuck checks that a request outlasting RequestTimeout fails the run even
// when a Duration is set (a stuck cluster is not a slow one), while requests cut off
// by the end of the Duration do not.
func TestRunBenchStuck(t *testing.T) {
	res := RunBench(context.Background(), []Doer{stuckDoer{}}, BenchOptions{Duration: time.Hour, RequestTimeout: time.Millisecond, Prefix: "p"})
	if res.Failed != 1 || !errors.Is(res.FirstFailure, context.DeadlineExceeded) {
		t.Errorf("a stuck request: %+v", res)
	}
	res = RunBench(context.Background(), []Doer{stuckDoer{}}, BenchOptions{Duration: time.Millisecond, RequestTimeout: time.Hour, Prefix: "p"})
	if res.Failed != 0 || res.Ops != 0 {
		t.Errorf("a request cut off by the duration: %+v", res)
	}
}
