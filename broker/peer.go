package broker

import (
	"github.com/splitbft/splitbft/spec"
)

// tableRoles is the routing table of SPEC.md §13.1 from the receiving side: the local
// compartments a protocol message of each kind is delivered to (spec.KindInfo.Deliver).
func tableRoles(kind uint64) uint64 {
	info, _ := spec.LookupKind(kind)
	return info.Deliver
}

// producerOf is the role that emits each protocol kind (SPEC.md §13.1); an output of
// another kind, or from another role, is not routed.
func producerOf(kind uint64) (spec.Role, bool) {
	info, ok := spec.LookupKind(kind)
	return info.Producer, ok && info.Produced
}

// HandlePeer takes a message from replica from's broker. It is decoded strictly; garbage
// is dropped and counted. Protocol messages are queued for the local compartments by
// the routing table; broker-level messages are answered or recorded.
func (r *Replica) HandlePeer(from uint64, msg []byte) {
	m, body, err := DecodePeer(msg)
	if err != nil {
		r.m.PeerIn++
		r.m.Garbage++
		return
	}
	r.HandlePeerDecoded(from, m, body)
}

// HandlePeerDecoded takes a message from replica from's broker that a host already
// decoded with DecodePeer (on its reader goroutine, say): m and body exactly as
// DecodePeer returned them. The message is not decoded again; m.Body stays the exact
// bytes received and is what compartments and peers get.
func (r *Replica) HandlePeerDecoded(from uint64, m *PeerMsg, body any) {
	r.m.PeerIn++
	if from >= r.cfg.N || from == r.id {
		r.m.Garbage++
		return
	}
	switch v := body.(type) {
	case *spec.Request:
		r.acceptRequest(m.Body, v, true, from)
	case *BatchFetch:
		r.serveFetch(from, v)
	case *Hint:
		r.onHint(from, v)
	case *spec.Batch:
		r.onFetchedBatch(m.Body, v)
	case *spec.EpochChange:
		r.onPeerEpochChange(m.Body, v)
	case *spec.Recovery:
		r.onPeerRecovery(m.Body, v)
	case *spec.Enrollment:
		r.onPeerAttest(from, m.Body, v)
	case *spec.Attestation:
		r.onAttestation(v)
	case *spec.GroupKeyShares:
		r.onShare(v.Shares[0])
	case *spec.StateChunk:
		if !r.status[spec.RoleExec].NeedState {
			r.m.Unwanted++
			return
		}
		r.onChunk(v)
		r.enqueue(spec.RoleExec, spec.KindStateChunk, m.Body)
	default:
		r.observe(m.Kind, m.Body, body)
		r.deliverLocal(m.Kind, m.Body, body, tableRoles(m.Kind), from+1)
	}
}

// execWants reports whether exec may still need the batch proposed for seq: not yet
// executed and within its window (SPEC.md §11.4). Other batches would only occupy its
// bounded store (until the batch age rule of §11.6 drops them).
//
// SPEC-AMBIGUITY: §13.1 says to deliver every proposal's Batch to every exec. A
// retransmitted proposal for an executed seq would be stored again (E2 only checks
// the store), and enough of them fill the 2L store within one window, which the age
// rule cannot clear while the checkpoint is stuck: the broker filters them. Empty
// batches (never valid in a proposal) are not delivered either (E1 rejects them).
func (r *Replica) execWants(seq uint64) bool {
	e := &r.status[spec.RoleExec]
	return seq > e.Last && seq <= e.Stable+r.cfg.Window
}

// deliverLocal queues a protocol message for the local compartments in mask, splitting
// a proposal into its header for conf and its batch for exec (SPEC.md §13.1). The
// parts are sub-slices of the proposal's exact bytes (spec.ProposalPartsRaw), which
// equal their encodings because the proposal passed the round-trip gate. from is
// input.from: a peer's message is not delivered to a compartment at which that peer
// used up its budget of bad signatures (junkMask).
func (r *Replica) deliverLocal(kind uint64, raw []byte, body any, mask uint64, from uint64) {
	if from > 0 {
		mask = r.junkMask(from-1, mask)
	}
	if kind == spec.KindProposal {
		p := body.(*spec.Proposal)
		header, batch, err := spec.ProposalPartsRaw(raw)
		if err != nil { // cannot happen for a body that decoded as a proposal
			r.m.Garbage++
			return
		}
		if mask&spec.ToPrep != 0 {
			r.push(spec.RolePrep, input{Input: spec.Input{Kind: spec.KindProposal, Body: raw}, from: from})
		}
		if mask&spec.ToConf != 0 {
			s := &p.Header.Body
			r.push(spec.RoleConf, input{Input: spec.Input{Kind: spec.KindPrePrepare, Body: header}, from: from, view: s.View, seq: s.Seq, digest: s.Digest, sender: s.Replica})
		}
		if s := &p.Header.Body; mask&spec.ToExec != 0 && len(p.Batch.Requests) > 0 && r.execWants(s.Seq) {
			r.push(spec.RoleExec, input{Input: spec.Input{Kind: spec.KindBatch, Body: batch}, from: from, view: s.View, seq: s.Seq, digest: s.Digest, sender: s.Replica})
		}
		return
	}
	in := input{Input: spec.Input{Kind: kind, Body: raw}, from: from}
	in.view, in.seq, in.digest, in.sender = slotOf(body)
	for role := spec.RolePrep; role <= spec.RoleExec; role++ {
		if mask&(1<<role) != 0 {
			r.push(role, in)
		}
	}
}
