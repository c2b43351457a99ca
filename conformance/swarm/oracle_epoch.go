package swarm

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// The oracles of epochs (SPEC.md §17): every enrollment that enters a configuration
// was attested by f+1 correct execs; epochs only grow at every correct compartment
// and every configuration a correct compartment adopts is the chain's; no enclave
// outside a compartment's configuration influences it; at most f enclaves per role of
// the latest configuration are not correct.

// attKey is an attested enrollment under one configuration digest.
type attKey struct{ cd, enr spec.Digest }

// recordAttestation notes that correct exec replica attested enrollment enr under cd.
func (o *oracles) recordAttestation(cd, enr spec.Digest, replica uint64) {
	if o.attestedBy == nil {
		o.attestedBy = map[attKey]uint64{}
	}
	o.attestedBy[attKey{cd, enr}] |= 1 << replica
}

// checkAdmitted is the admission oracle on a new configuration c after prev: every
// enrollment of c that prev did not hold was attested under prev's digest by at least
// f+1 correct execs (SPEC §17.5 "Who attests").
func (o *oracles) checkAdmitted(prev epochInfo, c *spec.Config) {
	for r := range c.Replicas {
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			nb := c.Replicas[r].Slot(role).Body
			if bytes.Equal(spec.Encode(&nb), spec.Encode(&prev.cfg.Replicas[r].Slot(role).Body)) {
				continue
			}
			got := popcount(o.attestedBy[attKey{prev.cd, spec.EnrollmentDigest(&nb)}])
			if got < int(c.F)+1 {
				o.fail("admission", "epoch %d admits a new %s%d attested by %d correct execs under epoch %d (want ≥ f+1 = %d)",
					c.Epoch, spec.RoleName(role), r, got, prev.cfg.Epoch, c.F+1)
			}
		}
	}
}

// checkBudget is the fault-budget oracle: in the latest configuration, at most f
// slots per role hold an enclave that is not correct (Byzantine, or keys of an
// enclave that no longer runs: restarted and not yet admitted).
func (s *sim) checkBudget() {
	for role := spec.RolePrep; role <= spec.RoleExec; role++ {
		bad := 0
		for r := range s.nodes {
			if nd := s.nodes[r][role]; nd.byz != nil || !enrolled(s.cfg, nd) {
				bad++
			}
		}
		if bad > int(s.cfg.F) {
			s.fail("fault-budget", "epoch %d: %d %s slots hold no correct enclave (f = %d)", s.cfg.Epoch, bad, spec.RoleName(role), s.cfg.F)
		}
	}
}

// checkAdoption is the epoch oracle on a correct compartment accepting an
// EPOCH-CHANGE to epoch next while in epoch cur: epochs grow one at a time, and the
// configuration adopted is the chain's.
func (s *sim) checkAdoption(nd *node, cur, next uint64, body []byte) {
	if next != cur+1 {
		s.fail("epoch-monotone", "%s in epoch %d accepted an epoch change to epoch %d", nd.id, cur, next)
		return
	}
	var ec spec.EpochChange
	if next > s.latest() || spec.Decode(body, &ec, spec.MaxBodyBytes(spec.KindEpochChange)) != nil {
		s.fail("epoch-chain", "%s adopted epoch %d, which no valid epoch change certifies", nd.id, next)
		return
	}
	var c spec.Config
	if spec.Decode(ec.Config, &c, spec.MaxMessageBytes) != nil || spec.ConfigDigest(&c) != s.epochs[next].cd {
		s.fail("epoch-chain", "%s adopted a configuration for epoch %d that is not the chain's", nd.id, next)
	}
}

// signedBySender reports whether an input kind is signed by the enclave that the
// pooled message came from (batches, state chunks and epoch changes carry their own
// proof, whoever forwards them).
func signedBySender(kind uint64) bool {
	switch kind {
	case spec.KindProposal, spec.KindPrePrepare, spec.KindPrepare, spec.KindCommit, spec.KindCheckpoint,
		spec.KindViewChange, spec.KindNewView, spec.KindEpochVote:
		return true
	}
	return false
}

// checkIsolation is the restart-isolation oracle: a correct compartment accepts a
// signed message only from an enclave that its configuration at that input (epochs[i])
// enrols, and never one from a restarted enclave running in a forked configuration.
func (o *oracles) checkIsolation(nd *node, ds []delivery, codes []uint64, epochs []uint64) {
	for i, d := range ds {
		if d.msg < 0 || codes[i] != 0 || !signedBySender(d.kind) {
			continue
		}
		m := o.seen.message(d.msg)
		if m.origin == fromRestarted {
			o.fail("restart-isolation", "%s accepted a %s from the restarted enclave %s (generation %d keys)",
				nd.id, spec.KindName(d.kind), m.from, m.gen)
			return
		}
		cfg := o.seen.epochCfg(epochs[i])
		if cfg.Replicas[m.from.Replica].Slot(m.from.Role).Body.SignKey != m.signer {
			o.fail("restart-isolation", "%s in epoch %d accepted a %s from %s (generation %d), which that epoch does not enrol",
				nd.id, epochs[i], spec.KindName(d.kind), m.from, m.gen)
			return
		}
	}
}
