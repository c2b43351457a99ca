package gateway

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// storeDoer is a Doer that executes operations directly on one kv store, as a single
// correct replica would: the gateway's own logic tested without a cluster.
type storeDoer struct {
	mu       sync.Mutex
	s        *kv.Store
	requests int
	fail     bool // answer every request with an error, as a cluster that timed out
}

func (d *storeDoer) Do(_ context.Context, ops [][]byte) ([]spec.Result, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests++
	if d.fail {
		return nil, errors.New("storeDoer: cluster down")
	}
	res := make([]spec.Result, len(ops))
	for i, op := range ops {
		res[i] = d.s.Execute(op)
	}
	return res, nil
}

// testConfig has the limits the gateway reads from a configuration.
func testConfig() *spec.Config {
	return &spec.Config{MaxRequestOps: 64, MaxOpBytes: 32 << 10}
}

// startStore runs a gateway over a storeDoer on a loopback port.
func startStore(t *testing.T) (*Gateway, *storeDoer, string) {
	t.Helper()
	d := &storeDoer{s: kv.New()}
	g, err := New(testConfig(), []Doer{d}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Close)
	return g, d, l.Addr().String()
}
