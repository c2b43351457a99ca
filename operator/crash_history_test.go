package operator

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// This file is the history side of the crash test (crash_recovery_test.go):
// concurrent clients record every operation with logical call and return times, an
// operation without an answer (its client was cut off by a kill) returns "at
// infinity" with an unknown output, and the whole history is checked with porcupine
// against the kv-v1 model, one partition per key.

// crashKeys is the small key set the clients share (k0..k<crashKeys-1>).
const crashKeys = 5

// crashHistory is the history of every client of every round. Times come from one
// counter, so an operation that returned before another was called precedes it.
type crashHistory struct {
	clock atomic.Int64
	mu    sync.Mutex
	ops   []porcupine.Operation
}

// call returns a call time; ret records op with its output ("" for unknown).
func (h *crashHistory) call() int64 { return h.clock.Add(1) }

func (h *crashHistory) ret(client int, op Op, call int64, out string) {
	o := porcupine.Operation{ClientId: client, Input: op, Call: call, Return: h.clock.Add(1), Output: out}
	if out == "" {
		o.Output, o.Return = nil, math.MaxInt64
	}
	h.mu.Lock()
	h.ops = append(h.ops, o)
	h.mu.Unlock()
}

// do runs op as one request of d and records it; the answer is "" when the request
// failed (its outcome is unknown).
func (h *crashHistory) do(ctx context.Context, client int, d Doer, op Op) string {
	c := h.call()
	res, err := d.Do(ctx, [][]byte{op.Plaintext()})
	out := ""
	if err == nil && len(res) == 1 {
		out = FormatResult(op, res[0])
	}
	h.ret(client, op, c, out)
	return out
}

// counts returns how many operations were recorded and how many have an answer.
func (h *crashHistory) counts() (all, answered int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range h.ops {
		if o.Output != nil {
			answered++
		}
	}
	return len(h.ops), answered
}

// runClient has client id run random operations on the shared keys through d until
// ctx ends (a kill), or limit operations ran if limit > 0. Its local model only
// steers the choice of cas values.
func (h *crashHistory) runClient(ctx context.Context, id int, d Doer, rng *rand.Rand, limit int) {
	local := Model{}
	for n := 0; ctx.Err() == nil && (limit == 0 || n < limit); n++ {
		op := RandomOp(rng, local, "k", crashKeys, 6)
		out := h.do(ctx, id, d, op)
		if op.Verb == "get" && out != "" {
			learn(local, op, out)
			continue
		}
		if out == "ok" || (op.Verb == "del" && out != "") {
			local.Apply(op)
		}
	}
}

// learn sets the local model's key to what a get returned.
func learn(m Model, op Op, out string) {
	if q, ok := strings.CutPrefix(out, "ok "); ok {
		if v, err := strconv.Unquote(q); err == nil {
			m[string(op.Key)] = v
			return
		}
	}
	delete(m, string(op.Key))
}

// kvState is one key's state in the porcupine model.
type kvState struct {
	val     string
	present bool
}

// kvPorcupine is kv-v1 on one key for porcupine (the history is partitioned by key);
// an unknown output (nil) is accepted with the operation applied, since a request
// whose client was killed may or may not have executed.
var kvPorcupine = porcupine.Model{
	Partition: func(hist []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, o := range hist {
			k := string(o.Input.(Op).Key)
			byKey[k] = append(byKey[k], o)
		}
		var out [][]porcupine.Operation
		for _, p := range byKey {
			out = append(out, p)
		}
		return out
	},
	Init: func() any { return kvState{} },
	Step: func(state, input, output any) (bool, any) {
		s, op := state.(kvState), input.(Op)
		m := Model{}
		if s.present {
			m[string(op.Key)] = s.val
		}
		want := m.Apply(op)
		if output != nil && output.(string) != want {
			return false, state
		}
		v, ok := m[string(op.Key)]
		return true, kvState{val: v, present: ok}
	},
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("%s -> %v", scriptLine(input.(Op)), output)
	},
}

// checkLinearizable returns an error unless the history is linearizable.
func (h *crashHistory) checkLinearizable(timeout time.Duration) error {
	h.mu.Lock()
	ops := append([]porcupine.Operation(nil), h.ops...)
	h.mu.Unlock()
	switch porcupine.CheckOperationsTimeout(kvPorcupine, ops, timeout) {
	case porcupine.Ok:
		return nil
	case porcupine.Illegal:
		return fmt.Errorf("the history of %d operations is not linearizable", len(ops))
	}
	return fmt.Errorf("porcupine could not decide the history of %d operations within %v", len(ops), timeout)
}

// writes reports whether a recorded operation may have changed its key, and to what
// get answer ("ok \"v\"" or "notfound"); sure when it did for certain.
func writes(o porcupine.Operation) (after string, may, sure bool) {
	op := o.Input.(Op)
	out, known := o.Output.(string)
	switch {
	case op.Verb == "get" || (known && out != "ok" && op.Verb != "del"):
		return "", false, false
	case op.Verb == "del":
		return "notfound", !known || out != "notfound", known && out != "notfound"
	}
	return "ok " + strconv.Quote(string(op.Value)), true, known
}

// checkReadBack returns an error if got, read from key at time at, is not what some
// write could have left there: every write (or the initial absence) that an
// acknowledged write to the key certainly followed is excluded, so an acknowledged
// write missing after a recovery, or a value from nowhere, is an error.
func (h *crashHistory) checkReadBack(key, got string, at int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	type cand struct {
		after string
		ret   int64
	}
	cands := []cand{{"notfound", 0}} // the initial state
	var sureCalls []int64
	for _, o := range h.ops {
		if string(o.Input.(Op).Key) != key || o.Call >= at {
			continue
		}
		after, may, sure := writes(o)
		if may {
			cands = append(cands, cand{after, o.Return})
		}
		if sure {
			sureCalls = append(sureCalls, o.Call)
		}
	}
	var possible []string
	for _, c := range cands {
		superseded := false
		for _, call := range sureCalls {
			superseded = superseded || call > c.ret
		}
		if !superseded {
			possible = append(possible, c.after)
			if c.after == got {
				return nil
			}
		}
	}
	return fmt.Errorf("key %s reads %s after the recovery; an acknowledged write is missing (possible: %v)", key, got, possible)
}
