package client

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// fakeCluster is a Transport that plays the execution enclaves of a fixture over an
// in-memory kv map: every Send is executed at once and answered by replicas 0..f
// (plus a faulty replica 3 that always lies).
type fakeCluster struct {
	t          *testing.T
	fx         *fixture
	kv         map[string][]byte
	replies    chan []byte
	silent     bool // never answer
	sends      int
	broadcasts int
	lastTS     uint64
}

func newFakeCluster(t *testing.T, fx *fixture) *fakeCluster {
	return &fakeCluster{t: t, fx: fx, kv: map[string][]byte{}, replies: make(chan []byte, 64)}
}

func (c *fakeCluster) Replies() <-chan []byte { return c.replies }

func (c *fakeCluster) Broadcast(req []byte) error { c.broadcasts++; return c.Send(req) }

func (c *fakeCluster) Send(req []byte) error {
	c.sends++
	if c.silent {
		return nil
	}
	r, ops := c.fx.openOps(c.t, req)
	if r.Body.Timestamp <= c.lastTS {
		return nil // already executed (a retransmission)
	}
	c.lastTS = r.Body.Timestamp
	res, lies := make([]spec.Result, len(ops)), make([]spec.Result, len(ops))
	for j, op := range ops {
		res[j], lies[j] = c.exec(op), ok("lie")
	}
	ts := r.Body.Timestamp
	c.replies <- c.fx.reply(3, ts, 0, lies...)
	for rep := uint64(0); rep <= c.fx.cfg.F; rep++ {
		c.replies <- c.fx.reply(rep, ts, 0, res...)
	}
	return nil
}

// exec is a minimal kv-v1.
func (c *fakeCluster) exec(op []byte) spec.Result {
	var o spec.KVOp
	if spec.Decode(op, &o, 1<<20) != nil {
		return spec.Result{Status: spec.StatusBadOp}
	}
	cur, found := c.kv[string(o.Key)]
	switch o.Op {
	case spec.KVPut:
		c.kv[string(o.Key)] = o.Value
		return spec.Result{}
	case spec.KVGet:
		if !found {
			return spec.Result{Status: spec.StatusNotFound}
		}
		return spec.Result{Value: cur}
	case spec.KVDelete:
		if !found {
			return spec.Result{Status: spec.StatusNotFound}
		}
		delete(c.kv, string(o.Key))
		return spec.Result{Value: cur}
	case spec.KVCAS:
		if (o.Absent && !found) || (!o.Absent && found && bytes.Equal(cur, o.Expected)) {
			c.kv[string(o.Key)] = o.Value
			return spec.Result{}
		}
		return spec.Result{Status: spec.StatusCASMismatch, Value: cur}
	}
	return spec.Result{Status: spec.StatusBadOp}
}

func newTestClient(t *testing.T, seed uint64) (*Client, *fakeCluster) {
	fx := newFixture(t, 1, seed)
	tr := newFakeCluster(t, fx)
	c, err := New(fx.cfg, fx.id, fx.rnd, tr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, tr
}

func TestClientKV(t *testing.T) {
	c, tr := newTestClient(t, 20)
	ctx := context.Background()
	k := []byte("key")
	if _, found, err := c.Get(ctx, k); err != nil || found {
		t.Fatalf("get absent: found=%v err=%v", found, err)
	}
	if err := c.Put(ctx, k, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if v, found, err := c.Get(ctx, k); err != nil || !found || string(v) != "v1" {
		t.Fatalf("get: %q %v %v", v, found, err)
	}
	if ok, cur, err := c.CAS(ctx, k, []byte("nope"), []byte("v2"), false); err != nil || ok || string(cur) != "v1" {
		t.Fatalf("cas mismatch: %v %q %v", ok, cur, err)
	}
	if ok, _, err := c.CAS(ctx, k, []byte("v1"), []byte("v2"), false); err != nil || !ok {
		t.Fatalf("cas: %v %v", ok, err)
	}
	if ok, _, err := c.CAS(ctx, []byte("new"), nil, []byte("x"), true); err != nil || !ok {
		t.Fatalf("cas absent: %v %v", ok, err)
	}
	if _, _, err := c.CAS(ctx, k, []byte("x"), []byte("y"), true); !errors.Is(err, ErrBadOp) {
		t.Fatalf("absent with expected: %v", err)
	}
	if old, found, err := c.Delete(ctx, k); err != nil || !found || string(old) != "v2" {
		t.Fatalf("delete: %q %v %v", old, found, err)
	}
	if _, found, err := c.Delete(ctx, k); err != nil || found {
		t.Fatalf("delete absent: %v %v", found, err)
	}
	if _, err := c.Do(ctx, [][]byte{{0x01}}); err != nil {
		t.Fatal(err)
	}
	if res, err := c.one(ctx, []byte{0x01}); !errors.Is(err, ErrBadOp) || res.Status != spec.StatusBadOp {
		t.Fatalf("bad op: %+v %v", res, err)
	}
	tr.replies <- []byte{0xff}                      // garbage
	tr.replies <- tr.fx.reply(0, 1, 0, ok("stale")) // a replay of an old request's reply
	if err := c.Put(ctx, k, []byte("v3")); err != nil {
		t.Fatal(err)
	}
	if c.Rejected() != 2 || tr.broadcasts != 0 {
		t.Fatalf("rejected=%d broadcasts=%d, want 2 and 0", c.Rejected(), tr.broadcasts)
	}
}

// TestClientTimeoutAndRetransmit runs in a synctest bubble: virtual time, no sleeping.
func TestClientTimeoutAndRetransmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, tr := newTestClient(t, 21)
		tr.silent = true
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Do(ctx, [][]byte{GetOp([]byte("k"))})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err=%v, want ErrTimeout", err)
		}
		if !strings.Contains(err.Error(), "no valid reply from any of the 4 replicas; 2 matching needed") {
			t.Fatalf("err=%v does not say who answered", err)
		}
		if el := time.Since(start); el != 4*time.Second {
			t.Fatalf("gave up after %v", el)
		}
		// Retransmissions at 0.5s, 1.5s, 3.5s (back-off 0.5, 1, 2).
		if tr.broadcasts != 3 || tr.sends != 4 {
			t.Fatalf("broadcasts=%d sends=%d, want 3 and 4", tr.broadcasts, tr.sends)
		}
		// The timed-out request is abandoned; the next one gets fresh timestamps.
		tr.silent = false
		if err := c.Put(context.Background(), []byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if c.Session().NextTimestamp() != 3 {
			t.Fatalf("next timestamp %d, want 3", c.Session().NextTimestamp())
		}
	})
}

func TestClientDefaultTimeoutAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, tr := newTestClient(t, 22)
		tr.silent = true
		start := time.Now()
		if _, err := c.Do(context.Background(), [][]byte{GetOp([]byte("k"))}); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err=%v", err)
		}
		if time.Since(start) != 10*time.Second {
			t.Fatalf("default timeout %v", time.Since(start))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Do(ctx, [][]byte{GetOp([]byte("k"))}); !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("canceled: %v", err)
		}
	})
}
