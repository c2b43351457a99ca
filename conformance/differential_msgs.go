package conformance

import (
	"math"

	"github.com/splitbft/splitbft/spec"
)

// This file builds the differential generator's normal-case inputs: requests and
// batches, proposals, pre-prepares, prepares, checkpoints, suspicions, and the
// malformed inputs. Each is valid by default and spoiled by one mutation with some
// probability, so that every accept rule is hit from both sides.

// Mutations of a signed slot message (proposal header, pre-prepare, prepare).
const (
	mutNone = iota
	mutViewUp
	mutViewDown
	mutSeqHigh
	mutSeqLow
	mutUnknownSender
	mutOtherSender
	mutDigest
	mutBadSig
	mutWrongDomain
	mutCount
)

// mutation returns mutNone, or with probability pct percent a random slot mutation.
func (w *world) mutation(pct int) int {
	if !w.chance(pct) {
		return mutNone
	}
	return 1 + w.rng.IntN(mutCount-1)
}

// signSlot applies mutation m to s and signs it as the prep of s.Replica.
func (w *world) signSlot(domain string, s spec.Slot, m int) (spec.Slot, spec.Signature) {
	switch m {
	case mutViewUp:
		s.View++
	case mutViewDown:
		s.View = max(s.View, 1) - 1
	case mutSeqHigh:
		s.Seq = w.h + w.fx.Params.L + 1 + w.rng.Uint64N(3)
	case mutSeqLow:
		s.Seq = w.h - min(w.h, w.rng.Uint64N(2))
	case mutUnknownSender:
		s.Replica = w.n + w.rng.Uint64N(3)
	case mutOtherSender:
		s.Replica = (s.Replica + 1 + w.rng.Uint64N(w.n-1)) % w.n
	case mutDigest:
		s.Digest = w.digest()
	case mutWrongDomain:
		domain = spec.DomainCommit
	}
	sig := w.fx.Sign(spec.RolePrep, min(s.Replica, w.n-1), domain, &s)
	if m == mutBadSig {
		w.flip(sig[:])
	}
	return s, sig
}

// flip flips one random bit of b.
func (w *world) flip(b []byte) {
	if len(b) > 0 {
		b[w.rng.IntN(len(b))] ^= 1 << w.rng.IntN(8)
	}
}

// digest returns one of a few fixed digests, so that equal digests recur.
func (w *world) digest() spec.Digest {
	return spec.Hash("splitbft/v1/differential-digest", spec.U64(w.rng.Uint64N(4)))
}

// request returns a client request, spoiled with probability pct percent, and
// whether it is valid (R1–R5).
func (w *world) request(pct int) (spec.Request, bool) {
	p := w.fx.Params
	ci := w.rng.IntN(len(w.ts))
	ts := w.ts[ci] + 1
	body := spec.RequestBody{Client: w.fx.Clients()[ci].ID, Timestamp: ts}
	for range 1 + w.rng.IntN(int(min(p.MaxOps, 2))) {
		body.Ops = append(body.Ops, w.op(17+w.rng.IntN(48)))
	}
	m := 0
	if w.chance(pct) {
		m = 1 + w.rng.IntN(8)
	}
	switch m {
	case 1:
		body.Client = 999 // not registered
	case 2:
		body.Ops = nil
	case 3:
		for uint64(len(body.Ops)) <= p.MaxOps {
			body.Ops = append(body.Ops, w.op(17))
		}
	case 4:
		body.Ops[0] = w.op(16)
	case 5:
		body.Ops[0] = w.op(int(p.MaxOpBytes) + 1)
	case 6:
		body.Timestamp = 0
	case 7: // the second op's timestamp overflows (every episode has MaxOps ≥ 2)
		body.Ops = append(body.Ops[:1], w.op(17))
		body.Timestamp = math.MaxUint64
	}
	w.ts[ci] = ts + uint64(len(body.Ops))
	r := w.fx.SignRequest(ci, body)
	if m == 8 {
		w.flip(r.Sig[:])
	}
	return r, m == 0
}

// op returns a sealed operation of n random bytes (prep never opens it).
func (w *world) op(n int) spec.SealedOp {
	op := spec.SealedOp{Ciphertext: make([]byte, n)}
	for i := range op.Ciphertext {
		op.Ciphertext[i] = byte(w.rng.Uint32())
	}
	op.Nonce[0] = byte(n)
	return op
}

// batch returns a batch and the batch of its valid requests.
func (w *world) batch() (b, valid spec.Batch) {
	count := 1 + w.rng.IntN(3)
	switch w.pick(94, 3, 3) {
	case 1:
		count = 0
	case 2:
		count = int(w.fx.Params.MaxBatch) + 1
	}
	for range count {
		r, ok := w.request(12)
		b.Requests = append(b.Requests, r)
		if ok {
			valid.Requests = append(valid.Requests, r)
		}
	}
	return b, valid
}

// clientBatch is a client-batch for the primary prep.
func (w *world) clientBatch() spec.Input {
	if w.next > w.h+w.fx.Params.L && w.chance(60) {
		return w.checkpoint() // mostly move the window before overrunning it
	}
	b, valid := w.batch()
	ok := len(valid.Requests) > 0 && uint64(len(b.Requests)) <= w.fx.Params.MaxBatch
	if ok && w.fx.Primary(w.v) == w.id && w.next <= w.h+w.fx.Params.L {
		w.accept(proposed{view: w.v, seq: w.next, digest: spec.BatchDigest(&valid)})
	}
	return In(spec.KindClientBatch, &b)
}

// proposal is the primary's proposal to a backup prep: the next sequence number, or
// an already used one (duplicate or conflict).
func (w *world) proposal() spec.Input {
	if w.next > w.h+w.fx.Params.L && w.chance(60) {
		return w.checkpoint() // mostly move the window before overrunning it
	}
	b, valid := w.batch()
	s := spec.Slot{View: w.v, Seq: w.next, Digest: spec.BatchDigest(&b), Replica: w.fx.Primary(w.v)}
	if p, ok := w.current(); ok && w.chance(15) {
		s.Seq = p.seq
	}
	m := w.mutation(25)
	s, sig := w.signSlot(spec.DomainPrePrepare, s, m)
	if m == mutNone && s.Seq == w.next && len(valid.Requests) == len(b.Requests) && len(b.Requests) > 0 &&
		uint64(len(b.Requests)) <= w.fx.Params.MaxBatch && s.Seq <= w.h+w.fx.Params.L {
		w.accept(proposed{view: s.View, seq: s.Seq, digest: s.Digest})
	}
	return In(spec.KindProposal, &spec.Proposal{Header: spec.PrePrepare{Body: s, Sig: sig}, Batch: b})
}

// prePrepare is a primary's PRE-PREPARE header for conf.
func (w *world) prePrepare() spec.Input {
	if w.next > w.h+w.fx.Params.L && w.chance(60) {
		return w.checkpoint() // mostly move the window before overrunning it
	}
	s := spec.Slot{View: w.v, Seq: w.next, Digest: w.digest(), Replica: w.fx.Primary(w.v)}
	if p, ok := w.current(); ok && w.chance(15) {
		s.Seq = p.seq
	}
	m := w.mutation(25)
	s, sig := w.signSlot(spec.DomainPrePrepare, s, m)
	if m == mutNone && w.active && s.Seq == w.next && s.Seq <= w.h+w.fx.Params.L {
		w.accept(proposed{view: s.View, seq: s.Seq, digest: s.Digest})
	}
	return In(spec.KindPrePrepare, &spec.PrePrepare{Body: s, Sig: sig})
}

// prepare is a backup prep's PREPARE for conf, mostly for a known pre-prepare.
func (w *world) prepare() spec.Input {
	p, ok := w.current()
	if !ok {
		p = proposed{view: w.v, seq: w.next, digest: w.digest()}
	}
	r := (w.fx.Primary(w.v) + 1 + w.rng.Uint64N(w.n-1)) % w.n
	s := spec.Slot{View: p.view, Seq: p.seq, Digest: p.digest, Replica: r}
	if w.chance(10) {
		s.Digest = w.digest()
	}
	s, sig := w.signSlot(spec.DomainPrepare, s, w.mutation(20))
	return In(spec.KindPrepare, &spec.Prepare{Body: s, Sig: sig})
}

// trueState is the state digest every correct exec reports at seq in this episode.
func trueState(seq uint64) spec.Digest {
	return spec.Hash("splitbft/v1/differential-state", spec.U64(seq))
}

// checkpoint is an exec's CHECKPOINT, near or beyond the window.
func (w *world) checkpoint() spec.Input {
	k, l := w.fx.Params.K, w.fx.Params.L
	seq := w.h + k*(1+w.rng.Uint64N(l/k+2))
	if w.chance(50) {
		seq = w.h + k*(1+w.rng.Uint64N(2)) // next to the window's bottom, so that it moves
	}
	r := w.rng.Uint64N(w.n)
	state := trueState(seq)
	m := w.pick(70, 6, 5, 4, 5, 5, 5)
	switch m {
	case 1:
		state = spec.Hash("splitbft/v1/differential-alt", spec.U64(seq))
	case 2:
		seq++ // not a multiple of K when K > 1
	case 3:
		seq = 0
	case 4:
		r = w.n
	case 6:
		seq = w.h
	}
	body := spec.CheckpointBody{Seq: seq, State: state, Replica: r}
	c := spec.Checkpoint{Body: body, Sig: w.fx.Sign(spec.RoleExec, min(r, w.n-1), spec.DomainCheckpoint, &body)}
	if m == 5 {
		w.flip(c.Sig[:])
	}
	if m == 0 {
		w.countCheckpoint(seq, r)
	}
	return In(spec.KindCheckpoint, &c)
}

// countCheckpoint records a true checkpoint and makes it stable at q senders. A
// sender keeps at most one far checkpoint (beyond h + L) and only a higher one
// replaces it (§8.3, CP7).
func (w *world) countCheckpoint(seq, r uint64) {
	if seq > w.h+w.fx.Params.L {
		old, ok := w.far[r]
		if ok && old >= seq {
			return
		}
		if ok {
			w.cps[old] = removeU64(w.cps[old], r)
		}
		w.far[r] = seq
	}
	senders := w.cps[seq]
	for _, s := range senders {
		if s == r {
			return
		}
	}
	senders = append(senders, r)
	w.cps[seq] = senders
	if uint64(len(senders)) < w.q {
		return
	}
	signers := sortedU64(senders)[:w.q]
	w.setStable(w.fx.CheckpointCert(seq, trueState(seq), signers...))
}

func removeU64(in []uint64, x uint64) []uint64 {
	var out []uint64
	for _, v := range in {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

func sortedU64(in []uint64) []uint64 {
	out := append([]uint64{}, in...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// suspect is the broker's suspicion for conf: mostly the current view.
func (w *world) suspect() spec.Input {
	v := w.v
	switch w.pick(80, 10, 10) {
	case 1:
		v++
	case 2:
		v = max(v, 1) - 1
	}
	if v == w.v {
		w.v, w.active, w.vcView = w.v+1, false, w.v+1
	}
	return In(spec.KindSuspect, &spec.Suspect{View: v})
}
