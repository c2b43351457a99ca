package operator

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/spec"
)

// The replay's feeder (SPEC.md §17.8, "The brokers"): recover, the base snapshot's
// chunks, then the batches and COMMITs of (Base.Seq, head], one window of L above
// exec's last executed batch at a time, from the ledger or from the chosen replica,
// until the broker adopted the recovery. Everything fed is checked by the exec.

// replayEvery is the feeder's polling period; a window is fed again after
// replayRefeed without progress (the broker's queue may have dropped inputs).
const (
	replayEvery  = 50 * time.Millisecond
	replayRefeed = 2 * time.Second
)

// replay drives the local exec's replay until the recovery is adopted or ctx ends.
func (rp *replica) replay(ctx context.Context, c *clusterRec, led *ledger.Ledger, post *RecoveryPost, tmpl *spec.Config) {
	sk, err := led.Key()
	if err != nil {
		rp.fail(fmt.Errorf("operator: recovery: %w", err))
		return
	}
	if sk.Format == spec.SealInsecure {
		rp.insecureKey()
	}
	rec := spec.Encode(&spec.Recover{Prev: spec.Encode(c.cfg), Plan: post.Plan, SealedKey: *sk, Lead: post.Lead})
	if !rp.feed(ctx, func(r *broker.Replica) { r.Replay(spec.KindRecover, rec) }) {
		return
	}
	base, sealedBy := post.Plan.Body.Base, c.cd
	if len(post.Lead) > 0 {
		// the replay starts under the lead-in's first epoch, whose state key sealed its base
		base, sealedBy = post.Lead[0].Base, spec.Hash(spec.DomainConfig, post.Lead[0].Configs[0])
		rp.log.Info("replay with a lead-in: no snapshot of the epoch's start survives", "from_seq", base.Seq, "epochs", len(post.Lead[0].Configs))
	}
	if base.Seq > 0 {
		chunks, err := rp.baseChunks(ctx, led, &base, sealedBy, post.Source)
		if err != nil {
			rp.fail(fmt.Errorf("operator: recovery: base snapshot: %w", err))
			return
		}
		rp.feed(ctx, func(r *broker.Replica) {
			for _, ch := range chunks {
				r.Replay(spec.KindStateChunk, ch)
			}
		})
	}
	f := &feeder{rp: rp, led: led, source: post.Source, head: tmpl.StartSeq, window: c.cfg.Window, fetched: map[uint64]*ledger.BatchRecord{}}
	f.run(ctx)
}

// feed runs fn on the broker's loop; false when the loop is gone.
func (rp *replica) feed(ctx context.Context, fn func(r *broker.Replica)) bool {
	host := rp.hostNow()
	return host != nil && host.Query(ctx, fn) == nil
}

// baseChunks returns the encoded chunks of the base snapshot, sealed under the state
// key of the configuration with digest sealedBy: the ledger's own when it holds that
// snapshot, else the source replica's (GET /recovery/snapshot), polled.
func (rp *replica) baseChunks(ctx context.Context, led *ledger.Ledger, base *spec.CheckpointCert, sealedBy spec.Digest, source uint64) ([][]byte, error) {
	if rec, err := led.LatestSnapshot(); err == nil && rec.Seq == base.Seq && rec.State == base.State && rec.Config == sealedBy {
		return rec.Chunks, nil
	}
	for {
		raw, err := httpGet(ctx, rp.t.Replicas[source].Status, RecoveryPath+"/snapshot", 10*time.Second, spec.MaxSnapshotBytes*2)
		var rec ledger.SnapshotRecord
		if err == nil {
			err = spec.Decode(raw, &rec, spec.MaxSnapshotBytes*2)
		}
		if err == nil && rec.Seq == base.Seq && rec.State == base.State && rec.Config == sealedBy {
			rp.log.Info("base snapshot fetched from the chosen replica", "source", source, "seq", base.Seq)
			return rec.Chunks, nil
		}
		rp.log.Warn("base snapshot not fetched yet", "source", source, "err", err)
		if sleepCtx(ctx, time.Second) != nil {
			return nil, ctx.Err()
		}
	}
}

// feeder feeds the replay's batches one window at a time.
type feeder struct {
	rp      *replica
	led     *ledger.Ledger
	source  uint64
	head    uint64
	window  uint64
	fetched map[uint64]*ledger.BatchRecord // records from the source, above exec's last
	fedTo   uint64                         // highest seq fed
	fedAt   time.Time
	lastAt  uint64 // exec's last when fedTo was set
}

// run polls exec's progress and feeds what its window admits.
func (f *feeder) run(ctx context.Context) {
	for sleepCtx(ctx, replayEvery) == nil {
		var last uint64
		var recovering bool
		if !f.rp.feed(ctx, func(r *broker.Replica) {
			st := r.Status()[spec.RoleExec]
			last, recovering = max(st.Stable, st.Last), r.Recovering() // the window is above max(h, lastExec)
		}) || !recovering {
			return
		}
		for s := range f.fetched {
			if s <= last {
				delete(f.fetched, s)
			}
		}
		to := min(f.head, last+f.window)
		from := f.fedTo
		if last != f.lastAt || time.Since(f.fedAt) > replayRefeed {
			from = last // progress or a stall: feed the window again from exec's last
		}
		if to > from {
			f.feedRange(ctx, from, to)
			f.fedTo, f.fedAt, f.lastAt = to, time.Now(), last
		}
	}
}

// feedRange feeds batches and COMMITs of (from, to].
func (f *feeder) feedRange(ctx context.Context, from, to uint64) {
	var recs []*ledger.BatchRecord
	for s := from + 1; s <= to; s++ {
		b := f.record(ctx, s)
		if b == nil {
			break
		}
		recs = append(recs, b)
	}
	f.rp.feed(ctx, func(r *broker.Replica) {
		for _, b := range recs {
			r.Replay(spec.KindBatch, b.Batch)
			for _, c := range b.Cert {
				r.Replay(spec.KindCommit, c)
			}
		}
	})
}

// record returns the batch record of s from the ledger, else from the source.
func (f *feeder) record(ctx context.Context, s uint64) *ledger.BatchRecord {
	if b, err := f.led.Batch(s); err == nil {
		return b
	}
	if b := f.fetched[s]; b != nil {
		return b
	}
	raw, err := httpGet(ctx, f.rp.t.Replicas[f.source].Status, RecoveryPath+"/records?from="+strconv.FormatUint(s-1, 10), 10*time.Second, maxOfferBody)
	var rr RecoveryRecords
	if err == nil {
		err = spec.Decode(raw, &rr, maxOfferBody)
	}
	if err != nil {
		f.rp.log.Warn("replay: batch records not fetched from the chosen replica", "source", f.source, "from", s, "err", err)
		return nil
	}
	for i := range rr.Batches {
		if b := &rr.Batches[i]; b.Seq >= s && b.Seq <= f.head && len(f.fetched) < 2*maxRecordsPerGet {
			f.fetched[b.Seq] = b
		}
	}
	return f.fetched[s]
}
