package broker

import "github.com/splitbft/splitbft/spec"

// recoveryHostOf is the replica as its catch-up sees it (recoveryHost).
type recoveryHostOf struct{ r *Replica }

func (h recoveryHostOf) now() uint64                        { return h.r.now }
func (h recoveryHostOf) status(role spec.Role) *spec.Status { return &h.r.status[role] }
func (h recoveryHostOf) statuses() *[3]spec.Status          { return &h.r.status }
func (h recoveryHostOf) toExec(kind uint64, body []byte)    { h.r.enqueue(spec.RoleExec, kind, body) }
func (h recoveryHostOf) sendPeer(to uint64, msg []byte)     { h.r.sendPeer(to, msg) }
func (h recoveryHostOf) broadcast(msg []byte)               { h.r.broadcast(msg) }
func (h recoveryHostOf) hasWork() bool                      { return h.r.hasWork() }
