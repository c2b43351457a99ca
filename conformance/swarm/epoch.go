package swarm

import (
	"crypto/cipher"
	"crypto/ed25519"
	"fmt"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/spec"
)

// This file is the world following the chain of configurations (SPEC.md §17): the
// epochs seen so far, what happens when a new one is certified (admitted enclaves are
// configured, replaced ones are out, clients re-sign), and each node's epoch.

// epochInfo is one configuration of the chain and its digest.
type epochInfo struct {
	cfg      *spec.Config
	cd       spec.Digest
	recovery bool // started by a whole-cluster recovery (SPEC §17.8), not an epoch change
}

// verifySig is Ed25519 verification (SPEC §3.3) as a spec.SigVerifier.
func verifySig(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}

// latest returns the index of the newest epoch of the chain.
func (w *world) latest() uint64 { return uint64(len(w.epochs) - 1) }

// noteEpochChange checks an EPOCH-CHANGE seen anywhere (any origin: its authority is
// its q votes). A valid one for the next epoch extends the chain; a valid one for an
// epoch already known must name the same configuration (epoch-chain oracle: no two
// certified successors of one configuration).
func (s *sim) noteEpochChange(body []byte) {
	var ec spec.EpochChange
	var next spec.Config
	if spec.Decode(body, &ec, spec.MaxBodyBytes(spec.KindEpochChange)) != nil ||
		spec.Decode(ec.Config, &next, spec.MaxMessageBytes) != nil || next.Epoch == 0 || next.Epoch > s.latest()+1 {
		return
	}
	prev := s.epochs[next.Epoch-1]
	c, err := spec.VerifyEpochChange(prev.cfg, prev.cd, prev.cfg.StartSeq, &ec, verifySig, broker.AdmitKey)
	if err != nil {
		return
	}
	cd := spec.ConfigDigest(c)
	if next.Epoch <= s.latest() {
		if known := s.epochs[next.Epoch].cd; known != cd {
			s.fail("epoch-chain", "two certified configurations for epoch %d: %x and %x", next.Epoch, known[:6], cd[:6])
		}
		return
	}
	s.epochs = append(s.epochs, epochInfo{cfg: c, cd: cd})
	s.stats.Epochs++
	s.logf("  epoch %d certified (start %d, config %x)", c.Epoch, c.StartSeq, cd[:6])
	s.onNewEpoch(prev, c)
}

// onNewEpoch moves the world to the configuration just certified: the admission and
// budget oracles check it, slots whose enclave it no longer enrols are out (their
// enclave retires), admitted fresh enclaves are configured, and every client re-signs
// its outstanding request under the new digest.
func (s *sim) onNewEpoch(prev epochInfo, c *spec.Config) {
	s.checkAdmitted(prev, c)
	s.cfg, s.cd = c, s.epochs[s.latest()].cd
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			s.followEpoch(nd)
		}
	}
	for _, c := range s.allClients() {
		s.resealClient(c)
	}
	s.checkBudget()
}

// enrolled reports whether nd's current enclave holds its slot in cfg (F3: role,
// replica, signing and box keys).
func enrolled(cfg *spec.Config, nd *node) bool { return holds(cfg, nd.id, nd.key, nd.box) }

// holds reports whether the slot id of cfg holds the keys (key, box) (F3).
func holds(cfg *spec.Config, id enclaveID, key ed25519.PrivateKey, box [32]byte) bool {
	b := cfg.Replicas[id.Replica].Slot(id.Role).Body
	return string(b.SignKey[:]) == string(key.Public().(ed25519.PublicKey)) &&
		(id.Role != spec.RoleExec || b.BoxKey == boxPublic(box))
}

// followEpoch updates one slot for the latest epoch: a fresh enclave admitted in it
// is configured (an exec once a share reaches it) and a rejuvenated one takes over
// from its predecessor, which retires; an enclave it no longer enrols is out of the
// configuration (it retires when the epoch change reaches it) and is no longer held
// to the protocol. Attestations of admissions still open bind the old digest: they
// are collected anew.
func (s *sim) followEpoch(nd *node) {
	switch {
	case nd.fresh != nil && holds(s.cfg, nd.id, nd.fresh.key, nd.fresh.box):
		s.takeOver(nd)
	case enrolled(s.cfg, nd):
		if nd.byz != nil {
			nd.epoch = s.latest() // (what it signs is labelled with the latest epoch)
		}
		if nd.adm != nil && nd.restarted {
			nd.adm.admitted = true
			s.configureAdmitted(nd)
		}
	case !nd.restarted:
		s.logf("  %s is replaced in epoch %d: out of the configuration", nd.id, s.cfg.Epoch)
		nd.restarted, nd.byz, nd.mut, nd.retired, nd.fresh = true, nil, nil, true, nil
	}
	if nd.adm != nil && !nd.adm.admitted && nd.adm.epoch != s.latest() {
		nd.adm.reset(s.latest())
	}
}

// configureAdmitted configures a fresh enclave admitted in the latest epoch with that
// configuration (SPEC §17.4: "a compartment started fresh for epoch e is configured
// with C_e"); an exec needs a group key share, tried from each dealer in turn until
// one opens (a Byzantine dealer's share may not).
func (s *sim) configureAdmitted(nd *node) {
	c := spec.Configure{Config: spec.Encode(s.cfg)}
	if nd.id.Role == spec.RoleExec {
		if len(nd.adm.shares) == 0 {
			return
		}
		c.Share = nd.adm.shares[:1]
		nd.adm.shares = nd.adm.shares[1:]
	}
	out, _, ok := s.runInstance(nd.inst, []spec.Input{{Kind: spec.KindConfigure, Body: spec.Encode(&c)}})
	if !ok {
		return
	}
	st, ok := lastStatus(out.Outputs)
	if !ok || !st.Configured {
		if nd.id.Role != spec.RoleExec {
			s.fail("admission", "admitted %s refused its epoch %d configuration", nd.id, s.cfg.Epoch)
		}
		return
	}
	nd.status, nd.epoch, nd.restarted, nd.adm = st, s.latest(), false, nil
	nd.silenced = false // admitted: a correct enclave of the configuration
	s.stats.Admitted++
	s.logf("  %s (generation %d) admitted and configured in epoch %d", nd.id, nd.gen, s.cfg.Epoch)
}

// noteShares offers the group key shares an exec dealt at an epoch change to the
// admitted exec they are for, which is configured with the first that opens.
func (s *sim) noteShares(body []byte) {
	var gs spec.GroupKeyShares
	if spec.Decode(body, &gs, spec.MaxBodyBytes(spec.KindGroupKeyShares)) != nil {
		return
	}
	for _, sh := range gs.Shares {
		for r := range s.nodes {
			nd := s.nodes[r][spec.RoleExec]
			if nd.adm != nil && nd.adm.admitted && nd.restarted && boxPublic(nd.box) == sh.Recipient {
				nd.adm.shares = append(nd.adm.shares, sh)
				s.configureAdmitted(nd)
			}
		}
	}
}

// adopt records that nd now runs epoch e. An exec drops its stored COMMITs with the
// epoch change (SPEC §17.4 step 2), and so does the oracles' model of its quorums.
func (s *sim) adopt(nd *node, e uint64) {
	if e <= nd.epoch {
		return
	}
	nd.epoch = e
	if sh := nd.shadow; sh != nil {
		start := s.epochs[e].cfg.StartSeq
		sh.newEpoch()
		for q := range sh.committed {
			if q > start {
				delete(sh.committed, q)
				delete(sh.certs, q)
			}
		}
	}
}

// resealClient gives client c a session for the latest configuration and re-signs and
// re-seals its outstanding request under the new digest with the same timestamp
// (SPEC §17.4 "Requests in flight", §17.7).
func (s *sim) resealClient(c *swarmClient) {
	e := s.latest()
	sess, err := client.NewSession(s.cfg, c.id, conformance.Stream("swarm-client-nonces", s.opt.Seed*131+c.id.ID+e<<40))
	if err == nil {
		err = c.addReplyKeys(s.cfg, s.cd)
	}
	if err != nil {
		s.fail("client-safety", "client %d cannot follow epoch %d: %v", c.id.ID, e, err)
		return
	}
	_, ts, busy := c.sess.Outstanding()
	if !busy {
		ts = c.sess.NextTimestamp()
	}
	if err := sess.SetNextTimestamp(ts); err != nil {
		s.fail("client-safety", "client %d: %v", c.id.ID, err)
		return
	}
	c.sess = sess
	if !busy {
		return
	}
	raw, got, err := sess.Prepare(c.outOps)
	if err != nil || got != ts {
		s.fail("client-safety", "client %d cannot re-sign timestamp %d for epoch %d: %v", c.id.ID, ts, e, err)
		return
	}
	s.requests = append(s.requests, request{raw: raw, client: c.id.ID, ts: ts})
	s.logf("  client %d re-signs ts %d for epoch %d", c.id.ID, ts, e)
}

// addReplyKeys adds the pairwise reply keys of configuration cfg (digest cd) as the
// client's keys of the next epoch.
func (c *swarmClient) addReplyKeys(cfg *spec.Config, cd spec.Digest) error {
	aeads := make([]cipher.AEAD, cfg.N)
	for r := range cfg.N {
		aead, err := replyAEAD(c.id.BoxPrivate, cfg.Replicas[r].Exec.Body.BoxKey, cd, c.id.ID, r)
		if err != nil {
			return err
		}
		aeads[r] = aead
	}
	c.replyAEADs = append(c.replyAEADs, aeads)
	return nil
}

// epochOfInputs returns, for each input, the epoch nd ran it in: an accepted
// EPOCH-CHANGE moves the inputs after it to its epoch.
func (s *sim) epochOfInputs(nd *node, inputs []spec.Input, codes []uint64) ([]uint64, uint64) {
	out := make([]uint64, len(inputs))
	e := nd.epoch
	for i, in := range inputs {
		out[i] = e
		if in.Kind == spec.KindEpochChange && codes[i] == 0 {
			if ne, ok := changeEpoch(in.Body); ok {
				s.checkAdoption(nd, e, ne, in.Body)
				e = max(e, ne)
			}
		}
	}
	return out, e
}

// changeEpoch returns the epoch of the configuration an EPOCH-CHANGE carries.
func changeEpoch(body []byte) (uint64, bool) {
	var ec spec.EpochChange
	var c spec.Config
	if spec.Decode(body, &ec, spec.MaxBodyBytes(spec.KindEpochChange)) != nil || spec.Decode(ec.Config, &c, spec.MaxMessageBytes) != nil {
		return 0, false
	}
	return c.Epoch, true
}

func (e epochInfo) String() string { return fmt.Sprintf("epoch %d (%x)", e.cfg.Epoch, e.cd[:6]) }
