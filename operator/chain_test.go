package operator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// chainFixture is a genesis configuration with known keys and one valid epoch change.
func chainFixture(t *testing.T) (genesis []byte, ec spec.EpochChange) {
	t.Helper()
	tc, err := testcluster.New(5, testcluster.Options{F: 1, K: 4, L: 8, MaxBatch: 8, MaxOps: 4, MaxOpBytes: 256,
		Name: "chain-test", Builds: [3]string{"prep-a", "conf-a", "exec"}, Clients: []uint64{1}, Keys: spec.TestStream("chain", 1), Admit: broker.AdmitKey})
	if err != nil {
		t.Fatal(err)
	}
	var next spec.Config
	spec.Decode(spec.Encode(tc.Config), &next, spec.MaxMessageBytes)
	next.Epoch, next.Prev, next.StartSeq, next.StartState = 1, tc.CD, 5, spec.Digest{5}
	ec.Config = spec.Encode(&next)
	for _, i := range []uint64{0, 1, 3} {
		b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: i}
		ec.Votes = append(ec.Votes, spec.EpochVote{Body: b, Sig: tc.Sign(spec.RoleExec, i, spec.DomainEpochVote, &b)})
	}
	return spec.Encode(tc.Config), ec
}

// TestChainFetch: a rejoining replica takes the longest chain that verifies from its
// genesis among f+1 peers' answers; a forged chain, another cluster's chain and
// garbage are not answers (SPEC §13.4 rejoin, §17.7).
func TestChainFetch(t *testing.T) {
	genesis, ec := chainFixture(t)
	forged := ec
	forged.Votes = append([]spec.EpochVote(nil), ec.Votes...)
	forged.Votes[2].Sig[0] ^= 1
	other := append([]byte(nil), genesis...)
	other[len(other)-1] ^= 1
	for _, tc := range []struct {
		name  string
		serve [3][]byte // replicas 0..2 (replica 3 fetches); nil: 503
		epoch uint64
		err   string
	}{
		{"longest of f+1", [3][]byte{spec.Encode(&Chain{Genesis: genesis}), spec.Encode(&Chain{Genesis: genesis, Changes: []spec.Step{spec.ChangeStep(ec)}}), nil}, 1, ""},
		{"forged ignored", [3][]byte{spec.Encode(&Chain{Genesis: genesis, Changes: []spec.Step{spec.ChangeStep(forged)}}), spec.Encode(&Chain{Genesis: genesis}), []byte("junk")}, 0, "deadline"},
		{"other cluster ignored", [3][]byte{spec.Encode(&Chain{Genesis: other}), spec.Encode(&Chain{Genesis: genesis, Changes: []spec.Step{spec.ChangeStep(ec)}}), spec.Encode(&Chain{Genesis: genesis})}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := &Template{N: 4, F: 1, Replicas: make([]ReplicaTemplate, 4)}
			for i, body := range tc.serve {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if body == nil {
						http.Error(w, "not ready", http.StatusServiceUnavailable)
						return
					}
					w.Write(body)
				}))
				defer srv.Close()
				tmpl.Replicas[i].Status = strings.TrimPrefix(srv.URL, "http://")
			}
			tmpl.Replicas[3].Status = "127.0.0.1:1"
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			cf := &ChainFetcher{T: tmpl, ID: 3, Every: 20 * time.Millisecond}
			c, cfg, err := cf.Fetch(ctx, genesis)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("fetched epoch %v, err %v; want an error with %q", cfg, err, tc.err)
				}
				return
			}
			if err != nil || cfg.Epoch != tc.epoch || uint64(len(c.Changes)) != tc.epoch {
				t.Fatalf("err %v; want epoch %d", err, tc.epoch)
			}
		})
	}
}

// TestLatestAndChainSource: a client follows the longest chain that verifies from the
// configuration it trusts, whoever serves it, and ignores a forged one (SPEC §17.7).
func TestLatestAndChainSource(t *testing.T) {
	genesis, ec := chainFixture(t)
	forged := ec
	forged.Votes = append([]spec.EpochVote(nil), ec.Votes...)
	forged.Votes[0].Sig[0] ^= 1
	var g spec.Config
	spec.Decode(genesis, &g, spec.MaxMessageBytes)
	for _, tc := range []struct {
		name    string
		changes [][]spec.Step
		epoch   uint64
	}{
		{"one replica ahead", [][]spec.Step{nil, {spec.ChangeStep(ec)}, nil}, 1},
		{"forged only", [][]spec.Step{{spec.ChangeStep(forged)}, nil}, 0},
		{"forged and genuine", [][]spec.Step{{spec.ChangeStep(forged)}, {spec.ChangeStep(ec)}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grp := copyGroup{raw: genesis}
			for i, ch := range tc.changes {
				grp.replicas, grp.changes = append(grp.replicas, i), append(grp.changes, ch)
			}
			if got := latest(&g, []copyGroup{grp}); got.Epoch != tc.epoch {
				t.Fatalf("latest: epoch %d, want %d", got.Epoch, tc.epoch)
			}
			tmpl := &Template{N: 4, F: 1, Replicas: make([]ReplicaTemplate, 4)}
			for i := range tmpl.Replicas {
				body := []byte(nil)
				if i < len(tc.changes) {
					body = spec.Encode(&Chain{Genesis: genesis, Changes: tc.changes[i]})
				}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if body == nil {
						http.Error(w, "down", http.StatusServiceUnavailable)
						return
					}
					w.Write(body)
				}))
				defer srv.Close()
				tmpl.Replicas[i].Status = strings.TrimPrefix(srv.URL, "http://")
			}
			got, err := ChainSource(tmpl, time.Second)(context.Background(), &g)
			if err != nil || uint64(len(got)) != tc.epoch {
				t.Fatalf("ChainSource: %d changes (%v), want %d", len(got), err, tc.epoch)
			}
		})
	}
}
