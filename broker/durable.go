package broker

import (
	"github.com/splitbft/splitbft/spec"
)

// Ledger is a durable record of what the local exec executed (SPEC.md §13.5;
// broker/ledger implements it). The broker calls every method from its event loop
// only.
type Ledger interface {
	// Observe takes every protocol message the broker routes, either way: raw its
	// exact bytes, body its decoding by spec.DecodeKind.
	Observe(kind uint64, raw []byte, body any)
	// Executed reports that exec executed every batch up to last; batch returns a
	// batch's exact bytes by digest from the broker's cache.
	Executed(last uint64, batch func(spec.Digest) ([]byte, bool))
	// Accepted reports a COMMIT (raw its exact bytes) that the local exec accepted
	// in the Step that just returned, checking its signature (SPEC.md §11.4 E6) under
	// the configuration of digest cd.
	Accepted(kind uint64, raw []byte, cd spec.Digest)
	// Epoch reports that the broker adopted the chain step st (raw its exact
	// encoding: an epoch change or a recovery), which it verified (EC1–EC4 or
	// RC1–RC5, spec.VerifyStep) and which certifies next: from then on
	// the ledger records and checks under next, from next.StartSeq+1 on, and Durable
	// covers next.StartSeq (SPEC.md §13.5, §17.4).
	Epoch(raw []byte, st *spec.Step, next *spec.Config)
	// Durable returns the highest sequence number up to which every batch is on disk
	// (or covered by a recorded checkpoint certificate).
	Durable() uint64
}

// heldReply is a client reply waiting until the batch it answers is durable.
type heldReply struct {
	client, ts uint64
	body       []byte
	last       uint64 // exec's Last after the Step that produced it
	// forgotten: an epoch change adopted while the reply was held removed its client
	// or registered it with other keys (forgetRekeyed). The reply is still sent (the
	// old identity may open it) but counts for nothing at the edge: it must not give
	// the client's new identity the old one's answered timestamp.
	forgotten bool
}

// holdReply keeps a reply of the exec Step in progress (Options.Ledger set).
func (r *Replica) holdReply(client, ts uint64, body []byte) {
	r.stepReplies = append(r.stepReplies, heldReply{client: client, ts: ts, body: body})
}

// endExecStep tags the replies of an exec Step with exec's Last (they answer batches
// up to it, or earlier ones) and releases those now durable.
func (r *Replica) endExecStep() {
	for _, h := range r.stepReplies {
		h.last = r.status[spec.RoleExec].Last
		r.heldBytes += len(h.body)
		if old, dropped := r.held.Push(h); dropped {
			r.dropHeld(old)
		}
		for r.heldBytes > r.opt.HeldReplyBytes && r.held.Len() > 1 { // the oldest go first, as by count
			r.dropHeld(r.held.Pop())
		}
	}
	clear(r.stepReplies)
	r.stepReplies = r.stepReplies[:0]
	r.releaseDurable()
}

// dropHeld drops a held reply (the queue is full): counted, and its request counts as
// answered as when the reply is sent (its timer stops, its budget token returns), for
// exec did answer it; the client's retransmission is answered from exec's cache.
func (r *Replica) dropHeld(h heldReply) {
	r.heldBytes -= len(h.body)
	r.m.QueueDrops++
	if !h.forgotten {
		r.refund(h.client, h.ts)
		r.replied(h.client, h.ts)
	}
}

// releaseDurable sends the held replies whose batches are durable, in order (SPEC.md
// §13.3 obligation 8).
func (r *Replica) releaseDurable() {
	if r.opt.Ledger == nil || r.held.Len() == 0 {
		return
	}
	d := r.opt.Ledger.Durable()
	for r.held.Len() > 0 && r.held.Peek().last <= d {
		h := r.held.Pop()
		r.heldBytes -= len(h.body)
		if h.forgotten {
			r.m.Replies++
			r.net.Reply(h.client, h.body)
			continue
		}
		r.sendReply(h.client, h.ts, h.body)
	}
}

// sendReply hands a reply to its client and stops that request's timer.
func (r *Replica) sendReply(client, ts uint64, body []byte) {
	r.m.Replies++
	r.net.Reply(client, body)
	r.refund(client, ts)
	r.replied(client, ts)
}

// cachedBatch returns a batch's exact bytes from the fetch cache.
func (r *Replica) cachedBatch(d spec.Digest) ([]byte, bool) {
	raw, ok := r.cache[d]
	return raw, ok
}

// reportAccepted tells the Ledger which COMMITs an exec Step accepted (no rejection
// names them), so that it need not check their signatures again (SPEC.md §13.5). It
// follows the configuration exec checks under through the Step: a configure,
// epoch-change or recovery input that exec accepted moves it to the broker's
// configuration (the old epoch's inputs were dropped when the broker adopted the
// step), one it rejected, and a recover input, leave it unknown (an epoch change or
// recovery exec emits itself moves it too: onEpochChangeOutput, onRecoveryOutput).
// It reports nothing for a Step whose rejections do not match its inputs (a
// StepInput exec could not decode), nor for one in which exec emitted a chain step:
// exec switched configurations inside it, and checked the COMMITs after the switch
// under the new one.
func (r *Replica) reportAccepted(ins []spec.Input, outs []spec.Output) {
	rejected := make([]bool, len(ins))
	for i := range outs {
		if k := outs[i].Kind; k == spec.KindEpochChange || k == spec.KindRecovery {
			return
		}
		if outs[i].Kind != spec.KindReject {
			continue
		}
		var rj spec.Rejection
		if spec.Decode(outs[i].Body, &rj, spec.MaxBodyBytes(spec.KindReject)) != nil ||
			rj.Index >= uint64(len(ins)) || rj.Kind != ins[rj.Index].Kind {
			return
		}
		rejected[rj.Index] = true
	}
	for i, in := range ins {
		switch in.Kind {
		case spec.KindConfigure, spec.KindEpochChange, spec.KindRecovery:
			r.execCD = spec.Digest{}
			if !rejected[i] {
				r.execCD = r.cd
			}
		case spec.KindRecover: // replays under the recovered configuration, until its recovery
			r.execCD = spec.Digest{}
		case spec.KindCommit:
			if !rejected[i] && r.execCD == r.cd {
				r.opt.Ledger.Accepted(in.Kind, in.Body, r.cd)
			}
		}
	}
}
