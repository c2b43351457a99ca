package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker/localnet"
)

// fastOptions turns the fast read path on (SPEC.md §16.6).
var fastOptions = Options{Timeout: 30 * time.Second, FastReads: true}

// TestFastReadsModel checks every command against the model with fast reads on, one
// exec lying, and that read-only commands were answered by the fast path.
func TestFastReadsModel(t *testing.T) {
	_, g, addr := startClusterOpt(t, 1, 4, 0, fastOptions)
	checkAgainstModel(t, newRedis(t, addr, 3), 21, 300)
	if s := g.Stats(); s.FastHits == 0 {
		t.Fatalf("no fast read hit: %+v", s)
	}
}

// TestFastReadsLinearizable checks porcupine histories of concurrent pipelines that
// mix fast reads with ordered writes, under a lying exec, a crashed replica and a view
// change, on a read-heavy mix.
func TestFastReadsLinearizable(t *testing.T) {
	cases := []struct {
		name      string
		byzantine int
		fault     func(cl *localnet.Cluster, i int)
	}{
		{"byzantine exec", 3, nil},
		{"crashed replica", -1, func(cl *localnet.Cluster, i int) {
			if i == 2 {
				cl.Kill(2)
			}
		}},
		{"view change", -1, func(cl *localnet.Cluster, i int) {
			if i == 4 {
				cl.Kill(0)
			}
		}},
	}
	for k, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := uint64(300 + k)
			cl, g, addr := startClusterOpt(t, tc.byzantine, 4, 0, fastOptions)
			var during func(int)
			if tc.fault != nil {
				during = func(i int) { tc.fault(cl, i) }
			}
			checkHistory(t, seed, runHistory(t, addr, seed, 4, 80, during))
			s := g.Stats()
			t.Logf("%s: fast read hits %d, fallbacks %d", tc.name, s.FastHits, s.Fallbacks)
			if s.FastHits == 0 {
				t.Fatalf("no fast read hit: %+v", s)
			}
		})
	}
}

// BenchmarkReadHeavy measures a 90%-read workload through the gateway with every read
// ordered and with fast reads, in one run, and reports the ratio (issue 16's goal:
// at least 2x). Each of 16 connections sends single commands on its own keys.
func BenchmarkReadHeavy(b *testing.B) {
	rates := map[bool]float64{}
	for _, fast := range []bool{false, true} {
		opt := Options{Timeout: 30 * time.Second, FastReads: fast}
		_, g, addr := startClusterOpt(b, -1, 8, 0, opt)
		rates[fast] = readHeavyRate(b, addr, 16, 150)
		s := g.Stats()
		b.Logf("fast=%v: %.0f commands/s (fast hits %d, fallbacks %d)", fast, rates[fast], s.FastHits, s.Fallbacks)
	}
	b.ReportMetric(rates[false], "ordered-cmds/s")
	b.ReportMetric(rates[true], "fast-cmds/s")
	b.ReportMetric(rates[true]/rates[false], "fast/ordered")
}

// readHeavyRate runs conns connections of n commands each, 90% GET and 10% SET over
// 100 keys per connection, and returns commands per second.
func readHeavyRate(b *testing.B, addr string, conns, n int) float64 {
	ctx := context.Background()
	start := time.Now()
	errs := make(chan error, conns)
	for c := range conns {
		rdb := newRedis(b, addr, 2)
		go func() {
			rng := rand.New(rand.NewPCG(uint64(c), 90))
			for range n {
				key := fmt.Sprintf("rh:%d:%d", c, rng.IntN(100))
				var err error
				if rng.IntN(10) == 0 {
					err = rdb.Set(ctx, key, "v", 0).Err()
				} else if err = rdb.Get(ctx, key).Err(); err != nil && err.Error() == "redis: nil" {
					err = nil
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	return float64(conns*n) / time.Since(start).Seconds()
}
