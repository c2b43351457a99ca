package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// newRedis returns a go-redis client for addr speaking the given protocol version.
// Its read timeout is a minute, not go-redis's 3 seconds: under -race on a loaded
// machine a cluster with a crashed replica (every live exec must answer when fast
// reads ask for 2f+1) can take longer, and these tests check answers, not latency.
func newRedis(t testing.TB, addr string, proto int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, MaxRetries: -1,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// toAny turns a go-redis reply into the model's form (string, int64, nilReply,
// modelErr, []any).
func toAny(v any, err error) any {
	if errors.Is(err, redis.Nil) {
		return nilReply{}
	}
	if err != nil {
		return modelErr(err.Error())
	}
	if arr, ok := v.([]any); ok {
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = toAny(e, nil)
			if e == nil {
				out[i] = nilReply{}
			}
		}
		return out
	}
	return v
}

func argsOf(c []string) []any {
	a := make([]any, len(c))
	for i, s := range c {
		a[i] = s
	}
	return a
}

// checkAgainstModel runs seeded random commands through rdb one by one and compares
// every reply with the model.
func checkAgainstModel(t *testing.T, rdb *redis.Client, seed uint64, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 16))
	m := redisModel{}
	ctx := context.Background()
	if err := rdb.Del(ctx, "k0", "k1", "k2", "k3").Err(); err != nil {
		t.Fatalf("seed %d: del: %v", seed, err)
	}
	for i := range n {
		c := randomCommand(rng)
		want := m.apply(c)
		got := toAny(rdb.Do(ctx, argsOf(c)...).Result())
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d, command %d %q: got %#v, want %#v", seed, i, c, got, want)
		}
	}
}

// TestGoRedisModel drives the gateway with go-redis in RESP2 and RESP3 and checks every
// supported command against the model of Redis semantics.
func TestGoRedisModel(t *testing.T) {
	_, _, addr := startStore(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			checkAgainstModel(t, newRedis(t, addr, proto), uint64(proto), 3000)
		})
	}
}

// TestGoRedisPipeline sends pipelines through go-redis and checks that each becomes
// one request, with every reply matching the model in order.
func TestGoRedisPipeline(t *testing.T) {
	_, d, addr := startStore(t)
	rdb := newRedis(t, addr, 3)
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	m := redisModel{}
	for round := range 20 {
		cmds := make([][]string, 16)
		p := rdb.Pipeline()
		out := make([]*redis.Cmd, len(cmds))
		for i := range cmds {
			cmds[i] = randomCommand(rng)
			out[i] = p.Do(ctx, argsOf(cmds[i])...)
		}
		d.mu.Lock()
		before := d.requests
		d.mu.Unlock()
		_, _ = p.Exec(ctx)
		for i, c := range cmds {
			if got, want := toAny(out[i].Result()), m.apply(c); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d command %d %q: got %#v, want %#v", round, i, c, got, want)
			}
		}
		d.mu.Lock()
		reqs := d.requests - before
		d.mu.Unlock()
		if reqs != 1 {
			t.Fatalf("round %d: a pipeline of 16 commands took %d requests, want 1", round, reqs)
		}
	}
}

// TestGoRedisRefusals checks MULTI/EXEC, unsupported commands, limits and a cluster
// that does not answer: each gets a clear error, never a value.
func TestGoRedisRefusals(t *testing.T) {
	_, d, addr := startStore(t)
	rdb := newRedis(t, addr, 3)
	ctx := context.Background()
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "a", "1", 0)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "MULTI/EXEC transactions are not supported") {
		t.Fatalf("MULTI/EXEC: got %v", err)
	}
	checks := []struct {
		args []any
		want string
	}{
		{[]any{"SET", "a", "1", "EX", "10"}, "ERR syntax error"},
		{[]any{"SET", "a", "1", "NX", "XX"}, "ERR syntax error"},
		{[]any{"LPUSH", "l", "1"}, "ERR unknown command 'LPUSH'"},
		{[]any{"SELECT", "1"}, "ERR DB index is out of range"},
		{[]any{"GET", strings.Repeat("k", 257)}, "ERR key length 257 out of range"},
		{[]any{"SET", "a", strings.Repeat("v", 16<<10+1)}, "ERR value of 16385 bytes"},
		{[]any{"DECRBY", "a", "-9223372036854775808"}, "ERR decrement would overflow"},
		{[]any{"INCRBY", "a", "1.5"}, "ERR value is not an integer or out of range"},
		{[]any{"MSET", "a"}, "ERR wrong number of arguments"},
		{[]any{"MSET", "a", "1", "b"}, "ERR wrong number of arguments for 'mset' command"},
	}
	for _, c := range checks {
		if err := rdb.Do(ctx, c.args...).Err(); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error starting %q", c.args[:2], err, c.want)
		}
	}
	d.mu.Lock()
	d.fail = true
	d.mu.Unlock()
	if err := rdb.Set(ctx, "a", "1", 0).Err(); err == nil || !strings.Contains(err.Error(), "did not answer in time") {
		t.Fatalf("cluster down: got %v", err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("local command with the cluster down: %v", err)
	}
}
