package agreeb

import "github.com/splitbft/splitbft/spec"

// This file holds the epoch-change rules EC1–EC4 of SPEC §17.1, as prep and conf
// apply them to an epoch-change input (§17.4). They are written here, on this
// stack's own crypto, rather than calling spec.VerifyEpochChange (which is for
// tools).

// CheckEpochChange applies lines EC1–EC4 to ec after the configuration of c, for a
// compartment whose stable sequence number is h. It returns the cluster of the next
// configuration C' and 0, or nil and the code of the first failing line. It changes
// nothing.
func (c *Cluster) CheckEpochChange(ec *spec.EpochChange, h uint64) (*Cluster, uint64) {
	next := new(spec.Config)
	if err := spec.Decode(ec.Config, next, spec.MaxMessageBytes); err != nil { // EC1
		return nil, spec.CodeBadConfig
	}
	if err := next.Validate(AdmitKey); err != nil { // EC1
		return nil, spec.CodeBadConfig
	}
	// EC2, written so that cfg.Epoch + 1 cannot wrap around.
	if next.Epoch <= c.Cfg.Epoch || next.Epoch-c.Cfg.Epoch != 1 || next.Prev != c.CD {
		return nil, spec.CodeStale
	}
	// EC3: the frame is kept, and the epoch starts after this epoch's start (this
	// epoch ends after a batch of its own) and at or above h.
	if !c.sameFrame(next) || next.StartSeq <= c.Cfg.StartSeq || next.StartSeq < h {
		return nil, spec.CodeBadConfig
	}
	nc := NewCluster(next)
	if !c.validVotes(ec.Votes, nc.CD) { // EC4
		return nil, spec.CodeBadCertificate
	}
	return nc, 0
}

// sameFrame reports whether next keeps what EC3 fixes for the life of a cluster:
// n, f, the name, K, L and the exec group key.
func (c *Cluster) sameFrame(next *spec.Config) bool {
	cur := c.Cfg
	return next.N == cur.N && next.F == cur.F && string(next.Name) == string(cur.Name) &&
		next.CheckpointInterval == cur.CheckpointInterval && next.Window == cur.Window &&
		next.ExecGroupKey == cur.ExecGroupKey
}

// validVotes applies line EC4: exactly q votes from distinct execs of this
// configuration in increasing replica order, all for nextCD, each signed by its
// sender's exec key under this configuration's digest (domain epoch-vote). The
// structural checks come before any signature.
func (c *Cluster) validVotes(votes []spec.EpochVote, nextCD spec.Digest) bool {
	if uint64(len(votes)) != c.Q {
		return false
	}
	for i := range votes {
		b := &votes[i].Body
		if b.Replica >= c.N || (i > 0 && b.Replica <= votes[i-1].Body.Replica) || b.Next != nextCD {
			return false
		}
	}
	for i := range votes {
		if !c.Verify(spec.RoleExec, votes[i].Body.Replica, spec.DomainEpochVote, &votes[i].Body, votes[i].Sig) {
			return false
		}
	}
	return true
}

// EnrolledIn reports whether cl's configuration still enrolls this enclave in its
// own slot: the same role, replica and keys (the build is not compared, as in F3).
// A compartment whose slot no longer holds its keys retires (SPEC §17.4 step 1).
func (id *Identity) EnrolledIn(cl *Cluster) bool {
	return id.inited && sameEnrollment(cl.Cfg.Enrollment(id.profile.Role, id.self.Replica), &id.self)
}
