package main

import (
	"context"
	"fmt"
	"time"

	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// agreement is what every replica's exec reported at the end of a run.
type agreement struct {
	lastExec uint64
	seq      uint64
	digest   spec.Digest
	who      []string
}

// settle drives the cluster to a checkpoint boundary with single reads, waits until
// every live replica's exec has executed the same batches and emitted a CHECKPOINT
// there, and checks that all those checkpoints carry one state digest. Replicas stopped
// by -kill-primary are left out.
func settle(cl *localnet.Cluster) (*agreement, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := cl.Config.CheckpointInterval
	for ctx.Err() == nil {
		a, ok := agreed(cl, k)
		if ok {
			return a, a.check(cl)
		}
		if _, err := cl.Client(0).Do(ctx, [][]byte{client.GetOp([]byte("settle"))}); err != nil {
			return nil, fmt.Errorf("settling: %w", err)
		}
	}
	return nil, fmt.Errorf("replicas did not reach a common checkpoint within 30s")
}

// agreed reports whether every live replica's exec last executed the same multiple of
// K and has checkpointed it.
func agreed(cl *localnet.Cluster, k uint64) (*agreement, bool) {
	a := &agreement{}
	for i := range cl.N() {
		if cl.Killed(i) {
			continue
		}
		st, err := cl.Status(i)
		if err != nil {
			return nil, false
		}
		last := st[spec.RoleExec].Last
		seq, _ := cl.Checkpoint(i)
		if last == 0 || last%k != 0 || seq != last || (a.lastExec != 0 && last != a.lastExec) {
			return nil, false
		}
		a.lastExec = last
	}
	return a, true
}

func (a *agreement) check(cl *localnet.Cluster) error {
	ref := -1
	for i := range cl.N() {
		if cl.Killed(i) {
			continue
		}
		seq, d := cl.Checkpoint(i)
		if ref < 0 {
			ref, a.seq, a.digest = i, seq, d
		}
		if seq != a.seq || d != a.digest {
			return fmt.Errorf("replica %d checkpointed %d with digest %x, replica %d %d with %x", i, seq, d[:8], ref, a.seq, a.digest[:8])
		}
		a.who = append(a.who, fmt.Sprintf("r%d", i))
	}
	return nil
}
