package swarm

import (
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// This file is the world entering the configuration C' that a whole-cluster recovery
// starts (SPEC.md §17.8), and the oracle that spans it: no result a client accepted
// before the restart is lost.

// enterRecovered checks the recovery rec an exec emitted (RC1–RC5 after the latest
// configuration), checks that no acknowledged write is lost, forgets what the oracles
// saw above the head (a lineage no exec of C' continues), and moves the world to C':
// the chain grows by the recovery, the preps and confs are configured with C', the
// execs' slots are correct again, and the clients follow the step.
func (s *sim) enterRecovered(rec []byte) {
	var step spec.Step
	if err := spec.Decode(rec, &step, spec.MaxBodyBytes(spec.KindRecovery)); err != nil || step.Recovery == nil {
		s.fail("recovery", "an exec emitted a recovery that does not decode as a chain step: %v", err)
		return
	}
	next, err := spec.VerifyStep(s.cfg, s.cd, s.cfg.StartSeq, &step, verifySig, broker.AdmitKey)
	if err != nil {
		s.fail("recovery", "an exec emitted a recovery that does not verify: %v", err)
		return
	}
	head := next.StartSeq
	s.checkDurable(head)
	s.agreeState(head, next.StartState, "the recovery's start state")
	if s.failure != nil {
		return
	}
	s.forgetAbove(head)
	for _, d := range s.disks { // ledger records of C above the head are deleted (§17.8)
		for q := range d.log {
			if q > head {
				delete(d.log, q)
			}
		}
	}
	s.epochs = append(s.epochs, epochInfo{cfg: next, cd: spec.ConfigDigest(next), recovery: true})
	s.cfg, s.cd = next, s.epochs[s.latest()].cd
	s.stats.Recoveries++
	s.logf("  recovery: epoch %d starts at %d (config %x)", next.Epoch, head, s.cd[:6])
	s.configureRecovered()
	for _, c := range s.allClients() {
		s.followRecovery(c, &step)
	}
	if s.opt.Mutant != MutantNone {
		s.installMutants()
	}
	s.checkBudget()
}

// configureRecovered configures every fresh prep and conf with C' (SPEC §17.8: in a
// recovery every compartment is fresh and configured with C' itself) and makes every
// slot a correct enclave of C'. Each exec adopted C' from its own recovery or the
// recovery input; one that did not is a failure.
func (s *sim) configureRecovered() {
	c := spec.Encode(&spec.Configure{Config: spec.Encode(s.cfg)})
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			if nd.id.Role != spec.RoleExec {
				out, _, ok := s.runInstance(nd.inst, []spec.Input{{Kind: spec.KindConfigure, Body: c}})
				if !ok {
					return
				}
				st, _ := lastStatus(out.Outputs)
				nd.status = st
			} else if nd.shadow != nil {
				nd.shadow.newEpoch()
			}
			if !nd.status.Configured {
				s.fail("recovery", "%s is not configured in epoch %d after the recovery: %+v", nd.id, s.cfg.Epoch, nd.status)
				return
			}
			nd.restarted, nd.epoch = false, s.latest()
		}
	}
}

// followRecovery has client c verify the recovery as the next step of the chain
// from the configuration it holds (spec.VerifyStep, SPEC §17.7–§17.8) and move to
// C', re-signing its outstanding request under the new digest.
func (s *sim) followRecovery(c *swarmClient, step *spec.Step) {
	held := c.sess.Config()
	next, err := spec.VerifyStep(held, spec.ConfigDigest(held), held.StartSeq, step, verifySig, broker.AdmitKey)
	if err != nil || spec.ConfigDigest(next) != s.cd {
		s.fail("client-safety", "client %d cannot follow the recovery to epoch %d: %v", c.id.ID, s.cfg.Epoch, err)
		return
	}
	s.resealClient(c)
}

// checkDurable is the no-acknowledged-write-lost oracle of a whole-cluster recovery
// to head: every operation whose result a client accepted before the restart was
// executed at a sequence number at most head, so the state C' starts from reflects
// it (the replay re-executes exactly the decided batches up to head, which the
// agreement and checkpoint-agreement oracles check).
func (o *oracles) checkDurable(head uint64) {
	for _, h := range o.history {
		if h.ret == 0 {
			continue
		}
		for j := range h.ops {
			k := opKey{h.client, h.ts + uint64(j)}
			m, ok := o.markerSeq[k]
			switch {
			case !ok:
				o.fail("durability", "client %d timestamp %d was acknowledged before the restart, but no correct exec executed it", k.client, k.ts)
			case m.seq > head:
				o.fail("durability", "client %d timestamp %d was acknowledged before the restart and executed at seq %d, above the recovery's head %d: the write is lost",
					k.client, k.ts, m.seq, head)
			}
		}
	}
}

// forgetAbove drops what the oracles saw above head: batches decided there, states
// reached, where operations executed and their results (the recovery continues from
// head; operations of the lost tail were never acknowledged and execute again when
// their clients re-send them), and the checkpoints signed there. A config operation
// (the admin client's) has no execution marker: the result of an outstanding request
// not executed at or below head is dropped too.
func (s *sim) forgetAbove(head uint64) {
	for _, c := range s.allClients() {
		if _, ts, ok := c.sess.Outstanding(); ok {
			for j := range c.outOps {
				k := opKey{c.id.ID, ts + uint64(j)}
				if m, ok := s.markerSeq[k]; !ok || m.seq > head {
					delete(s.results, k)
				}
			}
		}
	}
	for q := range s.decided {
		if q > head {
			delete(s.decided, q)
		}
	}
	for q := range s.stateAt {
		if q > head {
			delete(s.stateAt, q)
		}
	}
	for k, m := range s.markerSeq {
		if m.seq > head {
			delete(s.markerSeq, k)
			delete(s.results, k)
		}
	}
	for q := range s.ckSigners {
		if q > head {
			delete(s.ckSigners, q)
		}
	}
}
