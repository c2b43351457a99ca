package operator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// peerAnswer is how a fake peer answers a GET /chain; a peer's script gives its
// answer to its request k (from 0).
type peerAnswer int

const (
	ansServes      peerAnswer = iota // 200 with the chain
	ansRecovering                    // 503 with Splitbft-Phase: recovering (SPEC §17.8)
	ansNotReady                      // 503 without the header (not running yet)
	ansUnreachable                   // the connection is closed without an answer
	ansRejoining                     // 503 with Splitbft-Phase: rejoining (restarted, waiting for f+1 chains)
	ansHangs                         // no answer until the asker gives up
)

// always answers a to every request.
func always(a peerAnswer) func(int64) peerAnswer { return func(int64) peerAnswer { return a } }

// then answers a to the first k requests and b after.
func then(a peerAnswer, k int64, b peerAnswer) func(int64) peerAnswer {
	return func(i int64) peerAnswer {
		if i < k {
			return a
		}
		return b
	}
}

// TestRejoinAwaitChain drives the decision of a replica that formed before and
// restarts (replica 3 of 4, f = 1) against fake peers' status ports: rejoin once f+1
// peers serve the chain, go into recovery mode (SPEC §17.8) when the peers it sees
// recover the whole cluster themselves or stay unreachable, and never while f+1 peers
// could still serve a chain (that would split the cluster). The cases "answered, then
// recovering" are the liveness hole: a peer answered /chain during the grace, then
// every peer went into recovery mode (a whole-cluster restart in which this replica
// was a moment apart from the others); the replica waited for f+1 chains forever, so
// recover-cluster never got its offer.
func TestRejoinAwaitChain(t *testing.T) {
	genesis, ec := chainFixture(t)
	chain := spec.Encode(&Chain{Genesis: genesis, Changes: []spec.Step{spec.ChangeStep(ec)}})
	const grace = 400 * time.Millisecond // long enough that a request on loopback ends within it under load
	for _, tc := range []struct {
		name       string
		peers      [3]func(int64) peerAnswer
		canRecover bool          // the replica has a chain and a keyed ledger
		bound      time.Duration // the test's deadline for the decision
		want       string        // "rejoin", "recover" or "wait" (still deciding at bound)
	}{
		{"answered, then recovering; the others unreachable", [3]func(int64) peerAnswer{then(ansServes, 1, ansRecovering), always(ansUnreachable), always(ansUnreachable)}, true, 10 * time.Second, "recover"},
		{"answered, then the whole cluster recovering", [3]func(int64) peerAnswer{then(ansServes, 1, ansRecovering), then(ansNotReady, 3, ansRecovering), then(ansNotReady, 3, ansRecovering)}, true, 10 * time.Second, "recover"},
		{"answered, then unreachable", [3]func(int64) peerAnswer{then(ansServes, 1, ansUnreachable), always(ansNotReady), always(ansUnreachable)}, true, 10 * time.Second, "recover"},
		{"one serves, the others recovering", [3]func(int64) peerAnswer{always(ansServes), always(ansRecovering), always(ansRecovering)}, true, 10 * time.Second, "recover"},
		{"one serves, the others restarted and rejoining (more than f restarted)", [3]func(int64) peerAnswer{always(ansServes), always(ansRejoining), always(ansRejoining)}, true, 10 * time.Second, "recover"},
		{"one serves, one rejoining (f restarted), one unreachable", [3]func(int64) peerAnswer{always(ansServes), always(ansRejoining), always(ansUnreachable)}, true, 2 * time.Second, "wait"},
		{"peer 0 hangs, the others serve", [3]func(int64) peerAnswer{always(ansHangs), always(ansServes), always(ansServes)}, true, 10 * time.Second, "rejoin"},
		{"no peer answers", [3]func(int64) peerAnswer{always(ansUnreachable), always(ansNotReady), always(ansRecovering)}, true, 10 * time.Second, "recover"},
		{"f+1 serve", [3]func(int64) peerAnswer{always(ansServes), always(ansRecovering), then(ansNotReady, 5, ansServes)}, true, 10 * time.Second, "rejoin"},
		{"one serves, the others unreachable", [3]func(int64) peerAnswer{always(ansServes), always(ansUnreachable), always(ansNotReady)}, true, 2 * time.Second, "wait"},
		{"one serves, one says it recovers (f faulty), one unreachable", [3]func(int64) peerAnswer{always(ansServes), always(ansRecovering), always(ansUnreachable)}, true, 2 * time.Second, "wait"},
		{"no ledger: every peer recovering", [3]func(int64) peerAnswer{always(ansRecovering), always(ansRecovering), always(ansRecovering)}, false, 2 * time.Second, "wait"},
		{"no ledger: answered, then recovering", [3]func(int64) peerAnswer{then(ansServes, 1, ansRecovering), always(ansRecovering), always(ansRecovering)}, false, 2 * time.Second, "wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := &Template{N: 4, F: 1, Replicas: make([]ReplicaTemplate, 4)}
			var reqs [3]atomic.Int64
			for i, script := range tc.peers {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/chain" {
						http.NotFound(w, r)
						return
					}
					switch script(reqs[i].Add(1) - 1) {
					case ansServes:
						w.Write(chain)
					case ansRecovering:
						w.Header().Set(PhaseHeader, PhaseRecovering)
						http.Error(w, "recovering the whole cluster", http.StatusServiceUnavailable)
					case ansNotReady:
						http.Error(w, "not ready", http.StatusServiceUnavailable)
					case ansRejoining:
						w.Header().Set(PhaseHeader, PhaseRejoining)
						http.Error(w, "not ready", http.StatusServiceUnavailable)
					case ansHangs:
						<-r.Context().Done()
					case ansUnreachable:
						conn, _, err := w.(http.Hijacker).Hijack()
						if err == nil {
							conn.Close()
						}
					}
				}))
				defer srv.Close()
				tmpl.Replicas[i].Status = strings.TrimPrefix(srv.URL, "http://")
			}
			tmpl.Replicas[3].Status = "127.0.0.1:1" // this replica: never asked
			ctx, cancel := context.WithTimeout(context.Background(), tc.bound)
			defer cancel()
			start := time.Now()
			c, cfg, recovers, err := awaitChain(ctx, ChainFetcher{T: tmpl, ID: 3, Every: 10 * time.Millisecond, Timeout: time.Second}, genesis, grace, tc.canRecover)
			got := "wait"
			switch {
			case err == nil && recovers:
				got = "recover"
			case err == nil:
				got = "rejoin"
				if cfg == nil || c == nil || cfg.Epoch != 1 || len(c.Changes) != 1 {
					t.Fatalf("rejoined with chain %+v, configuration %+v; want the served chain (epoch 1)", c, cfg)
				}
			case !errors.Is(err, context.DeadlineExceeded):
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tc.want {
				t.Fatalf("decided %q after %v (requests to peers 0-2: %d, %d, %d), want %q", got, time.Since(start).Round(time.Millisecond), reqs[0].Load(), reqs[1].Load(), reqs[2].Load(), tc.want)
			}
			// Still deciding with a ledger: in rounds, each of which asks peer 0 again
			// (a peer that served is not asked again within a round).
			if got == "wait" && tc.canRecover && reqs[0].Load() < 2 {
				t.Fatalf("peer 0 was asked %d times in %v: the replica does not decide again in rounds of %v", reqs[0].Load(), tc.bound, grace)
			}
		})
	}
}

// TestClusterRunsCountsOneRound: a replica in recovery mode concludes that the
// cluster runs after all (and stops, to rejoin) only when f+1 peers serve a chain
// within one round: a peer that served once and went silent, and another that serves
// later (a stopped survivor, then one faulty peer), do not add up.
func TestClusterRunsCountsOneRound(t *testing.T) {
	genesis, ec := chainFixture(t)
	chain := spec.Encode(&Chain{Genesis: genesis, Changes: []spec.Step{spec.ChangeStep(ec)}})
	for _, tc := range []struct {
		name  string
		peers [3]func(int64) peerAnswer
		runs  bool
	}{
		{"two serve", [3]func(int64) peerAnswer{always(ansServes), always(ansUnreachable), always(ansServes)}, true},
		{"one served early, another serves late", [3]func(int64) peerAnswer{then(ansServes, 1, ansUnreachable), then(ansUnreachable, 150, ansServes), always(ansRecovering)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := &Template{N: 4, F: 1, Replicas: make([]ReplicaTemplate, 4)}
			for i, script := range tc.peers {
				var reqs atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch script(reqs.Add(1) - 1) {
					case ansServes:
						w.Write(chain)
					case ansRecovering:
						w.Header().Set(PhaseHeader, PhaseRecovering)
						http.Error(w, "recovering the whole cluster", http.StatusServiceUnavailable)
					default:
						if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
							conn.Close()
						}
					}
				}))
				defer srv.Close()
				tmpl.Replicas[i].Status = strings.TrimPrefix(srv.URL, "http://")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			c, err := clusterRuns(ctx, ChainFetcher{T: tmpl, ID: 3, Every: 10 * time.Millisecond, Timeout: time.Second}, genesis, 300*time.Millisecond)
			if runs := err == nil; runs != tc.runs || (runs && len(c.Changes) != 1) {
				t.Fatalf("clusterRuns: error %v, want a running cluster: %v", err, tc.runs)
			}
		})
	}
}
