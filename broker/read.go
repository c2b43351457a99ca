package broker

import "github.com/splitbft/splitbft/spec"

// This file carries the fast read path (SPEC.md §16.6, routing rows of §13.1): a READ
// from a client goes to this replica's own exec only, and the exec's READ-REPLY goes
// back to the client. Nothing here can affect safety: a read changes no state, and the
// client checks every reply.

// HandleRead takes an encoded client READ and queues it for the local exec. A READ
// that does not decode is dropped and counted; so is one arriving while the exec's
// queue is half full, so that reads never push protocol messages out of it.
func (r *Replica) HandleRead(raw []byte) {
	var m spec.Read
	if err := spec.Decode(raw, &m, spec.MaxBodyBytes(spec.KindRead)); err != nil {
		r.m.BadRequests++
		return
	}
	if 2*(r.in[spec.RoleExec].Len()+r.gates[spec.RoleExec].held) >= r.opt.QueueLimit { // held inputs count towards the bound (gate.go)
		r.m.QueueDrops++
		return
	}
	r.m.Reads++
	r.enqueue(spec.RoleExec, spec.KindRead, raw)
}

// onReadReply hands an exec's READ-REPLY to its client.
func (r *Replica) onReadReply(role spec.Role, body []byte) {
	var rep spec.ReadReply
	if role != spec.RoleExec || spec.Decode(body, &rep, spec.MaxBodyBytes(spec.KindReadReply)) != nil {
		r.m.Garbage++
		return
	}
	r.m.ReadReplies++
	r.net.Reply(rep.Client, body)
}
