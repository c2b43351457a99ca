package ledger

import (
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// The ledger across epochs (SPEC.md §13.5, §17): an epoch change the broker adopts is
// recorded in order with the batches, and from then on the ledger collects and checks
// under the new configuration. The new configuration's (StartSeq, StartState) is a
// certified anchor, like a checkpoint certificate: the chain of the new epoch
// continues from StartLink(C'), and Durable covers StartSeq.

// Epoch tells the ledger that the broker adopted the chain step st (raw its exact
// encoding: an epoch change or a recovery, SPEC.md §17.8), which certifies next (the
// broker checked it: EC1–EC4 or RC1–RC5 after the configuration in force). The ledger first hands over what it can still record of
// the old epoch up to next.StartSeq, then queues the epoch record and switches its
// collector: COMMITs and CHECKPOINTs are checked under next from now on, the first
// batch it records is next.StartSeq+1, and batch or checkpoint records of the old
// epoch above next.StartSeq (committed, never executed: SPEC.md §17.3) are dropped
// when the epoch record is written. A change that does not start the epoch after the
// one in force is ignored (logged). Event loop only.
func (l *Ledger) Epoch(raw []byte, st *spec.Step, next *spec.Config) {
	c := &l.col
	if next.Epoch != c.cfg.Epoch+1 || next.Prev != c.cd || spec.Hash(spec.DomainConfig, st.ConfigBytes()) != spec.ConfigDigest(next) {
		l.opt.Log.Warn("ledger: epoch change ignored: it does not follow the configuration in force", "epoch", next.Epoch, "in force", c.cfg.Epoch)
		return
	}
	for c.next <= next.StartSeq && l.record(c.next, nil, true) {
	}
	l.submit(item{kind: itemEpoch, seq: next.StartSeq, state: next.StartState, cert: raw, cfg: next})
	c.switchTo(next)
}

// switchTo makes the collector collect for the epoch of next: the COMMITs and
// CHECKPOINTs kept above next.StartSeq stay (a faster peer's messages of the new
// epoch may have come first) and are checked under the new digest; cached signature
// verdicts, which depend on the digest, are dropped.
func (c *collector) switchTo(next *spec.Config) {
	seen, ckpts, batches, order := c.seen, c.ckpts, c.batches, c.order
	c.init(next, next.StartSeq+1)
	c.batches, c.order = batches, order
	for s, m := range seen {
		if s >= c.next && s < c.next+2*c.cfg.Window {
			c.seen[s] = m
		}
	}
	for s, m := range ckpts {
		if s > next.StartSeq {
			c.ckpts[s] = m
		}
	}
}

// applyEpoch adds an epoch record to b, drops the old epoch's records above the new
// StartSeq, and moves the chain's end to the new epoch's anchor.
func (l *Ledger) applyEpoch(b *pebble.Batch, it *item) {
	w := &l.w
	k := key(prefixEpoch, it.cfg.Epoch)
	b.Set(k, sealValue(k, &EpochRecord{Change: it.cert}), nil)
	if it.seq < ^uint64(0) {
		b.DeleteRange(key(prefixBatch, it.seq+1), []byte{prefixBatch + 1}, nil)
		b.DeleteRange(key(prefixCheckpoint, it.seq+1), []byte{prefixCheckpoint + 1}, nil)
	}
	for s := range w.states {
		if s > it.seq {
			delete(w.states, s)
		}
	}
	w.cfg, w.lastSeq, w.lastLink = it.cfg, it.seq, StartLink(it.cfg)
}

// epoch checks one epoch record: a valid chain step (an epoch change, EC1–EC4 of SPEC.md
// §17.1, or a recovery, RC1–RC5 of §17.8) after the configuration in force, stored at
// the key of the epoch it starts.
func (st *scanState) epoch(k []byte, n uint64, val []byte) *Fault {
	prev := st.eps[len(st.eps)-1]
	bad := func(format string, a ...any) *Fault {
		return &Fault{Kind: KindEpoch, Seq: n, cut: prev.StartSeq, Msg: strings.TrimPrefix(fmt.Sprintf(format, a...), "ledger: ")}
	}
	var rec EpochRecord
	if err := openValue(k, val, &rec); err != nil {
		return bad("%v", err)
	}
	if n != prev.Epoch+1 {
		return bad("out of order: the configuration in force is of epoch %d", prev.Epoch)
	}
	var step spec.Step
	if err := spec.Decode(rec.Change, &step, spec.MaxMessageBytes); err != nil {
		return bad("chain step malformed: %v", err)
	}
	next, err := spec.VerifyStep(prev, spec.ConfigDigest(prev), prev.StartSeq, &step, verifyEd, nil)
	if err != nil {
		return bad("%v", err)
	}
	st.eps, st.changes = append(st.eps, next), append(st.changes, step)
	if st.vs != nil {
		st.vs = append(st.vs, newVerifier(next))
	}
	return nil
}
