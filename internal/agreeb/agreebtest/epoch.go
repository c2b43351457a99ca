package agreebtest

import (
	"testing"

	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/spec"
)

// This file holds the builders of epoch changes (SPEC §17.1, §17.4).

// NewConfiguredWith returns a compartment of setup s at replica me configured with
// the fixture's configuration as changed by mut (for example a later epoch with
// StartSeq > 0); Cfg and CD are those of the changed configuration.
func NewConfiguredWith(t testing.TB, s *Setup, me uint64, seed int64, mut func(*spec.Config)) *World {
	t.Helper()
	w := NewUnconfigured(t, s, me, seed)
	mut(&w.Cfg)
	w.CD = spec.ConfigDigest(&w.Cfg)
	w.MustAccept(Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&w.Cfg)}))
	return w
}

// NextConfig returns the configuration that follows Cfg: Epoch + 1, Prev = CD, the
// given StartSeq and StartState, everything else equal. Its Replicas and Clients are
// copies, free to modify.
func (w *World) NextConfig(startSeq uint64, startState spec.Digest) spec.Config {
	next := w.Cfg
	next.Replicas = append([]spec.ReplicaConfig(nil), w.Cfg.Replicas...)
	next.Clients = append([]spec.ClientConfig(nil), w.Cfg.Clients...)
	next.Epoch, next.Prev = w.Cfg.Epoch+1, w.CD
	next.StartSeq, next.StartState = startSeq, startState
	return next
}

// Vote builds exec r's EPOCH-VOTE for the configuration with digest next, signed
// under the current CD (domain epoch-vote).
func (w *World) Vote(next spec.Digest, r uint64) spec.EpochVote {
	body := spec.EpochVoteBody{Next: next, Replica: r}
	return spec.EpochVote{Body: body, Sig: w.Sign(w.Execs[r%N], spec.DomainEpochVote, &body)}
}

// EpochChange builds the epoch change to next with the votes of execs rs (in the
// order given), or of execs 0..q−1 when rs is empty.
func (w *World) EpochChange(next *spec.Config, rs ...uint64) spec.EpochChange {
	if len(rs) == 0 {
		rs = []uint64{0, 1, 2}
	}
	ec := spec.EpochChange{Config: spec.Encode(next)}
	for _, r := range rs {
		ec.Votes = append(ec.Votes, w.Vote(spec.ConfigDigest(next), r))
	}
	return ec
}

// Enter makes next the fixture's configuration: later messages are signed under
// its digest.
func (w *World) Enter(next *spec.Config) {
	w.Cfg = *next
	w.CD = spec.ConfigDigest(next)
}

// Replace gives the enclave (role, r) a fresh key in cfg (an admitted enclave,
// §17.5) and returns the key; a fresh exec also gets a fresh box key. It does not
// change the fixture's keys: the caller installs the returned key once cfg is
// entered.
func (w *World) Replace(cfg *spec.Config, role spec.Role, r uint64) *edcrypto.PrivateKey {
	k, _ := NewKey(w.T, w.Rng)
	rc := &cfg.Replicas[r]
	switch role {
	case spec.RolePrep:
		rc.Prep = Enrollment(role, r, w.buildName(role), k.Public(), spec.PublicKey{})
	case spec.RoleConf:
		rc.Conf = Enrollment(role, r, w.buildName(role), k.Public(), spec.PublicKey{})
	default:
		rc.Exec = Enrollment(role, r, w.buildName(role), k.Public(), w.RandomKey())
	}
	return k
}

// SetKey installs k as the key of the simulated enclave (role, r).
func (w *World) SetKey(role spec.Role, r uint64, k *edcrypto.PrivateKey) {
	(*w.keys(role))[r] = k
}
