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
// run) their admission. When no peer serves a chain within RecoveryGrace and the
// replica holds a chain and a ledger with a sealed group key, the whole cluster
// stopped: it waits for a recovery plan instead (cluster_recovery.go, SPEC §17.8).
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

// awaitChain decides how a replica that formed before restarts: it returns the chain
// f+1 peers serve (a rejoin), or recover when canRecover (the replica has a chain and
// a keyed ledger) and no peer served a chain within grace.
func awaitChain(ctx context.Context, fetcher ChainFetcher, genesis []byte, grace time.Duration, canRecover bool) (*Chain, *spec.Config, bool, error) {
	cf := fetcher
	fctx, cancel := ctx, context.CancelFunc(func() {})
	if canRecover {
		fctx, cancel = context.WithTimeout(ctx, grace)
	}
	c, cfg, err := cf.Fetch(fctx, genesis)
	cancel()
	switch {
	case err != nil && canRecover && ctx.Err() == nil && cf.Answered == 0:
		return nil, nil, true, nil
	case err != nil && ctx.Err() == nil && cf.Answered > 0: // peers run: a rejoin, however slow
		c, cfg, err = cf.Fetch(ctx, genesis)
	}
	return c, cfg, false, err
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
	if st.Recovery != nil {
		rp.onRecovered(cfg)
	} else {
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
