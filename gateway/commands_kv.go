package gateway

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// This file maps the key-value commands to kv-v1 and kv-v2 operations (SPEC.md §16.4).

func init() {
	for name, c := range map[string]command{
		"get": {get, 2}, "set": {set, -3}, "setnx": {setnx, 3}, "getset": {getset, 3},
		"getdel": {getdel, 2}, "del": {del, -2}, "exists": {exists, -2},
		"incr": {incrFixed(1), 2}, "decr": {incrFixed(-1), 2}, "incrby": {incrby, 3}, "decrby": {incrby, 3},
		"append": {appendCmd, 3}, "strlen": {strlen, 2}, "mget": {mget, -2}, "mset": {mset, -3},
		"msetnx": {msetnx, -3},
	} {
		commands[name] = c
	}
}

// checkArgs returns an error for a key or value the store would refuse (SPEC.md §12.6
// limits), and for a command needing more operations than one request carries.
func (g *Gateway) checkArgs(keys, values [][]byte, ops int) string {
	for _, k := range keys {
		if len(k) < 1 || len(k) > spec.MaxKVKey {
			return fmt.Sprintf("ERR key length %d out of range 1..%d (SplitBFT limit)", len(k), spec.MaxKVKey)
		}
	}
	for _, v := range values {
		if len(v) > spec.MaxKVValue {
			return fmt.Sprintf("ERR value of %d bytes over %d (SplitBFT limit)", len(v), spec.MaxKVValue)
		}
	}
	if ops > g.opt.MaxOps {
		return fmt.Sprintf("ERR too many keys: a command may use at most %d operations", g.opt.MaxOps)
	}
	return ""
}

// checkOps returns an error for an operation over MaxOpBytes once sealed (16-byte tag).
func (g *Gateway) checkOps(ops [][]byte) string {
	for _, op := range ops {
		if len(op)+16 > g.opt.MaxOpBytes {
			return fmt.Sprintf("ERR command too large: %d bytes over the cluster's %d per operation", len(op)+16, g.opt.MaxOpBytes)
		}
	}
	return ""
}

// kvPlan checks the arguments and operations, then orders ops.
func (g *Gateway) kvPlan(keys, values, ops [][]byte, f func(w *writer, res []spec.Result)) plan {
	if e := g.checkArgs(keys, values, len(ops)); e != "" {
		return errPlan(e)
	}
	if e := g.checkOps(ops); e != "" {
		return errPlan(e)
	}
	return opsPlan(ops, f)
}

func op2(o spec.KVOp2) []byte { return spec.Encode(&o) }

// bulkOrNull writes OK's value as a bulk string and NotFound as null.
func bulkOrNull(w *writer, r spec.Result) {
	switch r.Status {
	case spec.StatusOK:
		w.bulk(r.Value)
	case spec.StatusNotFound:
		w.null()
	default:
		rejected(w, r)
	}
}

// intResult writes an OK result holding a decimal integer as an integer reply.
func intResult(w *writer, r spec.Result) {
	n, ok := kv.ParseInt(r.Value)
	if r.Status != spec.StatusOK || !ok {
		rejected(w, r)
		return
	}
	w.integer(n)
}

func get(g *Gateway, _ *conn, a [][]byte) plan {
	return readOnly(g.kvPlan(a[1:2], nil, [][]byte{client.GetOp(a[1])}, func(w *writer, res []spec.Result) { bulkOrNull(w, res[0]) }))
}

// readOnly marks a plan whose operations are all read-only (get, strlen).
func readOnly(p plan) plan {
	p.readOnly = len(p.ops) > 0
	return p
}

// set parses SET key value [NX|XX] [GET]; expiry options are refused.
func set(g *Gateway, _ *conn, a [][]byte) plan {
	var flags uint64
	for _, opt := range a[3:] {
		switch strings.ToLower(string(opt)) {
		case "nx":
			flags |= spec.KVSetNX
		case "xx":
			flags |= spec.KVSetXX
		case "get":
			flags |= spec.KVSetGet
		default:
			return errPlan("ERR syntax error")
		}
	}
	if flags&(spec.KVSetNX|spec.KVSetXX) == spec.KVSetNX|spec.KVSetXX {
		return errPlan("ERR syntax error")
	}
	op := op2(spec.KVOp2{Op: spec.KVSet, Keys: a[1:2], Values: a[2:3], Flags: flags})
	return g.kvPlan(a[1:2], a[2:3], [][]byte{op}, func(w *writer, res []spec.Result) {
		r := res[0]
		switch {
		case flags&spec.KVSetGet != 0:
			bulkOrNull(w, r)
		case r.Status == spec.StatusOK:
			w.simple("OK")
		case r.Status == spec.StatusNotFound:
			w.null()
		default:
			rejected(w, r)
		}
	})
}

func setnx(g *Gateway, _ *conn, a [][]byte) plan {
	op := op2(spec.KVOp2{Op: spec.KVSet, Keys: a[1:2], Values: a[2:3], Flags: spec.KVSetNX})
	return g.kvPlan(a[1:2], a[2:3], [][]byte{op}, func(w *writer, res []spec.Result) {
		switch res[0].Status {
		case spec.StatusOK:
			w.integer(1)
		case spec.StatusNotFound:
			w.integer(0)
		default:
			rejected(w, res[0])
		}
	})
}

func getset(g *Gateway, _ *conn, a [][]byte) plan {
	op := op2(spec.KVOp2{Op: spec.KVSet, Keys: a[1:2], Values: a[2:3], Flags: spec.KVSetGet})
	return g.kvPlan(a[1:2], a[2:3], [][]byte{op}, func(w *writer, res []spec.Result) { bulkOrNull(w, res[0]) })
}

func getdel(g *Gateway, _ *conn, a [][]byte) plan {
	return g.kvPlan(a[1:2], nil, [][]byte{client.DeleteOp(a[1])}, func(w *writer, res []spec.Result) { bulkOrNull(w, res[0]) })
}

// countFound writes how many results are OK (DEL, EXISTS).
func countFound(w *writer, res []spec.Result) {
	n := 0
	for _, r := range res {
		switch r.Status {
		case spec.StatusOK:
			n++
		case spec.StatusNotFound:
		default:
			rejected(w, r)
			return
		}
	}
	w.integer(int64(n))
}

func del(g *Gateway, _ *conn, a [][]byte) plan {
	ops := make([][]byte, 0, len(a)-1)
	for _, k := range a[1:] {
		ops = append(ops, client.DeleteOp(k))
	}
	return g.kvPlan(a[1:], nil, ops, countFound)
}

func exists(g *Gateway, _ *conn, a [][]byte) plan {
	ops := make([][]byte, 0, len(a)-1)
	for _, k := range a[1:] {
		ops = append(ops, op2(spec.KVOp2{Op: spec.KVStrlen, Keys: [][]byte{k}}))
	}
	return readOnly(g.kvPlan(a[1:], nil, ops, countFound))
}

// incrFixed is INCR (d = 1) and DECR (d = −1).
func incrFixed(d int64) handler {
	return func(g *Gateway, _ *conn, a [][]byte) plan { return g.incrPlan(a[1], d) }
}

// incrby is INCRBY and DECRBY with Redis's argument rules.
func incrby(g *Gateway, _ *conn, a [][]byte) plan {
	n, ok := kv.ParseInt(a[2])
	if !ok {
		return errPlan("ERR value is not an integer or out of range")
	}
	if strings.EqualFold(string(a[0]), "decrby") {
		if n == math.MinInt64 {
			return errPlan("ERR decrement would overflow")
		}
		n = -n
	}
	return g.incrPlan(a[1], n)
}

func (g *Gateway) incrPlan(key []byte, d int64) plan {
	o := spec.KVOp2{Op: spec.KVIncrBy, Keys: [][]byte{key}, Delta: uint64(d)}
	if d < 0 {
		o.Neg, o.Delta = true, uint64(-(d+1))+1
	}
	return g.kvPlan([][]byte{key}, nil, [][]byte{op2(o)}, func(w *writer, res []spec.Result) {
		switch res[0].Status {
		case spec.StatusNotInteger:
			w.err("ERR value is not an integer or out of range")
		case spec.StatusOverflow:
			w.err("ERR increment or decrement would overflow")
		default:
			intResult(w, res[0])
		}
	})
}

func appendCmd(g *Gateway, _ *conn, a [][]byte) plan {
	op := op2(spec.KVOp2{Op: spec.KVAppend, Keys: a[1:2], Values: a[2:3]})
	return g.kvPlan(a[1:2], a[2:3], [][]byte{op}, func(w *writer, res []spec.Result) {
		if res[0].Status == spec.StatusTooLarge {
			w.err("ERR string exceeds maximum allowed size (" + strconv.Itoa(spec.MaxKVValue) + " bytes, SplitBFT limit)")
			return
		}
		intResult(w, res[0])
	})
}

func strlen(g *Gateway, _ *conn, a [][]byte) plan {
	op := op2(spec.KVOp2{Op: spec.KVStrlen, Keys: a[1:2]})
	return readOnly(g.kvPlan(a[1:2], nil, [][]byte{op}, func(w *writer, res []spec.Result) {
		if res[0].Status == spec.StatusNotFound {
			w.integer(0)
			return
		}
		intResult(w, res[0])
	}))
}

func mget(g *Gateway, _ *conn, a [][]byte) plan {
	ops := make([][]byte, 0, len(a)-1)
	for _, k := range a[1:] {
		ops = append(ops, client.GetOp(k))
	}
	return readOnly(g.kvPlan(a[1:], nil, ops, func(w *writer, res []spec.Result) {
		for _, r := range res {
			if r.Status != spec.StatusOK && r.Status != spec.StatusNotFound {
				rejected(w, r)
				return
			}
		}
		w.array(len(res))
		for _, r := range res {
			bulkOrNull(w, r)
		}
	}))
}

// pairs splits "k1 v1 k2 v2 ..." into keys and values; ok is false for an odd count.
func pairs(a [][]byte) (keys, values [][]byte, ok bool) {
	if len(a)%2 != 0 {
		return nil, nil, false
	}
	for i := 0; i < len(a); i += 2 {
		keys, values = append(keys, a[i]), append(values, a[i+1])
	}
	return keys, values, true
}

func mset(g *Gateway, _ *conn, a [][]byte) plan {
	keys, values, ok := pairs(a[1:])
	if !ok {
		return errPlan("ERR wrong number of arguments for 'mset' command")
	}
	ops := make([][]byte, len(keys))
	for i := range keys {
		ops[i] = client.PutOp(keys[i], values[i])
	}
	return g.kvPlan(keys, values, ops, func(w *writer, res []spec.Result) {
		for _, r := range res {
			if r.Status != spec.StatusOK {
				rejected(w, r)
				return
			}
		}
		w.simple("OK")
	})
}

func msetnx(g *Gateway, _ *conn, a [][]byte) plan {
	keys, values, ok := pairs(a[1:])
	if !ok {
		return errPlan("ERR wrong number of arguments for 'msetnx' command")
	}
	if len(keys) > spec.MaxKV2Keys {
		return errPlan(fmt.Sprintf("ERR too many keys: MSETNX takes at most %d", spec.MaxKV2Keys))
	}
	op := op2(spec.KVOp2{Op: spec.KVMSetNX, Keys: keys, Values: values})
	return g.kvPlan(keys, values, [][]byte{op}, func(w *writer, res []spec.Result) { intResult(w, res[0]) })
}
