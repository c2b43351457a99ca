package swarm

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestLinearizabilityOracle shows that the oracle accepts linearizable histories and
// catches a stale read, a lost write and a torn request.
func TestLinearizabilityOracle(t *testing.T) {
	put := func(k, v string) spec.KVOp {
		return spec.KVOp{Op: spec.KVPut, Key: []byte("swarm-secret-k/" + k), Value: []byte(v)}
	}
	read := func(k string) spec.KVOp {
		return spec.KVOp{Op: spec.KVCAS, Key: []byte("swarm-secret-k/" + k), Expected: []byte("x"), Value: []byte("never")}
	}
	ok := spec.Result{Status: spec.StatusOK}
	saw := func(v string) spec.Result {
		return spec.Result{Status: spec.StatusCASMismatch, Value: []byte(v)}
	}
	op := func(c uint64, call, ret int64, ops []spec.KVOp, res ...spec.Result) histOp {
		return histOp{client: c, ts: uint64(call), call: call, ret: ret, ops: ops, results: res}
	}
	cases := []struct {
		name string
		hist []histOp
		good bool
	}{
		{"sequential", []histOp{op(1, 1, 2, []spec.KVOp{put("0", "a")}, ok), op(2, 3, 4, []spec.KVOp{read("0")}, saw("a"))}, true},
		{"concurrent read may see either", []histOp{op(1, 1, 4, []spec.KVOp{put("0", "a")}, ok), op(2, 2, 3, []spec.KVOp{read("0")}, saw(""))}, true},
		{"pending write may have happened", []histOp{op(1, 1, 0, []spec.KVOp{put("0", "a")}), op(2, 2, 3, []spec.KVOp{read("0")}, saw("a"))}, true},
		{"stale read", []histOp{op(1, 1, 2, []spec.KVOp{put("0", "a")}, ok), op(2, 3, 4, []spec.KVOp{read("0")}, saw(""))}, false},
		{"read from nowhere", []histOp{op(2, 1, 2, []spec.KVOp{read("1")}, saw("zzz"))}, false},
		{"torn request", []histOp{
			op(1, 1, 2, []spec.KVOp{put("0", "a"), put("1", "a")}, ok, ok),
			op(2, 3, 4, []spec.KVOp{put("0", "b"), put("1", "b")}, ok, ok),
			op(3, 5, 6, []spec.KVOp{read("0"), read("1")}, saw("b"), saw("a")),
		}, false},
	}
	for _, tc := range cases {
		s := &oracles{history: tc.hist, stats: &Stats{}, where: func() (int, string, []string) { return 0, "test", nil }}
		s.checkLinearizable(3)
		if got := s.failure == nil; got != tc.good {
			t.Errorf("%s: linearizable = %v, want %v (%v)", tc.name, got, tc.good, s.failure)
		}
	}
}
