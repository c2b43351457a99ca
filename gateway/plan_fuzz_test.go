package gateway

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// FuzzPlan plans arbitrary commands (split on 0x00 into arguments) and writes their
// replies from the results a store gives, and from arbitrary results: no command and
// no result may panic the gateway, and every plan writes exactly one reply.
func FuzzPlan(f *testing.F) {
	for _, s := range []string{"SET\x00k\x00v\x00NX\x00GET", "INCRBY\x00k\x00-9223372036854775808", "MGET\x00a\x00b",
		"MSETNX\x00a\x001\x00b", "HELLO\x003", "CLIENT\x00SETNAME\x00x", "DECRBY\x00k\x00x", "EXISTS\x00k\x00k"} {
		f.Add([]byte(s), uint8(0), []byte("v"))
	}
	g := &Gateway{opt: Options{MaxOps: 64, MaxOpBytes: 32 << 10}.withDefaults()}
	f.Fuzz(func(t *testing.T, cmd []byte, status uint8, value []byte) {
		args := bytes.Split(cmd, []byte{0})
		if len(args[0]) == 0 || len(args) > MaxArgs {
			return
		}
		c := &conn{g: g, w: writer{proto: 2}}
		p := g.plan(c, args)
		store := kv.New()
		res := make([]spec.Result, len(p.ops))
		for i, op := range p.ops {
			res[i] = store.Execute(op)
		}
		p.reply(&c.w, res)
		if len(c.w.buf) == 0 {
			t.Fatalf("%q: no reply", args)
		}
		for i := range res { // whatever the replicas agreed on, it only becomes a reply
			res[i] = spec.Result{Status: uint64(status % 9), Value: value}
		}
		c.w.buf = c.w.buf[:0]
		p.reply(&c.w, res)
		if len(c.w.buf) == 0 {
			t.Fatalf("%q: no reply for arbitrary results", args)
		}
	})
}
