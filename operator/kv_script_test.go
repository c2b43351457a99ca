package operator

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

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
		m, s := Model{}, kv.New()
		for i := range 2000 {
			op := RandomOp(rng, m, "k", 6, 3)
			want := m.Apply(op)
			if got := FormatResult(op, s.Execute(op.Plaintext())); got != want {
				t.Fatalf("seed %d op %d %+v: application %s, model %s", seed, i, op, got, want)
			}
		}
	}
}

func TestRunBench(t *testing.T) {
	res := RunBench(context.Background(), &storeDoer{s: kv.New()}, BenchOptions{Ops: 500, Pack: 7, Prefix: "p", Seed: 3})
	if res.Ops != 500 || res.Requests != 72 || res.Wrong != 0 || res.Failed != 0 || len(res.Latencies) != 72 {
		t.Fatalf("bench %+v", res)
	}
	bad := &storeDoer{s: kv.New(), wrong: func(r *spec.Result) {
		if r.Status == spec.StatusNotFound {
			r.Status = spec.StatusOK
		}
	}}
	res = RunBench(context.Background(), bad, BenchOptions{Ops: 200, Prefix: "p"})
	if res.Wrong == 0 || !strings.Contains(res.FirstWrong, "want notfound") {
		t.Errorf("a store that never says notfound: %d wrong, first %q", res.Wrong, res.FirstWrong)
	}
	res = RunBench(context.Background(), &storeDoer{s: kv.New(), failAt: 5}, BenchOptions{Ops: 200, Prefix: "p"})
	var out bytes.Buffer
	res.Report(&out)
	if res.Failed != 1 || res.Ops != 4 || !strings.Contains(out.String(), "failure      client: request timed out") {
		t.Errorf("a failed request: %+v\n%s", res, out.String())
	}
}
