package agreebtest

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/spec"
)

// This file holds the test bodies of the epoch rules prep-b and conf-b enforce
// identically: EC1–EC4 (SPEC §17.1), the effects of §17.4 visible to both (status,
// checkpoints, keys), retirement, and a configuration that starts at StartSeq > 0
// with K1/K2 of §5.1.

// EpochCase is an epoch change, built on a configured compartment of replica 2
// in epoch 0 (whose state, its epoch included, the setup may advance), that fails
// exactly one line.
type EpochCase struct {
	Name  string
	Setup func(w *World) spec.EpochChange
	Code  uint64
}

// nextWith returns the epoch change to NextConfig(3, Digest(0x33)) as changed by
// mut, with the votes of execs 0, 1, 2.
func nextWith(w *World, mut func(*spec.Config)) spec.EpochChange {
	next := w.NextConfig(3, Digest(0x33))
	mut(&next)
	return w.EpochChange(&next)
}

// acceptNext delivers the epoch change to NextConfig(start, state), checks that it
// is accepted without output and returns the new configuration (not yet entered).
func (w *World) acceptNext(start uint64, state spec.Digest) *spec.Config {
	w.T.Helper()
	next := w.NextConfig(start, state)
	w.ExpectOutputs(w.MustAccept(Input(spec.KindEpochChange, Ptr(w.EpochChange(&next)))), nil)
	return &next
}

// withVotes returns the epoch change to NextConfig(3, Digest(0x33)) with the
// votes mut makes of the votes of execs 0, 1, 2.
func withVotes(w *World, mut func(next spec.Digest, votes []spec.EpochVote) []spec.EpochVote) spec.EpochChange {
	next := w.NextConfig(3, Digest(0x33))
	ec := w.EpochChange(&next)
	ec.Votes = mut(spec.ConfigDigest(&next), ec.Votes)
	return ec
}

// signVote signs a vote body with k under cd.
func signVote(k *edcrypto.PrivateKey, cd spec.Digest, body spec.EpochVoteBody) spec.EpochVote {
	return spec.EpochVote{Body: body, Sig: spec.Signature(k.Sign(spec.SignedBytes(spec.DomainEpochVote, cd, spec.Encode(&body))))}
}

// grow makes cfg a valid configuration of n = 7, f = 2 (three more replicas).
func (w *World) grow(cfg *spec.Config) {
	cfg.N, cfg.F = 7, 2
	for r := uint64(N); r < 7; r++ {
		var ks [3]*edcrypto.PrivateKey
		for i := range ks {
			ks[i], _ = NewKey(w.T, w.Rng)
		}
		cfg.Replicas = append(cfg.Replicas, spec.ReplicaConfig{ID: r, Address: []byte("host:1"),
			Prep: Enrollment(spec.RolePrep, r, w.buildName(spec.RolePrep), ks[0].Public(), spec.PublicKey{}),
			Conf: Enrollment(spec.RoleConf, r, w.buildName(spec.RoleConf), ks[1].Public(), spec.PublicKey{}),
			Exec: Enrollment(spec.RoleExec, r, w.buildName(spec.RoleExec), ks[2].Public(), w.RandomKey()),
		})
	}
}

// EpochCases lists one epoch change per failing line of EC1–EC4, plus cases that
// fail two lines and must get the code of the first.
func EpochCases() []EpochCase {
	return append(epochConfigCases(), epochVoteCases()...)
}

// epochConfigCases fail EC1, EC2 or EC3.
func epochConfigCases() []EpochCase {
	return []EpochCase{
		{"EC1 trailing byte", func(w *World) spec.EpochChange {
			ec := nextWith(w, func(*spec.Config) {})
			ec.Config = append(ec.Config, 0)
			return ec
		}, spec.CodeBadConfig},
		{"EC1 empty config", func(w *World) spec.EpochChange {
			ec := nextWith(w, func(*spec.Config) {})
			ec.Config = nil
			return ec
		}, spec.CodeBadConfig},
		{"EC1 invalid version", func(w *World) spec.EpochChange { return nextWith(w, func(c *spec.Config) { c.Version = 2 }) }, spec.CodeBadConfig},
		{"EC1 epoch 1 with zero Prev", func(w *World) spec.EpochChange { return nextWith(w, func(c *spec.Config) { c.Prev = spec.Digest{} }) }, spec.CodeBadConfig},
		{"EC1 small-order client key", func(w *World) spec.EpochChange {
			return nextWith(w, func(c *spec.Config) { c.Clients[0].SignKey = spec.PublicKey{1} })
		}, spec.CodeBadConfig},
		{"EC2 the current configuration again", func(w *World) spec.EpochChange { return w.EpochChange(&w.Cfg) }, spec.CodeStale},
		{"EC2 epoch skipped", func(w *World) spec.EpochChange { return nextWith(w, func(c *spec.Config) { c.Epoch = 2 }) }, spec.CodeStale},
		{"EC2 Prev of another configuration", func(w *World) spec.EpochChange { return nextWith(w, func(c *spec.Config) { c.Prev = Digest(9) }) }, spec.CodeStale},
		{"EC2 before EC3", func(w *World) spec.EpochChange {
			return nextWith(w, func(c *spec.Config) { c.Epoch, c.Name = 2, []byte("other") })
		}, spec.CodeStale},
		{"EC3 name", func(w *World) spec.EpochChange { return nextWith(w, func(c *spec.Config) { c.Name = []byte("other") }) }, spec.CodeBadConfig},
		{"EC3 n and f", func(w *World) spec.EpochChange { return nextWith(w, w.grow) }, spec.CodeBadConfig},
		{"EC3 K", func(w *World) spec.EpochChange { return nextWith(w, func(c *spec.Config) { c.CheckpointInterval = 1 }) }, spec.CodeBadConfig},
		{"EC3 L", func(w *World) spec.EpochChange { return nextWith(w, func(c *spec.Config) { c.Window = 6 }) }, spec.CodeBadConfig},
		{"EC3 group key", func(w *World) spec.EpochChange {
			return nextWith(w, func(c *spec.Config) { c.ExecGroupKey = w.RandomKey() })
		}, spec.CodeBadConfig},
		{"EC3 StartSeq below h", func(w *World) spec.EpochChange {
			w.MakeStable(4)
			return nextWith(w, func(c *spec.Config) { c.StartSeq = 3 })
		}, spec.CodeBadConfig},
		{"EC3 StartSeq at epoch 0's start", func(w *World) spec.EpochChange {
			return nextWith(w, func(c *spec.Config) { c.StartSeq = 0 }) // h = cfg.StartSeq = 0
		}, spec.CodeBadConfig},
		{"EC3 StartSeq at epoch 1's start", func(w *World) spec.EpochChange {
			w.Enter(w.acceptNext(3, Digest(0x33)))
			return nextWith(w, func(*spec.Config) {}) // epoch 2 starting at 3, h = 3
		}, spec.CodeBadConfig},
		{"EC3 before EC4", func(w *World) spec.EpochChange {
			next := w.NextConfig(3, Digest(0x33))
			next.Name = []byte("other")
			return w.EpochChange(&next, 0, 1)
		}, spec.CodeBadConfig},
	}
}

// epochVoteCases fail EC4.
func epochVoteCases() []EpochCase {
	type votes = []spec.EpochVote
	return []EpochCase{
		{"EC4 two votes", func(w *World) spec.EpochChange {
			return withVotes(w, func(_ spec.Digest, v votes) votes { return v[:2] })
		}, spec.CodeBadCertificate},
		{"EC4 four votes", func(w *World) spec.EpochChange {
			return withVotes(w, func(d spec.Digest, v votes) votes { return append(v, w.Vote(d, 3)) })
		}, spec.CodeBadCertificate},
		{"EC4 votes not increasing", func(w *World) spec.EpochChange {
			return withVotes(w, func(_ spec.Digest, v votes) votes { return votes{v[1], v[0], v[2]} })
		}, spec.CodeBadCertificate},
		{"EC4 vote repeated", func(w *World) spec.EpochChange {
			return withVotes(w, func(_ spec.Digest, v votes) votes { return votes{v[0], v[1], v[1]} })
		}, spec.CodeBadCertificate},
		{"EC4 voter out of range", func(w *World) spec.EpochChange {
			return withVotes(w, func(d spec.Digest, v votes) votes { return votes{v[0], v[1], w.Vote(d, N)} })
		}, spec.CodeBadCertificate},
		{"EC4 vote for another configuration", func(w *World) spec.EpochChange {
			return withVotes(w, func(_ spec.Digest, v votes) votes { return votes{v[0], w.Vote(Digest(5), 1), v[2]} })
		}, spec.CodeBadCertificate},
		{"EC4 vote signature", func(w *World) spec.EpochChange {
			return withVotes(w, func(_ spec.Digest, v votes) votes { v[2].Sig[7] ^= 1; return v })
		}, spec.CodeBadCertificate},
		{"EC4 vote signed under the next digest", func(w *World) spec.EpochChange {
			return withVotes(w, func(d spec.Digest, v votes) votes {
				v[1] = signVote(w.Execs[1], d, v[1].Body)
				return v
			})
		}, spec.CodeBadCertificate},
		{"EC4 vote signed by a conf", func(w *World) spec.EpochChange {
			return withVotes(w, func(_ spec.Digest, v votes) votes { v[0] = signVote(w.Confs[0], w.CD, v[0].Body); return v })
		}, spec.CodeBadCertificate},
		{"EC4 vote by the exec the change admits", func(w *World) spec.EpochChange {
			next := w.NextConfig(3, Digest(0x33))
			k := w.Replace(&next, spec.RoleExec, 1)
			ec := w.EpochChange(&next)
			ec.Votes[1] = signVote(k, w.CD, ec.Votes[1].Body)
			return ec
		}, spec.CodeBadCertificate},
	}
}

// RunEpochChangeRules checks that each case of EpochCases, at a configured
// compartment of replica 2 seeded 800 + its index, is rejected with its code and
// changes no state, and that the unchanged epoch change is accepted.
func RunEpochChangeRules(t *testing.T, s *Setup) {
	for i, c := range EpochCases() {
		t.Run(c.Name, func(t *testing.T) {
			w := NewConfigured(t, s, 2, int64(800+i))
			ec := c.Setup(w)
			if got := oracleCode(w, &ec); got != c.Code {
				t.Fatalf("seed %d: spec.VerifyEpochChange says %s, the case expects %s", w.Seed, spec.CodeName(got), spec.CodeName(c.Code))
			}
			w.ExpectReject(Input(spec.KindEpochChange, &ec), c.Code, 0)
		})
	}
	w := NewConfigured(t, s, 2, 800)
	w.MakeStable(2)
	ec := nextWith(w, func(*spec.Config) {})
	if got := oracleCode(w, &ec); got != 0 {
		t.Fatalf("seed %d: spec.VerifyEpochChange rejects the base epoch change: %s", w.Seed, spec.CodeName(got))
	}
	outs := w.MustAccept(Input(spec.KindEpochChange, &ec))
	w.ExpectOutputs(outs, nil)
	if st := w.Status(); st.Stable != 3 || st.View != 0 || !st.ViewActive {
		t.Fatalf("seed %d: status %+v after the epoch change, want view 0 active, stable 3", w.Seed, st)
	}
}

// oracleCode is the verdict of spec.VerifyEpochChange (the tools' check, used here
// only as a second opinion on the cases) on ec at w's current configuration and h:
// the reject code of the line its error names, or 0.
func oracleCode(w *World, ec *spec.EpochChange) uint64 {
	verify := func(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
		return edcrypto.Verify(pub[:], msg, sig[:])
	}
	_, err := spec.VerifyEpochChange(&w.Cfg, w.CD, w.Status().Stable, ec, verify, func(k spec.PublicKey) bool { return edcrypto.Admissible(k) })
	switch {
	case err == nil:
		return 0
	case strings.Contains(err.Error(), "EC2:"):
		return spec.CodeStale
	case strings.Contains(err.Error(), "EC4:"):
		return spec.CodeBadCertificate
	}
	return spec.CodeBadConfig // EC1, EC3
}

// hasLine reports whether dump has a line starting with prefix.
func hasLine(dump, prefix string) bool {
	for _, l := range strings.Split(dump, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return true
		}
	}
	return false
}
