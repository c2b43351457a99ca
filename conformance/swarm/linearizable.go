package swarm

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/splitbft/splitbft/spec"
)

// This file is the linearizability half of the client-safety oracle: every client's
// completed requests form a history (invocation when the client prepared the request,
// response when it accepted f+1 matching replies), and the history of all clients
// must be linearizable against a sequential kv-v1 model. A request is one atomic
// operation: its ops apply in order, with nothing interleaved (SPEC.md §11.5).

// numKeys is how many keys the clients share (swarm-secret-k/0 .. numKeys−1).
const numKeys = 3

// histOp is one completed request in a client's history.
type histOp struct {
	client  uint64
	ts      uint64
	call    int64         // logical time of the invocation
	ret     int64         // logical time of the response; 0 while outstanding
	ops     []spec.KVOp   // the request's operations, in order
	results []spec.Result // what the client accepted, one per op
}

// kvState is the model's state: the value of each shared key (present or not).
// It is comparable, so porcupine's default equality applies.
type kvState struct {
	val     [numKeys]string
	present [numKeys]bool
}

// keyIndex maps a shared key to its index, or −1.
func keyIndex(k []byte) int {
	var i int
	if _, err := fmt.Sscanf(string(k), "swarm-secret-k/%d", &i); err != nil || i < 0 || i >= numKeys {
		return -1
	}
	return i
}

// kvModel is kv-v1 (spec/app.go) over the shared keys, one request per step.
var kvModel = porcupine.Model{
	Init: func() any { return kvState{} },
	Step: func(state, input, output any) (bool, any) {
		st := state.(kvState)
		ops, res := input.([]spec.KVOp), output.([]spec.Result)
		if res != nil && len(ops) != len(res) {
			return false, st
		}
		for j := range ops {
			want, next := applyKV(st, &ops[j])
			if res != nil && (want.Status != res[j].Status || !bytes.Equal(want.Value, res[j].Value)) {
				return false, st
			}
			st = next
		}
		return true, st
	},
	DescribeOperation: func(input, output any) string {
		return describeOps(input.([]spec.KVOp), output.([]spec.Result))
	},
}

// applyKV is one kv-v1 operation on the model: its result and the next state.
func applyKV(st kvState, op *spec.KVOp) (spec.Result, kvState) {
	i := keyIndex(op.Key)
	if i < 0 {
		return spec.Result{Status: spec.StatusBadOp}, st
	}
	cur, ok := st.val[i], st.present[i]
	switch op.Op {
	case spec.KVPut:
		st.val[i], st.present[i] = string(op.Value), true
		return spec.Result{Status: spec.StatusOK}, st
	case spec.KVCAS:
		if (op.Absent && !ok) || (!op.Absent && ok && cur == string(op.Expected)) {
			st.val[i], st.present[i] = string(op.Value), true
			return spec.Result{Status: spec.StatusOK}, st
		}
		r := spec.Result{Status: spec.StatusCASMismatch}
		if ok {
			r.Value = []byte(cur)
		}
		return r, st
	}
	return spec.Result{Status: spec.StatusBadOp}, st
}

// describeOps renders a request and its results for a failure report.
func describeOps(ops []spec.KVOp, res []spec.Result) string {
	var b strings.Builder
	for j := range ops {
		if j > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "op%d %s=%q", ops[j].Op, ops[j].Key, ops[j].Value)
		if j < len(res) {
			fmt.Fprintf(&b, " -> %d %q", res[j].Status, res[j].Value)
		}
	}
	return b.String()
}

// recordCall starts a history entry for a request client c just prepared.
func (o *oracles) recordCall(c uint64, ts uint64, ops [][]byte) {
	h := histOp{client: c, ts: ts, call: o.tick()}
	for _, raw := range ops {
		var op spec.KVOp
		if err := spec.Decode(raw, &op, spec.MaxMessageBytes); err != nil {
			panic(fmt.Sprintf("swarm: own op does not decode: %v", err))
		}
		h.ops = append(h.ops, op)
	}
	o.history = append(o.history, h)
}

// recordReturn completes the history entry of (c, ts) with the accepted results.
func (o *oracles) recordReturn(c uint64, ts uint64, results []spec.Result) {
	for i := len(o.history) - 1; i >= 0; i-- {
		if h := &o.history[i]; h.client == c && h.ts == ts && h.ret == 0 {
			h.ret, h.results = o.tick(), results
			return
		}
	}
	o.fail("client-safety", "client %d completed timestamp %d, which it never issued", c, ts)
}

// tick advances the logical clock of the history.
func (o *oracles) tick() int64 {
	o.clock++
	return o.clock
}

// checkLinearizable runs porcupine over the history of the run's clients. A request that never completed
// may or may not have taken effect: it is pending until the end of time, with an
// unknown output (nil), which the model accepts whatever it would have returned.
func (o *oracles) checkLinearizable(clients int) {
	var hist []porcupine.Operation
	for _, h := range o.history {
		op := porcupine.Operation{ClientId: int(h.client), Input: h.ops, Call: h.call, Return: h.ret}
		if h.ret == 0 {
			op.Return, op.Output = math.MaxInt64, []spec.Result(nil)
		} else {
			op.Output = h.results
			o.stats.HistoryOps++
		}
		hist = append(hist, op)
	}
	if !porcupine.CheckOperations(kvModel, hist) {
		o.fail("linearizability", "the history of %d requests of %d clients is not linearizable against kv-v1", len(hist), clients)
	}
}
