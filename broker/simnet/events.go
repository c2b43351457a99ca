package simnet

import (
	"container/heap"
	"fmt"
)

// Event kinds.
const (
	evTick    = iota // every replica and client ticks; the next tick is scheduled
	evPeer           // msg from replica from to replica to
	evRequest        // client request msg to replica to
	evReply          // reply msg to client to
)

// event is one scheduled delivery.
type event struct {
	at   uint64 // virtual time
	seq  uint64 // insertion order: ties at one time are delivered in order
	kind int
	from uint64
	to   uint64
	msg  []byte
}

// eventHeap orders events by (at, seq).
type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*h = old[:len(old)-1]
	return e
}

// schedule queues e at time at.
func (s *Sim) schedule(at uint64, e event) {
	s.seq++
	e.at, e.seq = at, s.seq
	heap.Push(&s.events, e)
}

// RunUntil runs the simulation until done returns true (checked before the first and
// after every instant of virtual time) or maxSteps events have been delivered, which
// is an error naming the seed.
func (s *Sim) RunUntil(done func() bool, maxSteps int) error {
	steps := 0
	for !done() {
		if steps >= maxSteps {
			return fmt.Errorf("simnet seed=%d: condition not reached after %d events (virtual time %d)", s.opt.Seed, steps, s.now)
		}
		steps += s.runInstant()
	}
	return nil
}

// RunFor runs the simulation for the given number of ticks of virtual time.
func (s *Sim) RunFor(ticks uint64) {
	end := s.now + ticks
	for s.now < end && s.events.Len() > 0 {
		s.runInstant()
	}
}

// runInstant delivers every event of the earliest pending instant, then flushes every
// replica that received something, and returns the number of events delivered.
func (s *Sim) runInstant() int {
	if s.events.Len() == 0 {
		return 1
	}
	s.now = s.events[0].at
	n := 0
	for s.events.Len() > 0 && s.events[0].at == s.now {
		e := heap.Pop(&s.events).(event)
		s.deliver(&e)
		n++
	}
	for i, d := range s.dirty {
		if d {
			s.dirty[i] = false
			s.replicas[i].Flush()
		}
	}
	s.stats.Events += uint64(n)
	return n
}

// deliver hands one event to its recipient.
func (s *Sim) deliver(e *event) {
	switch e.kind {
	case evTick:
		for i, r := range s.replicas {
			if !s.crashed[i] {
				r.Tick()
				s.dirty[i] = true
			}
		}
		s.tickClients()
		s.schedule(s.now+1, event{kind: evTick})
	case evPeer, evRequest:
		if s.crashed[e.to] {
			s.stats.Dropped++
			return
		}
		s.deliverReplica(e)
	case evReply:
		s.stats.Delivered++
		s.clientReply(e.to, e.msg)
	}
}

// deliverReplica hands a broker message or client request to a running replica.
func (s *Sim) deliverReplica(e *event) {
	switch e.kind {
	case evPeer:
		s.stats.Delivered++
		s.replicas[e.to].HandlePeer(e.from, e.msg)
		s.dirty[e.to] = true
	case evRequest:
		s.stats.Delivered++
		s.replicas[e.to].HandleClient(e.msg)
		s.dirty[e.to] = true
	}
}
