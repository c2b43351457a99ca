package ledger

import (
	"github.com/splitbft/splitbft/spec"
)

// Observe takes a protocol message the broker routes (either way), raw its exact bytes
// and body its decoding (as spec.DecodeKind returns it): the batches of proposals are
// kept, COMMITs and CHECKPOINTs collected for the certificates, and the stable
// checkpoint certificates inside a NEW-VIEW checked and handed to the writer. A batch
// is handed to the writer as soon as it is committed by COMMITs already known to be
// validly signed (see Accepted; its predecessor handed over). Other kinds are
// ignored. Event loop only.
func (l *Ledger) Observe(kind uint64, raw []byte, body any) {
	switch m := body.(type) {
	case *spec.Proposal:
		if _, b, err := spec.ProposalPartsRaw(raw); err == nil && len(m.Batch.Requests) > 0 {
			l.col.keepBatch(b)
		}
	case *spec.Commit:
		c := &l.col
		c.commit(raw, m)
		if m.Body.Seq == c.next {
			// Once exec executed next, its own COMMITs were missed (or their verdicts
			// dropped): a late COMMIT is checked here, or nothing would record next
			// until exec executes more.
			for l.record(c.next, nil, c.next <= c.execLast) {
			}
		}
	case *spec.Checkpoint:
		l.checkpoint(raw, m)
	case *spec.NewView:
		for i := range m.Body.ViewChanges {
			l.offerCert(&m.Body.ViewChanges[i].Body.Stable)
		}
	}
}

// Accepted reports that the broker's own exec accepted raw, a COMMIT it had been
// routed (no rejection in its Step), checking its signature (E6) under the
// configuration of digest cd: if that is the configuration the ledger collects
// under, the ledger counts raw as validly signed without checking it again, and
// hands the writer every batch whose certificate that completes, so that its fsync
// starts while the replies of the Step that executed it are on their way to the
// broker. Other kinds are ignored. Event loop only.
func (l *Ledger) Accepted(kind uint64, raw []byte, cd spec.Digest) {
	if kind != spec.KindCommit || cd != l.col.cd {
		return
	}
	l.col.known(raw)
	l.recordKnown()
}

// recordKnown hands the writer every batch from next on whose certificate is
// complete with COMMITs already known to be validly signed.
func (l *Ledger) recordKnown() {
	for l.record(l.col.next, nil, false) {
	}
}

// checkpoint collects a CHECKPOINT and, once q distinct replicas signed one with
// the same state, hands the certificate of the lowest q to the writer.
func (l *Ledger) checkpoint(raw []byte, m *spec.Checkpoint) {
	c := &l.col
	s, rep := m.Body.Seq, m.Body.Replica
	if _, done := c.certs[s]; done || s <= c.cfg.StartSeq || s%c.cfg.CheckpointInterval != 0 || rep >= c.cfg.N || s+c.cfg.Window < c.next {
		return
	}
	if !add(c.ckpts, s, rep, raw, c.checkpointValid) {
		return
	}
	var cands [][]byte
	for r := range c.cfg.N {
		for _, b := range c.ckpts[s][r] {
			var o spec.Checkpoint
			if spec.Decode(b, &o, spec.MaxBodyBytes(spec.KindCheckpoint)) == nil && o.Body.State == m.Body.State {
				cands = append(cands, b)
			}
		}
	}
	if proof := c.pick(cands, c.checkpointValid); proof != nil {
		cert := spec.CheckpointCert{Seq: s, State: m.Body.State}
		for _, b := range proof {
			var o spec.Checkpoint
			spec.Decode(b, &o, spec.MaxBodyBytes(spec.KindCheckpoint))
			cert.Proof = append(cert.Proof, o)
		}
		c.certs[s] = m.Body.State
		l.submit(item{kind: itemCert, seq: s, state: m.Body.State, cert: spec.Encode(&cert)})
	}
	c.pruneCkpts()
}

// offerCert hands a whole checkpoint certificate (from a NEW-VIEW) to the writer if
// it is valid (K1–K5) and none is known for its seq. A forged one costs one failed
// signature check.
func (l *Ledger) offerCert(cert *spec.CheckpointCert) {
	c := &l.col
	if _, done := c.certs[cert.Seq]; done || cert.Seq <= c.cfg.StartSeq || cert.Seq+c.cfg.Window < c.next { // at or below the start: the epoch's genesis, never recorded
		return
	}
	if newVerifier(c.cfg).checkpointCert(cert) != nil {
		return
	}
	c.certs[cert.Seq] = cert.State
	l.submit(item{kind: itemCert, seq: cert.Seq, state: cert.State, cert: spec.Encode(cert)})
	c.pruneCkpts()
}

// pruneCkpts keeps the maxCkptSeqs highest checkpoint seqs collected or remembered.
func (c *collector) pruneCkpts() {
	for len(c.ckpts) > maxCkptSeqs {
		delete(c.ckpts, lowestKey(c.ckpts))
	}
	for len(c.certs) > maxCkptSeqs {
		delete(c.certs, lowestKey(c.certs))
	}
}

func lowestKey[V any](m map[uint64]V) uint64 {
	first, low := true, uint64(0)
	for k := range m {
		if first || k < low {
			first, low = false, k
		}
	}
	return low
}

// Executed tells the ledger that the local exec has executed every batch up to last
// (its Status.Last). Each newly executed batch is handed to the writer with the
// matching COMMITs; batch returns the exact bytes of a batch by digest (the broker's
// cache of proposals and fetched batches). A batch the broker cannot record (exec
// skipped it by a state transfer) is covered by the stable checkpoint certificate
// exec adopted, once the ledger knows it. Event loop only.
func (l *Ledger) Executed(last uint64, batch func(spec.Digest) ([]byte, bool)) {
	c := &l.col
	c.execLast = max(c.execLast, last)
	for c.next <= last {
		if l.record(c.next, batch, true) {
			continue
		}
		h, ok := c.anchor(last)
		if !ok {
			return // held until a checkpoint certificate covers the gap
		}
		l.submit(item{kind: itemAnchor, seq: h, state: c.certs[h]})
		for s := range c.seen {
			if s <= h {
				delete(c.seen, s)
			}
		}
		c.next = h + 1
	}
}

// record hands batch seq to the writer if the ledger has its certificate and its
// bytes (from batch, nil or the broker's cache, or from the proposals observed). With
// verify false, only COMMITs already known to be validly signed count (no signature
// is checked).
func (l *Ledger) record(seq uint64, batch func(spec.Digest) ([]byte, bool), verify bool) bool {
	c := &l.col
	cert, d, ok := c.group(seq, verify)
	if !ok {
		return false
	}
	raw, ok := c.batches[d]
	switch {
	case d == spec.NullBatchDigest():
		raw = spec.Encode(&spec.Batch{})
	case !ok && batch != nil:
		raw, ok = batch(d)
	}
	if !ok && d != spec.NullBatchDigest() {
		return false
	}
	l.submit(item{kind: itemBatch, seq: seq, digest: d, batch: raw, cands: cert})
	delete(c.seen, seq)
	c.next = seq + 1
	return true
}

// anchor returns the highest checkpoint seq h with next ≤ h ≤ last whose certificate
// was handed to the writer.
func (c *collector) anchor(last uint64) (uint64, bool) {
	var h uint64
	for s := range c.certs {
		if s >= c.next && s <= last && s > h {
			h = s
		}
	}
	return h, h > 0
}
