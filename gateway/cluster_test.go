package gateway

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/client"
	confa "github.com/splitbft/splitbft/conf-a"
	confb "github.com/splitbft/splitbft/conf-b"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	prepa "github.com/splitbft/splitbft/prep-a"
	prepb "github.com/splitbft/splitbft/prep-b"
	"github.com/splitbft/splitbft/spec"
)

// lyingStore is a Byzantine application: it executes correctly (so its state and
// checkpoints agree) but answers every non-empty OK result with a wrong value, which
// its exec then seals properly under its own reply key.
type lyingStore struct{ *kv.Store }

func (l lyingStore) Execute(op []byte) spec.Result { return lie(l.Store.Execute(op)) }

// ExecuteRead lies on the fast read path too (SPEC.md §16.6).
func (l lyingStore) ExecuteRead(op []byte) (spec.Result, bool) {
	r, ok := l.Store.ExecuteRead(op)
	return lie(r), ok
}

func lie(r spec.Result) spec.Result {
	if r.Status == spec.StatusOK && len(r.Value) > 0 {
		r.Value = []byte("evil")
	}
	return r
}

// builds is the mixed diversity matrix; byzantine ≥ 0 gives that replica a lying exec.
func builds(byzantine int) []localnet.Builds {
	pa := func(r io.Reader) spec.Compartment { return prepa.New(r) }
	pb := func(r io.Reader) spec.Compartment { return prepb.New(r) }
	ca := func(r io.Reader) spec.Compartment { return confa.New(r) }
	cb := func(r io.Reader) spec.Compartment { return confb.New(r) }
	ex := func(r io.Reader) spec.Compartment { return exec.New(r, kv.New()) }
	liar := func(r io.Reader) spec.Compartment { return exec.New(r, lyingStore{kv.New()}) }
	b := []localnet.Builds{{Prep: pa, Conf: ca, Exec: ex}, {Prep: pa, Conf: cb, Exec: ex}, {Prep: pb, Conf: ca, Exec: ex}, {Prep: pb, Conf: cb, Exec: ex}}
	if byzantine >= 0 {
		b[byzantine].Exec = liar
	}
	return b
}

// startCluster runs a 4-replica in-process cluster and a gateway over its clients.
func startCluster(t testing.TB, byzantine int) (*localnet.Cluster, *Gateway, string) {
	return startClusterN(t, byzantine, 4, 0)
}

// startClusterN is startCluster with gw client identities for the gateway and extra
// ones for native clients (cl.Client(gw) onwards).
func startClusterN(t testing.TB, byzantine, gw, extra int) (*localnet.Cluster, *Gateway, string) {
	return startClusterOpt(t, byzantine, gw, extra, Options{Timeout: 30 * time.Second})
}

// startClusterOpt is startClusterN with the gateway's options.
func startClusterOpt(t testing.TB, byzantine, gw, extra int, opt Options) (*localnet.Cluster, *Gateway, string) {
	t.Helper()
	cl, err := localnet.Start(localnet.Options{Replicas: builds(byzantine), Clients: gw + extra,
		Setup:  broker.Setup{Name: "gateway-test", MaxRequestOps: 64, MaxOpBytes: 32 << 10},
		Client: client.Options{Timeout: 30 * time.Second, Retransmit: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	doers := make([]Doer, gw)
	for i := range doers {
		doers[i] = cl.Client(i)
	}
	g, err := New(cl.Config, doers, opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Close)
	return cl, g, l.Addr().String()
}

// TestClusterGoRedisModel runs go-redis against a gateway in front of a real cluster,
// one of whose execs lies, and checks every reply against the model.
func TestClusterGoRedisModel(t *testing.T) {
	_, g, addr := startCluster(t, 3)
	checkAgainstModel(t, newRedis(t, addr, 3), 11, 300)
	if s := g.Stats(); s.Ordered == 0 || s.Requests == 0 {
		t.Fatalf("stats %+v: no operation was ordered", s)
	}
}

// histEntry is one command of the linearizability history.
type histEntry struct {
	conn      int
	cmd       []string
	call, ret int64
	out       any // the reply in model form; nil when it failed (unknown outcome)
}

// regState is the model's state over the two keys of the history test.
type regState struct {
	val     [2]string
	present [2]bool
}

var histKeys = []string{"h0", "h1"}

func (s regState) toModel() redisModel {
	m := redisModel{}
	for i, k := range histKeys {
		if s.present[i] {
			m[k] = s.val[i]
		}
	}
	return m
}

func fromModel(m redisModel) regState {
	var s regState
	for i, k := range histKeys {
		s.val[i], s.present[i] = m[k]
	}
	return s
}

// redisPorcupine is the Redis model for porcupine; an unknown output (nil) is accepted
// with the command applied, as a failed command may or may not have executed.
var redisPorcupine = porcupine.Model{
	Init: func() any { return regState{} },
	Step: func(state, input, output any) (bool, any) {
		m := state.(regState).toModel()
		want := m.apply(input.([]string))
		if output != nil && !reflect.DeepEqual(want, output) {
			return false, state
		}
		return true, fromModel(m)
	},
	DescribeOperation: func(input, output any) string { return fmt.Sprintf("%q -> %#v", input, output) },
}

// historyCommand draws a command over the two history keys.
func historyCommand(rng *rand.Rand) []string {
	k := func() string { return histKeys[rng.IntN(2)] }
	v := fmt.Sprint(rng.IntN(100))
	switch rng.IntN(7) {
	case 0, 1:
		return []string{"GET", k()}
	case 2:
		return []string{"SET", k(), v}
	case 3:
		return []string{"INCR", k()}
	case 4:
		return []string{"APPEND", k(), "x"}
	case 5:
		return []string{"MGET", "h0", "h1"}
	}
	return []string{"DEL", k()}
}

// runHistory has conns connections send pipelines of 1..4 random commands until each
// sent cmds commands, calling during(i) before pipeline i of connection 0. Logical
// times come from one counter: a pipeline's commands are all invoked before its first
// write and return after its last reply.
func runHistory(t *testing.T, addr string, seed uint64, conns, cmds int, during func(i int)) []histEntry {
	var clock atomic.Int64
	var mu sync.Mutex
	var hist []histEntry
	var wg sync.WaitGroup
	for c := range conns {
		rdb := newRedis(t, addr, 2+c%2)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			ctx := context.Background()
			for sent, i := 0, 0; sent < cmds; i++ {
				if c == 0 && during != nil {
					during(i)
				}
				batch := make([][]string, 1+rng.IntN(4))
				p := rdb.Pipeline()
				out := make([]*redis.Cmd, len(batch))
				for j := range batch {
					batch[j] = historyCommand(rng)
					out[j] = p.Do(ctx, argsOf(batch[j])...)
				}
				call := clock.Add(1)
				_, _ = p.Exec(ctx)
				ret := clock.Add(1)
				mu.Lock()
				for j, cmd := range batch {
					e := histEntry{conn: c, cmd: cmd, call: call, ret: ret, out: toAny(out[j].Result())}
					if me, failed := e.out.(modelErr); failed && (cmd[0] != "INCR" || !strings.Contains(string(me), "not an integer")) {
						t.Logf("connection %d: %q failed: %s (unknown outcome)", c, cmd, me)
						e.out, e.ret = nil, math.MaxInt64
					}
					hist = append(hist, e)
				}
				mu.Unlock()
				sent += len(batch)
			}
		})
	}
	wg.Wait()
	return hist
}

// checkHistory fails unless the history is linearizable. runHistory keeps an INCR's
// "not an integer" error as its output (the model's answer); any other error is an
// unknown outcome.
func checkHistory(t *testing.T, seed uint64, hist []histEntry) {
	t.Helper()
	ops := make([]porcupine.Operation, len(hist))
	answered := 0
	for i, h := range hist {
		ops[i] = porcupine.Operation{ClientId: h.conn, Input: h.cmd, Call: h.call, Return: h.ret, Output: h.out}
		if h.out != nil {
			answered++
		}
	}
	if answered == 0 {
		t.Fatalf("seed %d: no command was answered", seed)
	}
	if !porcupine.CheckOperations(redisPorcupine, ops) {
		t.Fatalf("seed %d: the history of %d commands (%d answered) is not linearizable", seed, len(hist), answered)
	}
	t.Logf("seed %d: %d commands, %d answered, linearizable", seed, len(hist), answered)
}

// TestClusterLinearizable checks histories of concurrent go-redis connections with
// porcupine under faults: a Byzantine exec that lies in every reply, a crashed
// replica, and the primary killed during pipelines (a view change).
func TestClusterLinearizable(t *testing.T) {
	cases := []struct {
		name       string
		byzantine  int
		fault      func(cl *localnet.Cluster, i int)
		viewChange bool // the live replicas must have left view 0
	}{
		{"byzantine exec", 2, nil, false},
		{"crashed replica", -1, func(cl *localnet.Cluster, i int) {
			if i == 0 {
				cl.Kill(3)
			}
		}, false},
		{"view change during pipelines", -1, func(cl *localnet.Cluster, i int) {
			if i == 5 {
				cl.Kill(0) // the primary of view 0
			}
		}, true},
	}
	for k, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := uint64(100 + k)
			cl, _, addr := startCluster(t, tc.byzantine)
			var during func(int)
			if tc.fault != nil {
				during = func(i int) { tc.fault(cl, i) }
			}
			checkHistory(t, seed, runHistory(t, addr, seed, 4, 60, during))
			if st, err := cl.Status(1); err != nil || (tc.viewChange && st[spec.RoleExec].View == 0) {
				t.Fatalf("replica 1 status %+v, %v: want a view above 0: %v", st[spec.RoleExec], err, tc.viewChange)
			}
		})
	}
}
