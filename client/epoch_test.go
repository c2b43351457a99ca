package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"testing/synctest"

	"github.com/splitbft/splitbft/spec"
)

// nextEpoch returns the epoch change after fx.cfg (votes of execs 0, 1, 2), with
// edit applied to the next configuration before it is voted on.
func (fx *fixture) nextEpoch(t *testing.T, edit func(*spec.Config)) spec.EpochChange {
	t.Helper()
	var next spec.Config
	if err := spec.Decode(spec.Encode(fx.cfg), &next, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	next.Epoch, next.Prev, next.StartSeq, next.StartState = fx.cfg.Epoch+1, fx.cd, fx.cfg.StartSeq+9, spec.Digest{9} // EC3: after the epoch's start
	edit(&next)
	ec := spec.EpochChange{Config: spec.Encode(&next)}
	for i := range uint64(3) {
		b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: i}
		ec.Votes = append(ec.Votes, spec.EpochVote{Body: b, Sig: fx.tc.Sign(spec.RoleExec, i, spec.DomainEpochVote, &b)})
	}
	return ec
}

// TestFollow: a session follows a verified epoch change and re-signs and re-seals its
// outstanding request under the new digest with the same timestamp (SPEC §17.4,
// §17.7); a forged change, or one that drops the client, changes nothing.
func TestFollow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*spec.Config)
		forge  bool
		moved  bool
		errSub string
	}{
		{"verified", func(*spec.Config) {}, false, true, ""},
		{"forged vote", func(*spec.Config) {}, true, false, "EC4"},
		{"client removed", func(c *spec.Config) { c.Clients = nil }, false, false, "not registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, 1, 31)
			s := fx.session(t)
			old, ts, err := s.Prepare([][]byte{GetOp([]byte("k"))})
			if err != nil {
				t.Fatal(err)
			}
			ec := fx.nextEpoch(t, tc.edit)
			if tc.forge {
				ec.Votes[1].Sig[5] ^= 1
			}
			moved, err := s.Follow([]spec.Step{spec.ChangeStep(ec)}, nil)
			req, ts2, _ := s.Outstanding()
			if !tc.moved {
				if moved || err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.errSub)) || !bytes.Equal(req, old) || s.Epoch() != 0 {
					t.Fatalf("moved %v, err %v, request changed %v, epoch %d", moved, err, !bytes.Equal(req, old), s.Epoch())
				}
				return
			}
			if !moved || err != nil || s.Epoch() != 1 || ts2 != ts || bytes.Equal(req, old) {
				t.Fatalf("moved %v, err %v, epoch %d, timestamp %d → %d", moved, err, s.Epoch(), ts, ts2)
			}
			var next spec.Config
			spec.Decode(ec.Config, &next, spec.MaxMessageBytes)
			fx.cfg, fx.cd = &next, spec.ConfigDigest(&next)
			if _, ops := fx.openOps(t, req); len(ops) != 1 || !bytes.Equal(ops[0], GetOp([]byte("k"))) {
				t.Fatalf("the re-sealed request opens to %q", ops)
			}
		})
	}
}

// epochCluster is a fakeCluster that has moved to another epoch: requests that are
// not signed under its current digest are dropped, as correct brokers and preps do.
type epochCluster struct{ *fakeCluster }

func (c epochCluster) Broadcast(req []byte) error { c.broadcasts++; return c.Send(req) }

func (c epochCluster) Send(req []byte) error {
	var r spec.Request
	if err := spec.Decode(req, &r, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		c.t.Fatal(err)
	}
	pub := c.fx.cfg.Client(r.Body.Client).SignKey
	if !ed25519.Verify(pub[:], spec.SignedBytes(spec.DomainRequest, c.fx.cd, spec.Encode(&r.Body)), r.Sig[:]) {
		c.sends++
		return nil
	}
	return c.fakeCluster.Send(req)
}

// TestClientFollowsEpoch: a client whose cluster moved to epoch 1 fetches the chain
// when its request goes unanswered, follows it, and completes the request under the
// new digest with the same timestamp, without restarting (SPEC §17.7).
func TestClientFollowsEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFixture(t, 1, 41)
		old := fx.cfg
		ec := fx.nextEpoch(t, func(*spec.Config) {})
		var next spec.Config
		spec.Decode(ec.Config, &next, spec.MaxMessageBytes)
		fx.cfg, fx.cd = &next, spec.ConfigDigest(&next) // the cluster moved on
		tr := epochCluster{newFakeCluster(t, fx)}
		asked := 0
		chain := func(_ context.Context, cur *spec.Config) ([]spec.Step, error) {
			asked++
			if cur.Epoch != 0 {
				return nil, nil
			}
			return []spec.Step{spec.ChangeStep(ec)}, nil
		}
		c, err := New(old, fx.id, fx.rnd, tr, Options{Chain: chain})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Put(context.Background(), []byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if c.Epochs() != 1 || c.Session().Epoch() != 1 || asked != 1 || tr.lastTS != 1 {
			t.Fatalf("epochs followed %d, session epoch %d, chain asked %d times, executed timestamp %d", c.Epochs(), c.Session().Epoch(), asked, tr.lastTS)
		}
	})
}
