package client

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// pushCluster is an epochCluster whose brokers push epoch changes (EpochSource).
type pushCluster struct {
	epochCluster
	pushed chan []byte
}

func (c pushCluster) EpochChanges() <-chan []byte { return c.pushed }

// TestPushedEpochResendsAtOnce: the cluster moves to epoch 1 while a request is in
// flight; a broker pushes the epoch change, and the client verifies it, re-signs the
// request under the new digest with the same timestamp and sends it again at once,
// without waiting for its retransmission timer and without asking for the chain
// (SPEC §13.2 kind 5, §17.7). Virtual time (synctest): no sleeping.
func TestPushedEpochResendsAtOnce(t *testing.T) {
	const seed = 51
	synctest.Test(t, func(t *testing.T) {
		fx := newFixture(t, 1, seed)
		old := fx.cfg
		ec := fx.nextEpoch(t, func(*spec.Config) {})
		tr := pushCluster{epochCluster{newFakeCluster(t, fx)}, make(chan []byte, 4)}
		asked := 0
		chain := func(context.Context, *spec.Config) ([]spec.Step, error) { asked++; return nil, nil }
		c, err := New(old, fx.id, fx.rnd, tr, Options{Retransmit: time.Second, Chain: chain})
		if err != nil {
			t.Fatal(err)
		}
		var next spec.Config
		spec.Decode(ec.Config, &next, spec.MaxMessageBytes)
		fx.cfg, fx.cd = &next, spec.ConfigDigest(&next) // the cluster moves on: the first send is dropped
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- c.Put(context.Background(), []byte("k"), []byte("v")) }()
		synctest.Wait() // the request was sent and the client waits
		if tr.sends != 1 || tr.lastTS != 0 {
			t.Fatalf("%s: before the push: %d sends, executed timestamp %d", seedName(seed), tr.sends, tr.lastTS)
		}
		tr.pushed <- spec.Encode(&ec)
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", seedName(seed), err)
		}
		if el := time.Since(start); el != 0 || tr.broadcasts != 0 || tr.sends != 2 || asked != 0 {
			t.Fatalf("%s: completed after %v with %d broadcasts, %d sends, chain asked %d times; want at once, 0, 2, 0",
				seedName(seed), el, tr.broadcasts, tr.sends, asked)
		}
		if c.Epochs() != 1 || c.Session().Epoch() != 1 || tr.lastTS != 1 || c.IgnoredEpochs() != 0 {
			t.Fatalf("%s: epochs followed %d, session epoch %d, executed timestamp %d, ignored %d",
				seedName(seed), c.Epochs(), c.Session().Epoch(), tr.lastTS, c.IgnoredEpochs())
		}
	})
}

// TestPushedEpochBetweenRequests: a change pushed while nothing is outstanding is
// followed before the next request, which is then signed for the new epoch and
// completes on its first send.
func TestPushedEpochBetweenRequests(t *testing.T) {
	const seed = 52
	synctest.Test(t, func(t *testing.T) {
		fx := newFixture(t, 1, seed)
		old := fx.cfg
		ec := fx.nextEpoch(t, func(*spec.Config) {})
		tr := pushCluster{epochCluster{newFakeCluster(t, fx)}, make(chan []byte, 4)}
		c, err := New(old, fx.id, fx.rnd, tr, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var next spec.Config
		spec.Decode(ec.Config, &next, spec.MaxMessageBytes)
		fx.cfg, fx.cd = &next, spec.ConfigDigest(&next)
		tr.pushed <- spec.Encode(&ec)
		if err := c.Put(context.Background(), []byte("k"), []byte("v")); err != nil {
			t.Fatalf("%s: %v", seedName(seed), err)
		}
		if tr.sends != 1 || c.Session().Epoch() != 1 || tr.lastTS != 1 {
			t.Fatalf("%s: %d sends, session epoch %d, executed timestamp %d; want 1, 1, 1", seedName(seed), tr.sends, c.Session().Epoch(), tr.lastTS)
		}
	})
}

// TestPushedEpochIgnored: pushes that are not the verified next epoch change nothing
// and cost nothing else: no send, no chain fetch, the same configuration; a push for
// a later epoch (the client may be behind) makes the client ask Options.Chain at
// most once per retransmission period, however many come.
func TestPushedEpochIgnored(t *testing.T) {
	const seed = 53
	for _, tc := range []struct {
		name   string
		pushes func(t *testing.T, fx *fixture) [][]byte
		asked  int
	}{
		{"forged vote", func(t *testing.T, fx *fixture) [][]byte {
			ec := fx.nextEpoch(t, func(*spec.Config) {})
			ec.Votes[1].Sig[5] ^= 1
			return [][]byte{spec.Encode(&ec)}
		}, 0},
		{"forged configuration", func(t *testing.T, fx *fixture) [][]byte {
			ec := fx.nextEpoch(t, func(*spec.Config) {})
			ec.Config = fx.nextEpoch(t, func(c *spec.Config) { c.Name = []byte("forged") }).Config // the votes are for another one
			return [][]byte{spec.Encode(&ec)}
		}, 0},
		{"current epoch", func(t *testing.T, fx *fixture) [][]byte {
			ec := fx.nextEpoch(t, func(c *spec.Config) { c.Epoch = fx.cfg.Epoch })
			return [][]byte{spec.Encode(&ec)}
		}, 0},
		{"not an epoch change", func(*testing.T, *fixture) [][]byte { return [][]byte{{0x80}, nil} }, 0},
		{"later epochs", func(t *testing.T, fx *fixture) [][]byte {
			ec := fx.nextEpoch(t, func(c *spec.Config) { c.Epoch += 5 })
			return [][]byte{spec.Encode(&ec), spec.Encode(&ec), spec.Encode(&ec)}
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fx := newFixture(t, 1, seed)
				tr := pushCluster{epochCluster{newFakeCluster(t, fx)}, make(chan []byte, 4)}
				tr.silent = true
				asked := 0
				chain := func(context.Context, *spec.Config) ([]spec.Step, error) { asked++; return nil, nil }
				c, err := New(fx.cfg, fx.id, fx.rnd, tr, Options{Retransmit: time.Hour, Chain: chain})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { _, err := c.Do(ctx, [][]byte{GetOp([]byte("k"))}); done <- err }()
				synctest.Wait()
				pushes := tc.pushes(t, fx)
				for _, p := range pushes {
					tr.pushed <- p
					synctest.Wait()
				}
				cancel()
				<-done
				if tr.sends != 1 || asked != tc.asked || c.Session().Epoch() != 0 || c.IgnoredEpochs() != uint64(len(pushes)-tc.asked) {
					t.Fatalf("%s: %d sends, chain asked %d times, epoch %d, ignored %d; want 1, %d, 0, %d",
						seedName(seed), tr.sends, asked, c.Session().Epoch(), c.IgnoredEpochs(), tc.asked, len(pushes)-tc.asked)
				}
			})
		})
	}
}
