package swarm

import (
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// execShadow is the oracles' model of one exec's commit quorums (SPEC.md §11.4): the
// accepted COMMITs, highest view per sender, and the digest certified for each
// sequence number by the first q of them that share (View, Digest). From it the
// oracles learn which batch an exec executed at each sequence number, without
// trusting the exec to say so.
type execShadow struct {
	commits   map[uint64]map[uint64]spec.Slot // seq → sender → accepted commit body
	raws      map[uint64]map[uint64][]byte    // seq → sender → that commit's encoding
	committed map[uint64]spec.Digest
	certs     map[uint64][][]byte // seq → the q encoded COMMITs that set committed[seq], by sender
	markers   map[opKey]uint64    // operations this exec executed → at which seq
}

func newExecShadow() *execShadow {
	sh := &execShadow{markers: map[opKey]uint64{}}
	sh.newEpoch()
	return sh
}

// newEpoch drops the stored COMMITs (an exec drops them at an epoch change, SPEC
// §17.4 step 2) but keeps what was committed and executed.
func (sh *execShadow) newEpoch() {
	sh.commits, sh.raws = map[uint64]map[uint64]spec.Slot{}, map[uint64]map[uint64][]byte{}
	if sh.committed == nil {
		sh.committed, sh.certs = map[uint64]spec.Digest{}, map[uint64][][]byte{}
	}
}

// addCommit records an accepted COMMIT c, encoded as raw (replacing the sender's
// lower-view one); committed[seq] is set, with its certificate, when q stored
// commits share (View, Digest).
func (sh *execShadow) addCommit(c *spec.Slot, raw []byte, q int) {
	bySender := sh.commits[c.Seq]
	if bySender == nil {
		bySender = map[uint64]spec.Slot{}
		sh.commits[c.Seq], sh.raws[c.Seq] = bySender, map[uint64][]byte{}
	}
	bySender[c.Replica] = *c
	sh.raws[c.Seq][c.Replica] = raw
	if _, ok := sh.committed[c.Seq]; ok {
		return
	}
	var cert [][]byte
	for r := range uint64(64) {
		if o, ok := bySender[r]; ok && o.View == c.View && o.Digest == c.Digest && len(cert) < q {
			cert = append(cert, sh.raws[c.Seq][r])
		}
	}
	if len(cert) >= q {
		sh.committed[c.Seq], sh.certs[c.Seq] = c.Digest, cert
	}
}

// stateDigester is implemented by the exec compartment (a read-only test helper).
type stateDigester interface {
	StateDigestAt() (uint64, spec.Digest)
}

// observeExec checks agreement, validity, integrity and checkpoint agreement on one
// step of a correct exec, and returns the sequence numbers it executed in the step.
func (o *oracles) observeExec(nd *node, res stepResult, before, after spec.Status) []uint64 {
	sh := nd.shadow
	transfer := false
	for i, in := range res.inputs {
		if res.codes[i] != 0 {
			continue
		}
		switch in.Kind {
		case spec.KindCommit:
			var c spec.Commit
			if spec.Decode(in.Body, &c, spec.MaxBodyBytes(spec.KindCommit)) == nil {
				sh.addCommit(&c.Body, in.Body, o.seen.quorum())
			}
		case spec.KindStateChunk:
			transfer = true
		}
	}
	ops := nd.app.take()
	for _, out := range res.outputs {
		if out.Kind == spec.KindCheckpoint {
			var c spec.Checkpoint
			if spec.Decode(out.Body, &c, spec.MaxBodyBytes(spec.KindCheckpoint)) == nil {
				o.agreeState(c.Body.Seq, c.Body.State, fmt.Sprintf("%s's checkpoint", nd.id))
			}
		}
	}
	if after.Last == before.Last {
		if len(ops) > 0 {
			o.fail("integrity", "%s executed %d operations without executing a batch", nd.id, len(ops))
		}
		return nil
	}
	from := before.Last
	if transfer && before.NeedState && after.Last > before.Last {
		from = o.observeTransfer(nd, before, after)
	}
	if after.Last < from {
		o.fail("monotonicity", "%s last went back from %d to %d", nd.id, from, after.Last)
		return nil
	}
	seqs := make([]uint64, 0, after.Last-from)
	for q := from + 1; q <= after.Last && o.failure == nil; q++ {
		o.executedAt(nd, q)
		seqs = append(seqs, q)
	}
	o.attribute(nd, ops, seqs)
	if sd, ok := nd.inst.c.(stateDigester); ok {
		q, d := sd.StateDigestAt()
		o.agreeState(q, d, fmt.Sprintf("%s's state", nd.id))
	}
	return seqs
}

// observeTransfer handles a state transfer to the stable checkpoint: it returns the
// sequence number the transfer reached.
func (o *oracles) observeTransfer(nd *node, before, after spec.Status) uint64 {
	t := before.Stable
	o.stats.Transfers++
	if after.Last < t {
		o.fail("integrity", "%s: a state transfer to %d left it at %d", nd.id, t, after.Last)
	}
	o.seen.logf("  %s state transfer to %d", nd.id, t)
	return t
}

// executedAt checks the batch an exec executed at seq: the one q COMMITs certified,
// the same as every other correct exec's (agreement), and made only of valid
// requests (validity).
func (o *oracles) executedAt(nd *node, seq uint64) {
	d, ok := nd.shadow.committed[seq]
	if !ok {
		o.fail("agreement", "%s executed seq %d without q matching COMMITs accepted", nd.id, seq)
		return
	}
	o.decide(nd, seq, d)
	if d == o.seen.nullDigest() {
		return
	}
	bi := o.seen.batch(d)
	if bi == nil {
		o.fail("validity", "%s executed seq %d with batch %x that no one sent it", nd.id, seq, d[:6])
		return
	}
	if !o.seen.batchValid(bi, nd.epoch) {
		o.fail("validity", "%s executed seq %d: batch %x holds a request failing R1–R5", nd.id, seq, d[:6])
	}
}

// attribute is the integrity oracle: every operation an exec executed belongs to a
// request in one of the batches it executed in this step, was issued by a client, and
// executes at most once per exec, at the same sequence number on every correct exec
// (state transfer carries the client table, so no request executes again after it).
func (o *oracles) attribute(nd *node, ops []string, seqs []uint64) {
	for _, op := range ops {
		key, ok := o.ops[op]
		if !ok {
			o.fail("validity", "%s executed an operation no client issued", nd.id)
			return
		}
		seq, ok := o.seqOf(key, seqs)
		if !ok {
			o.fail("integrity", "%s executed client %d timestamp %d, which no batch it executed holds", nd.id, key.client, key.ts)
			return
		}
		if prev, dup := nd.shadow.markers[key]; dup {
			o.fail("integrity", "%s executed client %d timestamp %d twice (seq %d and %d)", nd.id, key.client, key.ts, prev, seq)
			return
		}
		nd.shadow.markers[key] = seq
		if g, ok := o.markerSeq[key]; ok && g.seq != seq {
			o.fail("integrity", "client %d timestamp %d executed at seq %d by %s but at seq %d by %s", key.client, key.ts, seq, nd.id, g.seq, g.who)
			return
		} else if !ok {
			o.markerSeq[key] = markerSeen{seq, nd.id.String()}
		}
	}
}

// worldView is what the oracles read of the world beyond the nodes handed to them:
// the batches seen and whether their requests are valid, the quorum, the null batch,
// pool messages and slots by id, and the event log.
type worldView interface {
	batch(d spec.Digest) *batchInfo // nil if never seen
	batchValid(bi *batchInfo, epoch uint64) bool
	quorum() int
	nullDigest() spec.Digest
	message(id int) *msg     // pool message id
	node(id enclaveID) *node // the slot id
	epochCfg(e uint64) *spec.Config
	logf(format string, a ...any)
}

// markerSeen is where an operation first executed.
type markerSeen struct {
	seq uint64
	who string
}

// seqOf returns the lowest of seqs whose decided batch holds the operation key.
func (o *oracles) seqOf(key opKey, seqs []uint64) (uint64, bool) {
	for _, q := range seqs {
		d := o.decided[q].d
		bi := o.seen.batch(d)
		if bi == nil {
			continue
		}
		for _, r := range bi.b.Requests {
			if r.Body.Client == key.client && r.Body.Timestamp <= key.ts && key.ts-r.Body.Timestamp < uint64(len(r.Body.Ops)) {
				return q, true
			}
		}
	}
	return 0, false
}
