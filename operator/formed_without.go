package operator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/splitbft/splitbft/broker/procenclave"
	"github.com/splitbft/splitbft/spec"
)

// A replica stopped during formation, after its peers had its enrollments but before
// it wrote its genesis (SPEC.md §17.5, "Restarted during formation"): its peers form
// the cluster with the enrollments of the compartments it had then, and when it
// starts again it has no genesis and new compartments. Forming again cannot work (the
// dealer's share is for an exec key it no longer has); it joins the cluster its peers
// formed instead, as any restarted replica rejoins: the genesis that f+1 replicas
// serve and that the template makes of its enrollments (fetchGenesis, as a client
// takes it), then the chain, fresh compartments and their admission in a new epoch.

// formOrJoin is RunReplica's path for a replica without a genesis: join the cluster
// if its peers formed it without this run of the replica, form it otherwise.
func (rp *replica) formOrJoin(ctx context.Context) (*spec.Config, error) {
	if !rp.opt.NewCluster { // --new-cluster: the peers' old genesis is the one to leave
		genesis, err := rp.formedWithout(ctx)
		if err != nil {
			return nil, err
		}
		if genesis != nil {
			return rp.joinFormed(ctx, genesis)
		}
	}
	if err := rp.start(ctx, spec.Digest{}); err != nil {
		return nil, err
	}
	cfg, err := rp.form(ctx)
	var kc *KeyChangedError
	if rp.opt.NewCluster || !errors.As(err, &kc) || kc.Replica != rp.opt.ID || kc.What != "for" {
		return cfg, err
	}
	// The deal is for the exec this replica had before it restarted: the peers form
	// (or formed) with those compartments.
	rp.log.Warn("this replica restarted during formation and its peers form the cluster with its earlier compartments: waiting for them to serve it, to join it", "err", err)
	rp.dropFormation()
	genesis, err := rp.awaitFormed(ctx)
	if err != nil {
		return nil, err
	}
	return rp.joinFormed(ctx, genesis)
}

// formedWithout asks every replica once for its genesis (fetchGenesis) and returns
// the raw genesis f+1 of them serve, nil if there is none. Called while this replica
// runs no compartments, it means the cluster formed without this run.
func (rp *replica) formedWithout(ctx context.Context) ([]byte, error) {
	raw, _, _, err := fetchGenesis(ctx, rp.t, rp.opt.Verifier, formedCheckTimeout)
	if errors.Is(err, ErrNotFormed) {
		return nil, nil
	}
	return raw, err
}

// formedCheckTimeout bounds each replica's answer to formedWithout.
const formedCheckTimeout = 2 * time.Second

// awaitFormed polls formedWithout until it finds the genesis or ctx ends.
func (rp *replica) awaitFormed(ctx context.Context) ([]byte, error) {
	for polls := 1; ; polls++ {
		genesis, err := rp.formedWithout(ctx) // this run's compartments are closed
		if genesis != nil {
			return genesis, nil
		}
		if polls%20 == 0 {
			rp.log.Info("waiting for f+1 peers to serve the genesis they formed", "err", err)
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// dropFormation closes the compartments and the gateway started for a formation
// this replica leaves.
func (rp *replica) dropFormation() {
	rp.mu.Lock()
	procs := rp.procs
	rp.procs = [3]*procenclave.Process{}
	rp.mu.Unlock()
	CloseCompartments(procs)
	if rp.gwCmd != nil && rp.gwCmd.Process != nil {
		rp.gwCmd.Process.Kill()
		rp.gwCmd.Wait() // its port is free again for the gateway the rejoin starts
	}
	rp.gwCmd, rp.gw, rp.own = nil, nil, [3]spec.Enrollment{}
}

// joinFormed writes the genesis its peers formed as this replica's and rejoins.
func (rp *replica) joinFormed(ctx context.Context, genesis []byte) (*spec.Config, error) {
	var cfg spec.Config
	if err := spec.Decode(genesis, &cfg, spec.MaxMessageBytes); err != nil {
		return nil, err // fetchGenesis decoded it
	}
	d := spec.ConfigDigest(&cfg)
	rp.log.Warn("the cluster formed while this replica was down (it stopped during formation): joining it with fresh compartments",
		"genesis_digest", fmt.Sprintf("%x", d[:8]))
	dir := replicaDir(rp.opt.Dir, rp.opt.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeFileSynced(filepath.Join(dir, GenesisFile), genesis); err != nil {
		return nil, err
	}
	return rp.rejoin(ctx, genesis)
}
