package operator

import (
	"bytes"
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
// it wrote its genesis (SPEC.md §13.4, "Restarted during formation"): its peers form
// the cluster with the enrollments of the compartments it had then, and when it
// starts again it has no genesis and new compartments. Forming again cannot work for
// a replica that is not the dealer (the dealer's share is for an exec key it no
// longer has); it joins the cluster its peers formed instead, as any restarted
// replica rejoins: the genesis that f+1 replicas serve, that the template makes of
// its enrollments (fetchGenesis, as a client takes it) and that holds this replica's
// earlier compartments, then the chain, fresh compartments and their admission in a
// new epoch.
//
// Which earlier compartments: before a formation attempt serves its enrollments, the
// replica adds them, synced, to FormingFile; the genesis it joins through that record
// must hold the enrollments of one recorded attempt. So it joins only a cluster formed
// from its own attempt: not an older one of the same template (before --new-cluster),
// not copies replayed by someone on the network, and a replica that never served
// enrollments (a first start, or a lost directory) forms. The fallback after a share
// for an unknown exec key accepts a genesis giving its exec that key, which a replay
// of an older cluster's deal and chains could name (SPEC §13.4 says what that costs).

// FormingFile holds, in replica-<id>/, the replica's FormingRecord: the enrollments of
// its formation attempts since it last held a genesis.
const FormingFile = "forming.cbor"

// dealerGrace is how long the dealer, restarted during formation, waits for f+1 peers
// to serve the genesis of its earlier attempt before it deals again: peers that took
// its earlier deal form within moments of taking it.
const dealerGrace = 10 * time.Second

// joinWait bounds the wait for the genesis after a share for an earlier exec key.
const joinWait = 2 * time.Minute

// formOrJoin is RunReplica's path for a replica without a genesis: join the cluster
// if its peers formed it from this replica's earlier attempt, form it otherwise.
func (rp *replica) formOrJoin(ctx context.Context) (*spec.Config, error) {
	if prev := rp.earlierAttempts(); len(prev) > 0 {
		wait := time.Duration(0)
		if rp.opt.ID == Dealer {
			wait = dealerGrace
		}
		holds := func(cfg *spec.Config) bool {
			for i := range prev {
				if holdsEnrollments(cfg, rp.opt.ID, &prev[i]) {
					return true
				}
			}
			return false
		}
		genesis, err := rp.awaitGenesis(ctx, holds, wait)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		if genesis != nil {
			rp.log.Warn("the cluster formed while this replica was down (it stopped during formation): joining it with fresh compartments")
			return rp.joinFormed(ctx, genesis)
		}
		if err != nil {
			rp.log.Warn("could not tell whether the peers formed the cluster with this replica's earlier compartments; forming", "err", err)
		}
	}
	if err := rp.start(ctx, spec.Digest{}); err != nil {
		return nil, err
	}
	cfg, err := rp.form(ctx)
	var kc *KeyChangedError
	if rp.opt.NewCluster || !errors.As(err, &kc) || kc.Replica != rp.opt.ID || kc.What != "for" {
		// --new-cluster: a deal for an earlier exec key of this replica may come from
		// the cluster the operator is leaving, whose replicas still serve it.
		return cfg, err
	}
	// The deal is for an exec key this replica's exec does not have: the one it had
	// before it restarted (the peers form, or formed, with those compartments), or a
	// faulty dealer's.
	rp.log.Warn("the dealer's share for this replica is for another exec key: this replica restarted during formation (or the dealer is faulty); waiting for f+1 peers to serve the configuration formed with that key, to join it",
		"wait", joinWait)
	rp.dropFormation()
	holds := func(cfg *spec.Config) bool {
		return rp.opt.ID < uint64(len(cfg.Replicas)) && cfg.Replicas[rp.opt.ID].Exec.Body.BoxKey == kc.Key
	}
	wctx, cancel := context.WithTimeout(ctx, joinWait)
	genesis, werr := rp.awaitGenesis(wctx, holds, joinWait)
	cancel()
	if genesis == nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if werr == nil {
			werr = errors.New("no f+1 replicas serve one")
		}
		return nil, fmt.Errorf("%w; no f+1 peers served a configuration with that key within %v (%v)", err, joinWait, werr)
	}
	return rp.joinFormed(ctx, genesis)
}

// FormingRecord is FormingFile's content: the enrollments of every formation attempt
// since the replica last held a genesis, oldest first. Every one of them may be in
// the configuration its peers formed (an attempt that found no genesis is followed by
// another, while the peers may still form with the earlier one).
type FormingRecord struct {
	_        struct{} `cbor:",toarray"`
	Attempts []ReplicaEnrollments
}

// maxAttempts caps the attempts a record keeps (the oldest are dropped).
const maxAttempts = 16

// earlierAttempts returns the enrollments of this replica's formation attempts since
// it last held a genesis (FormingFile), none if there is no record or it does not
// decode.
func (rp *replica) earlierAttempts() []ReplicaEnrollments {
	raw, err := os.ReadFile(filepath.Join(replicaDir(rp.opt.Dir, rp.opt.ID), FormingFile))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			rp.log.Warn("cannot read the record of earlier formation attempts; forming", "err", err)
		}
		return nil
	}
	var rec FormingRecord
	if err := spec.Decode(raw, &rec, maxAttempts*maxFormationBody); err != nil {
		rp.log.Warn("the record of earlier formation attempts does not decode; forming", "file", FormingFile, "err", err)
		return nil
	}
	var out []ReplicaEnrollments
	for _, a := range rec.Attempts {
		if a.Replica == rp.opt.ID && len(a.Enrollments) == 3 {
			out = append(out, a)
		}
	}
	return out
}

// recordAttempt adds this attempt's enrollments to FormingFile, synced, before they
// are served.
func (rp *replica) recordAttempt(re ReplicaEnrollments) error {
	d := replicaDir(rp.opt.Dir, rp.opt.ID)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	rec := FormingRecord{Attempts: append(rp.earlierAttempts(), re)}
	if len(rec.Attempts) > maxAttempts {
		rec.Attempts = rec.Attempts[len(rec.Attempts)-maxAttempts:]
	}
	return writeFileSynced(filepath.Join(d, FormingFile), spec.Encode(&rec))
}

// holdsEnrollments reports whether cfg gives replica id exactly the enrollments of re.
func holdsEnrollments(cfg *spec.Config, id uint64, re *ReplicaEnrollments) bool {
	if id >= uint64(len(cfg.Replicas)) || len(re.Enrollments) != 3 {
		return false
	}
	me := cfg.Replicas[id]
	for r, e := range [3]*spec.Enrollment{&me.Prep, &me.Conf, &me.Exec} {
		if !bytes.Equal(spec.Encode(e), spec.Encode(&re.Enrollments[r])) {
			return false
		}
	}
	return true
}

// formedWithout asks every replica once for its genesis (fetchGenesis, copies that
// holds accepts) and returns the raw genesis f+1 of them serve, nil if there is none.
func (rp *replica) formedWithout(ctx context.Context, holds func(*spec.Config) bool) ([]byte, error) {
	raw, _, _, err := fetchGenesis(ctx, rp.t, rp.opt.Verifier, formedCheckTimeout, holds)
	if errors.Is(err, ErrNotFormed) {
		return nil, nil
	}
	return raw, err
}

// formedCheckTimeout bounds each replica's answer to formedWithout.
const formedCheckTimeout = 2 * time.Second

// awaitGenesis asks for the genesis (formedWithout) until it is found, wait has passed
// (at least one round), or ctx ends; when none is found it returns nil and the last
// round's error (nil: no f+1 replicas serve such a configuration).
func (rp *replica) awaitGenesis(ctx context.Context, holds func(*spec.Config) bool, wait time.Duration) ([]byte, error) {
	end := time.Now().Add(wait)
	rp.n.set(func(n *node) { n.phase = PhaseJoining })
	defer rp.n.set(func(n *node) {
		if n.phase == PhaseJoining {
			n.phase = PhaseStarting
		}
	})
	var last error
	for polls := 1; ; polls++ {
		genesis, err := rp.formedWithout(ctx, holds)
		if genesis != nil {
			return genesis, nil
		}
		last = err
		if !time.Now().Before(end) || ctx.Err() != nil {
			return nil, last // nil: no f+1 replicas serve such a configuration
		}
		if polls%20 == 0 {
			args := []any{}
			if err != nil {
				args = append(args, "err", err)
			}
			rp.log.Warn("waiting for f+1 peers to serve the configuration they formed with this replica's earlier compartments", args...)
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// dropFormation closes the compartments and the gateway started for a formation
// this replica leaves, and stops serving their enrollments.
func (rp *replica) dropFormation() {
	rp.mu.Lock()
	procs := rp.procs
	rp.procs = [3]*procenclave.Process{}
	rp.mu.Unlock()
	rp.n.set(func(n *node) {
		n.watched, n.enr, n.gwEnr, n.phase = [3]*Watched{}, nil, nil, PhaseJoining
	})
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
	rp.log.Info("joining the cluster its peers formed", "genesis_digest", fmt.Sprintf("%x", d[:8]))
	dir := replicaDir(rp.opt.Dir, rp.opt.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeFileSynced(filepath.Join(dir, GenesisFile), genesis); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, FormingFile))
	return rp.rejoin(ctx, genesis)
}
