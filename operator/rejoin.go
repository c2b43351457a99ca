package operator

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// Rejoin and the broker's epoch hooks (SPEC.md §13.4, §17.5, §17.7).

// PhaseRejoining is the phase of a replica that restarted on a formed cluster and
// fetches the chain from its peers.
const PhaseRejoining = "rejoining"

// rejoin is RunReplica's path for a replica that formed before: no new configuration;
// the chain from f+1 peers, fresh compartments Init'ed for its last epoch, and (in
// run) their admission. When the replica holds a chain and a ledger with a sealed
// group key and its peers do not serve a chain (awaitChain: no peer within a round
// of RecoveryGrace, or too few that are not recovering themselves), the whole
// cluster stopped: it waits for a recovery plan instead (cluster_recovery.go, SPEC
// §17.8).
func (rp *replica) rejoin(ctx context.Context, genesis []byte) (*spec.Config, error) {
	rp.n.set(func(n *node) { n.phase = PhaseRejoining })
	rp.log.Info("this replica formed the cluster before: fetching the configuration chain from its peers (it does not form a new one)")
	lc, lcfg, ledCfg, lerr := localChain(rp.opt.Dir, rp.opt.ID, genesis)
	if lerr != nil {
		rp.log.Info("no ledger to recover the whole cluster from; waiting for peers", "why", lerr)
	}
	fetcher := ChainFetcher{T: rp.t, ID: rp.opt.ID, Log: rp.log.Info}
	c, cfg, recovers, err := awaitChain(ctx, fetcher, genesis, cmpOr(rp.opt.RecoveryGrace, defaultRecoveryGrace), lerr == nil)
	if err != nil {
		return nil, err
	}
	if recovers {
		return rp.startClusterRecovery(ctx, lc, lcfg, ledCfg)
	}
	cd := spec.ConfigDigest(cfg)
	rp.log.Info("chain fetched and verified", "epoch", cfg.Epoch, "config_digest", fmt.Sprintf("%x", cd[:8]))
	if err := rp.start(ctx, cd); err != nil {
		return nil, err
	}
	rp.warnInsecure(cfg)
	if err := writeChain(rp.opt.Dir, rp.opt.ID, c, cfg); err != nil {
		return nil, err
	}
	rp.chain, rp.join = c, true
	rp.n.setConfig(cfg)
	return cfg, nil
}

// awaitChain decides how a replica that formed before restarts (SPEC §17.8): it
// returns the chain f+1 peers serve (a rejoin, §17.5), or recover. Without a ledger
// to recover from (canRecover false) it waits for f+1 chains until ctx ends. With
// one, it polls in rounds of grace, each with a fresh count, and recovers after the
// first round that ends with no peer having served a chain in it, or with fewer than
// f+1 peers that could still serve one (the others' last answer: they recover the
// whole cluster themselves); otherwise (some peers serve, too few, and enough others
// are silent rather than recovering) it starts another round.
//
// Only the round's answers count: a peer that served a chain in an earlier round
// and is now silent, or recovering, was stopped since (it is recovering because it
// too found no f+1 peers serving a chain), so its chain is no evidence of a running
// cluster any more. Before, one answer during the grace made the replica wait for
// f+1 chains for ever: in a whole-cluster restart in which it came up a moment
// before its peers stopped, or after they had gone into recovery, it never offered,
// and recover-cluster, which needs every replica's offer (but at most f declared
// absent), could not recover the cluster. A recovering peer leaves recovery mode only when f+1 peers serve a chain
// (watchPeers), so with fewer than f+1 others not recovering no rejoin can come; and
// f faulty peers that claim to recover leave 2f ≥ f+1 others, so they cannot make a
// replica leave a running cluster (nor can a quorum run while 2f peers recover, at
// least f of them correct). Going into recovery mode with the cluster running (no
// peer answered in a round: a partition) is undone by watchPeers.
func awaitChain(ctx context.Context, fetcher ChainFetcher, genesis []byte, grace time.Duration, canRecover bool) (*Chain, *spec.Config, bool, error) {
	if !canRecover {
		cf := fetcher
		c, cfg, err := cf.Fetch(ctx, genesis)
		return c, cfg, false, err
	}
	return fetchRounds(ctx, fetcher, genesis, grace, func(round int, cf *ChainFetcher) bool {
		if cf.Answered == 0 || int(cf.T.N)-1-cf.Recovering < int(cf.T.F)+1 {
			return true
		}
		if cf.Log != nil {
			cf.Log("some peers serve the configuration chain, fewer than f+1, and enough others are silent rather than recovering: trying again (a rejoin, however slow)",
				"round", round, "answered", cf.Answered, "recovering", cf.Recovering, "need", cf.T.F+1)
		}
		return false
	})
}

// admitAll has the broker admit the three fresh compartments once its loop runs.
func (rp *replica) admitAll(ctx context.Context, r *broker.Replica) {
	var fresh []broker.Fresh
	encl := rp.enclaves()
	for role := spec.RolePrep; role <= spec.RoleExec; role++ {
		r.Down(role)
		fresh = append(fresh, broker.Fresh{Role: role, Enclave: encl[role], Enrollment: rp.own[role]})
	}
	go rp.host.Query(ctx, func(r *broker.Replica) {
		if err := r.Admit(fresh); err != nil {
			rp.fail(err)
			return
		}
		rp.log.Info("admission started: fresh compartments sent to the peers for attestation", "epoch", r.Config().Epoch)
	})
}

// hooks returns the broker's callbacks: persist and show each epoch, submit
// admissions as the broker client, log admissions and retirements, renew overtaken
// admissions (until ctx ends).
func (rp *replica) hooks(ctx context.Context) broker.EpochHooks {
	sub := &admitSubmitter{}
	id, err := LoadBrokerClient(rp.opt.Dir, rp.t, rp.opt.ID)
	if err != nil {
		sub.err = err
		rp.log.Warn("no broker client: this replica cannot submit admissions", "err", err)
	}
	sub.id = id
	return broker.EpochHooks{
		Epoch:  rp.onEpoch,
		Submit: sub.submit,
		Admitted: func(role spec.Role, epoch uint64) {
			rp.log.Info("compartment admitted", "role", spec.RoleName(role), "epoch", epoch)
			if rp.hasPending(role) { // renewed in place of a down one (renew.go): no Retired came
				rp.retire(role)
			}
			if role == spec.RoleExec {
				rp.join = false // a rejoin's exec is admitted last
			}
			rp.n.set(func(n *node) { n.admitted++ })
		},
		Retired: func(role spec.Role, _ broker.Enclave) {
			rp.log.Info("compartment retired: replaced in the new epoch", "role", spec.RoleName(role))
			rp.retire(role)
		},
		Renew: func(roles []spec.Role, cd spec.Digest) { go rp.renew(ctx, roles, cd) },
		AdmitFailed: func(err error) {
			if rp.join {
				rp.log.Error("admission failed; restart the replica to try again", "err", err)
				rp.n.set(func(n *node) { n.err = err.Error() })
			} else {
				rp.log.Warn("recovery abandoned; the old compartments stay in service", "err", err)
			}
			for role := range 3 {
				rp.dropPending(spec.Role(role))
			}
		},
	}
}

// onEpoch persists and shows the configuration the broker adopted (on its loop).
func (rp *replica) onEpoch(cfg *spec.Config, st *spec.Step) {
	rp.chain = &Chain{Genesis: rp.chain.Genesis, Changes: append(rp.chain.Changes[:len(rp.chain.Changes):len(rp.chain.Changes)], *st)}
	if err := writeChain(rp.opt.Dir, rp.opt.ID, rp.chain, cfg); err != nil {
		rp.log.Error("cannot persist the chain", "err", err)
	}
	rp.n.setConfig(cfg)
	rp.followClients(cfg)
	switch {
	case st.Recovery != nil && !rp.awaitingRecovery():
		// Not waiting for this recovery (never recovering, or a recovery this process
		// took part in is over): its compartments are C's and cannot serve C', even if
		// C' carries their keys over (SPEC §17.8, "Absent replicas").
		rp.fail(errRecoveredWithout)
		rp.stop(errRecoveredWithout)
	case st.Recovery != nil:
		rp.onRecovered(cfg)
	default:
		rp.onEpochWhileRecovering()
	}
	d := spec.ConfigDigest(cfg)
	rp.log.Info("epoch changed", "epoch", cfg.Epoch, "start_seq", cfg.StartSeq, "config_digest", fmt.Sprintf("%x", d[:8]))
}

// followClients has the client port authenticate the clients cfg registers and the
// peer port dial the replicas' addresses cfg names (an epoch may change both, SPEC
// §17.2).
func (rp *replica) followClients(cfg *spec.Config) {
	keys := make(map[uint64]ed25519.PublicKey, len(cfg.Clients))
	for _, c := range cfg.Clients {
		keys[c.ID] = ed25519.PublicKey(bytes.Clone(c.SignKey[:]))
	}
	rp.host.SetClientKeys(keys)
	for i, rc := range cfg.Replicas {
		if uint64(i) != rp.opt.ID && len(rc.Address) > 0 {
			rp.host.SetPeerAddr(uint64(i), string(rc.Address))
		}
	}
}

// admitSubmitter builds the broker client's admission request: one per (epoch, ops),
// the same bytes for every retry, with a timestamp from the clock (above any its
// earlier incarnations used).
type admitSubmitter struct {
	id  client.Identity
	err error
	cd  spec.Digest
	ops [][]byte
	raw []byte
}

func (s *admitSubmitter) submit(cfg *spec.Config, ops [][]byte) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	cd := spec.ConfigDigest(cfg)
	if s.raw != nil && s.cd == cd && slices.EqualFunc(s.ops, ops, bytes.Equal) {
		return s.raw, nil
	}
	sess, err := client.NewSession(cfg, s.id, rand.Reader)
	if err == nil {
		err = sess.SetNextTimestamp(uint64(time.Now().UnixNano()))
	}
	var raw []byte
	if err == nil {
		raw, _, err = sess.Prepare(ops)
	}
	if err != nil {
		return nil, fmt.Errorf("operator: broker client request: %w", err)
	}
	s.cd, s.ops, s.raw = cd, slices.Clone(ops), raw
	return raw, nil
}
