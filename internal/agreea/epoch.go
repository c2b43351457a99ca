package agreea

import (
	"github.com/splitbft/splitbft/spec"
)

// CheckEpochChange applies EC1–EC4 (SPEC.md §17.1) to the epoch change ec at a
// compartment configured with cfg (digest cd) whose stable sequence number is h. It
// returns the next configuration, or the reject code of the first rule ec fails; it
// changes nothing.
func CheckEpochChange(cfg *spec.Config, cd spec.Digest, h uint64, ec *spec.EpochChange, workers int) (*spec.Config, uint64) {
	var next spec.Config
	if err := spec.Decode(ec.Config, &next, spec.MaxMessageBytes); err != nil {
		return nil, spec.CodeBadConfig // EC1
	}
	if err := next.Validate(AdmitKey); err != nil {
		return nil, spec.CodeBadConfig // EC1
	}
	if next.Epoch != cfg.Epoch+1 || next.Prev != cd {
		return nil, spec.CodeStale // EC2
	}
	if !keepsFrame(cfg, &next) || next.StartSeq <= cfg.StartSeq || next.StartSeq < h {
		return nil, spec.CodeBadConfig // EC3
	}
	if !votesCertify(cfg, cd, spec.ConfigDigest(&next), ec.Votes, workers) {
		return nil, spec.CodeBadCertificate // EC4
	}
	return &next, 0
}

// keepsFrame reports whether next keeps what an epoch change may not change (EC3):
// n, f, the name, K, L and the exec group key.
func keepsFrame(cfg, next *spec.Config) bool {
	return next.N == cfg.N && next.F == cfg.F && string(next.Name) == string(cfg.Name) &&
		next.CheckpointInterval == cfg.CheckpointInterval && next.Window == cfg.Window &&
		next.ExecGroupKey == cfg.ExecGroupKey
}

// votesCertify applies EC4: q votes from distinct execs of cfg, in increasing replica
// order, each for nd and validly signed under cd.
func votesCertify(cfg *spec.Config, cd, nd spec.Digest, votes []spec.EpochVote, workers int) bool {
	if len(votes) != cfg.Quorum() {
		return false
	}
	cc := NewCertChecker(cfg)
	for i := range votes {
		b := &votes[i].Body
		if b.Replica >= cfg.N || (i > 0 && b.Replica <= votes[i-1].Body.Replica) || b.Next != nd {
			return false
		}
		cc.Queue(spec.RoleExec, b.Replica, spec.DomainEpochVote, b, votes[i].Sig)
	}
	return cc.Verify(cd, workers)
}

// StillEnrolled reports whether next still enrolls self at its role and replica with
// the same keys; a compartment for which it does not retires (SPEC.md §17.4).
func StillEnrolled(next *spec.Config, self *spec.EnrollmentBody) bool {
	return isOwnEnrollment(next, self)
}
