package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds the cases of SPEC.md §17.1 and §17.4 (epoch-change, EC1–EC4, and
// retirement, A0), run against every role. The compartment under test is replica 1;
// the votes come from the execs of replicas 0, 2 and 3 (q = 3). K = 4, L = 16.

func inEC(ec spec.EpochChange) spec.Input { return In(spec.KindEpochChange, &ec) }

// epochCases are the epoch-change cases for role r.
func epochCases(r spec.Role) []Case {
	s := tag("epoch-state")
	voters := []uint64{0, 2, 3}
	return []Case{
		{Name: "EC-accept", Rule: "EC4", Replica: 1,
			Comment: "a valid epoch change to epoch 1 starting at 5 is accepted",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, nil), voters...)))
				g.Accept()
			}},
		{Name: "EC-accept-at-stable", Rule: "EC3", Replica: 1,
			Comment: "(8, S) is stable; an epoch change starting exactly at h = 8 is accepted",
			Build: func(g *Gen) {
				g.Setup(g.cps(8, s, 0, 2, 3)...)
				g.Final(inEC(g.EpochChange(g.NextConfig(8, s, nil), voters...)))
				g.Accept()
			}},
		{Name: "EC-new-digest-binds", Rule: "CP4", Replica: 1,
			Comment: "after an epoch change starting at 5, a checkpoint at 8 signed under the new configuration digest is accepted",
			Build: func(g *Gen) {
				next := g.NextConfig(5, s, nil)
				g.Setup(inEC(g.EpochChange(next, voters...)))
				g.Enter(next)
				g.Final(inCP(g.Checkpoint(8, s, 2)))
				g.Accept()
			}},
		{Name: "EC-old-digest-rejected", Rule: "CP4", Replica: 1,
			Comment: "after an epoch change, a checkpoint signed under the previous configuration digest is bad-signature",
			Build: func(g *Gen) {
				g.Setup(inEC(g.EpochChange(g.NextConfig(5, s, nil), voters...)))
				g.Final(inCP(g.Checkpoint(8, s, 2)))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "EC-genesis-is-stable", Rule: "CP3", Replica: 1,
			Comment: "after an epoch change starting at 5, h = 5: a checkpoint at 4 is stale",
			Build: func(g *Gen) {
				next := g.NextConfig(5, s, nil)
				g.Setup(inEC(g.EpochChange(next, voters...)))
				g.Enter(next)
				g.Final(inCP(g.Checkpoint(4, s, 2)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "A0-retired", Rule: "A0", Replica: 1,
			Comment: "an epoch change that replaces this compartment's enrollment retires it: the next input is rejected retired",
			Build: func(g *Gen) {
				next := g.NextConfig(5, s, func(c *spec.Config) {
					*c.Replicas[1].Slot(g.Role) = g.FreshEnrollment(g.Role, 1, "replacement")
				})
				g.Setup(inEC(g.EpochChange(next, voters...)))
				g.Final(inCP(g.Checkpoint(4, s, 2)))
				g.Reject(spec.CodeRetired)
			}},
		{Name: "A0-retired-epoch-change", Rule: "A0", Replica: 1,
			Comment: "a retired compartment rejects even a valid next epoch change",
			Build: func(g *Gen) {
				next := g.NextConfig(5, s, func(c *spec.Config) {
					*c.Replicas[1].Slot(g.Role) = g.FreshEnrollment(g.Role, 1, "replacement")
				})
				g.Setup(inEC(g.EpochChange(next, voters...)))
				g.Enter(next)
				g.Final(inEC(g.EpochChange(g.NextConfig(6, s, nil), voters...)))
				g.Reject(spec.CodeRetired)
			}},
		{Name: "EC1-undecodable", Rule: "EC1", Replica: 1,
			Comment: "the configuration bytes are not a Config",
			Build: func(g *Gen) {
				ec := g.EpochChange(g.NextConfig(5, s, nil), voters...)
				ec.Config = []byte{0x80}
				g.Final(inEC(ec))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "EC1-invalid", Rule: "EC1", Replica: 1,
			Comment: "the next configuration fails validation (a threshold with no members), with valid votes for it",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, func(c *spec.Config) { c.Threshold = 1 }), voters...)))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "EC2-skips-epoch", Rule: "EC2", Replica: 1,
			Comment: "the next configuration claims epoch 2 after epoch 0",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, func(c *spec.Config) { c.Epoch = 2 }), voters...)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "EC2-wrong-prev", Rule: "EC2", Replica: 1,
			Comment: "the next configuration names another predecessor digest",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, func(c *spec.Config) { c.Prev = tag("other") }), voters...)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "EC2-replayed", Rule: "EC2", Replica: 1,
			Comment: "the epoch change already accepted is delivered again",
			Build: func(g *Gen) {
				ec := g.EpochChange(g.NextConfig(5, s, nil), voters...)
				g.Setup(inEC(ec))
				g.Final(inEC(ec))
				g.Reject(spec.CodeStale)
			}},
		{Name: "EC3-window-changed", Rule: "EC3", Replica: 1,
			Comment: "the next configuration changes L (valid on its own, but fixed for the life of a cluster)",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, func(c *spec.Config) { c.Window = 32 }), voters...)))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "EC3-no-batch", Rule: "EC3", Replica: 1,
			Comment: "an epoch change starting at 0, the start of epoch 0: an epoch ends after a batch of its own (StartSeq > cfg.StartSeq)",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(0, s, nil), voters...)))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "EC3-same-start", Rule: "EC3", Replica: 1,
			Comment: "epoch 1 starts at 5; an epoch change to epoch 2 also starting at 5 is bad-config",
			Build: func(g *Gen) {
				next := g.NextConfig(5, s, nil)
				g.Setup(inEC(g.EpochChange(next, voters...)))
				g.Enter(next)
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, nil), voters...)))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "EC3-below-stable", Rule: "EC3", Replica: 1,
			Comment: "(8, S) is stable; an epoch change starting at 5 < h is bad-config",
			Build: func(g *Gen) {
				g.Setup(g.cps(8, s, 0, 2, 3)...)
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, nil), voters...)))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "EC4-too-few-votes", Rule: "EC4", Replica: 1,
			Comment: "2f = 2 votes",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, nil), 0, 2)))
				g.Reject(spec.CodeBadCertificate)
			}},
		{Name: "EC4-duplicate-voter", Rule: "EC4", Replica: 1,
			Comment: "q votes, two of them from replica 2",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, nil), 0, 2, 2)))
				g.Reject(spec.CodeBadCertificate)
			}},
		{Name: "EC4-unsorted", Rule: "EC4", Replica: 1,
			Comment: "q valid votes not in increasing replica order",
			Build: func(g *Gen) {
				g.Final(inEC(g.EpochChange(g.NextConfig(5, s, nil), 2, 0, 3)))
				g.Reject(spec.CodeBadCertificate)
			}},
		{Name: "EC4-unknown-voter", Rule: "EC4", Replica: 1,
			Comment: "a vote from replica n = 4",
			Build: func(g *Gen) {
				ec := g.EpochChange(g.NextConfig(5, s, nil), voters...)
				ec.Votes[2].Body.Replica = 4
				g.Final(inEC(ec))
				g.Reject(spec.CodeBadCertificate)
			}},
		{Name: "EC4-bad-signature", Rule: "EC4", Replica: 1,
			Comment: "one vote's signature does not verify",
			Build: func(g *Gen) {
				ec := g.EpochChange(g.NextConfig(5, s, nil), voters...)
				ec.Votes[1].Sig = flip(ec.Votes[1].Sig)
				g.Final(inEC(ec))
				g.Reject(spec.CodeBadCertificate)
			}},
		{Name: "EC4-other-config", Rule: "EC4", Replica: 1,
			Comment: "q valid votes for another configuration than the one carried",
			Build: func(g *Gen) {
				ec := g.EpochChange(g.NextConfig(5, s, nil), voters...)
				ec.Config = spec.Encode(g.NextConfig(9, s, nil))
				g.Final(inEC(ec))
				g.Reject(spec.CodeBadCertificate)
			}},
	}
}
