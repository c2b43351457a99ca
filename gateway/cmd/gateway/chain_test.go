package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// chainOf returns a genesis configuration and two valid epoch changes after it
// (epochs 1 and 2), each voted by three of the four execs (keys unchanged) under the
// digest of the configuration it follows.
func chainOf(t *testing.T, seed uint64, name string) (*spec.Config, []spec.Step) {
	t.Helper()
	tc, err := testcluster.New(seed, testcluster.Options{Clients: []uint64{100}, Name: name, Admit: broker.AdmitKey})
	if err != nil {
		t.Fatal(err)
	}
	prev := tc.Config
	var steps []spec.Step
	for epoch := uint64(1); epoch <= 2; epoch++ {
		var next spec.Config
		if err := spec.Decode(spec.Encode(prev), &next, spec.MaxMessageBytes); err != nil {
			t.Fatal(err)
		}
		next.Epoch, next.Prev, next.StartSeq, next.StartState = epoch, spec.ConfigDigest(prev), 4*epoch, spec.Digest{byte(epoch)}
		ec := spec.EpochChange{Config: spec.Encode(&next)}
		for _, i := range []uint64{0, 1, 3} {
			b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: i}
			sig := tc.SignRaw(testcluster.Slot{Role: spec.RoleExec, Replica: i}, spec.SignedBytes(spec.DomainEpochVote, spec.ConfigDigest(prev), spec.Encode(&b)))
			ec.Votes = append(ec.Votes, spec.EpochVote{Body: b, Sig: sig})
		}
		steps = append(steps, spec.ChangeStep(ec))
		prev = &next
	}
	return tc.Config, steps
}

// TestChainSource: a gateway session behind by one or more epochs gets the longest run
// of steps after its configuration that verifies from it, whichever replica serves
// it; forged steps, another cluster's chain and junk are not followed (SPEC.md §17.7).
func TestChainSource(t *testing.T) {
	const seed = 41
	genesis, steps := chainOf(t, seed, "")
	other, otherSteps := chainOf(t, seed+1, "other")
	ec := *steps[1].Change
	ec.Votes = append([]spec.EpochVote(nil), ec.Votes...)
	ec.Votes[2].Sig[0] ^= 1
	forged := spec.ChangeStep(ec)
	var epoch1 spec.Config
	if err := spec.Decode(steps[0].ConfigBytes(), &epoch1, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	body := func(g *spec.Config, s ...spec.Step) []byte {
		return spec.Encode(&chainBody{Genesis: spec.Encode(g), Changes: s})
	}
	for _, c := range []struct {
		name  string
		cur   *spec.Config
		serve [4][]byte // nil: the replica answers 503
		want  int       // steps returned: the first want of steps after cur
	}{
		{"two behind", genesis, [4][]byte{body(genesis, steps...), body(genesis, steps[0]), []byte("junk"), nil}, 2},
		{"one behind", &epoch1, [4][]byte{nil, body(genesis, steps...), nil, nil}, 1},
		{"up to date", &epoch1, [4][]byte{body(genesis, steps[0]), nil, nil, nil}, 0},
		{"forged step", genesis, [4][]byte{body(genesis, steps[0], forged), body(genesis, steps[0]), nil, nil}, 1},
		{"another cluster", genesis, [4][]byte{body(other, otherSteps...), nil, nil, nil}, 0},
	} {
		cl := &cluster{N: 4, F: 1, Replicas: make([]clusterReplica, 4)}
		for i, b := range c.serve {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if b == nil || r.URL.Path != "/chain" {
					http.Error(w, "not serving", http.StatusServiceUnavailable)
					return
				}
				w.Write(b)
			}))
			defer srv.Close()
			cl.Replicas[i].Status = strings.TrimPrefix(srv.URL, "http://")
		}
		got, err := chainSource(cl)(context.Background(), c.cur)
		skip := int(c.cur.Epoch)
		if err != nil || len(got) != c.want {
			t.Errorf("seed %d: %s: %d steps (err %v), want %d", seed, c.name, len(got), err, c.want)
			continue
		}
		for i := range got {
			if string(got[i].ConfigBytes()) != string(steps[skip+i].ConfigBytes()) {
				t.Errorf("seed %d: %s: step %d is not the chain's step %d", seed, c.name, i, skip+i)
			}
		}
	}
}
