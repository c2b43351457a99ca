package simnet

import (
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// This file holds the scripted-fault hooks of the scenario tests: crashing a replica,
// withholding selected broker messages until the test releases them, and injecting
// messages or compartment inputs as a faulty network or a faulty broker would.

// Crash stops replica i for good, as a crashed host: from now on it gets no ticks and
// no deliveries (messages and requests to it are dropped and counted), so its broker
// and compartments never run again. Messages it sent before the crash are still in
// flight and arrive.
func (s *Sim) Crash(i uint64) { s.crashed[i] = true }

// Crashed reports whether replica i was crashed.
func (s *Sim) Crashed(i uint64) bool { return s.crashed[i] }

// withheldMsg is a broker message a LinkFault.Hold kept back.
type withheldMsg struct {
	from, to uint64
	msg      []byte
}

// Withheld returns the number of broker messages held back by LinkFault.Hold and not
// yet released.
func (s *Sim) Withheld() int { return len(s.withheld) }

// Release ends the hold on every message held back by LinkFault.Hold: those for which
// deliver(from, to) is true (all, if deliver is nil) are delivered after the usual
// latency (no other link fault applies, and a crashed receiver drops them); the others
// are lost. It returns how many were delivered.
func (s *Sim) Release(deliver func(from, to uint64) bool) int {
	held := s.withheld
	s.withheld = nil
	n := 0
	for _, w := range held {
		if deliver == nil || deliver(w.from, w.to) {
			s.schedule(s.now+s.latency(), event{kind: evPeer, from: w.from, to: w.to, msg: w.msg})
			n++
		}
	}
	return n
}

// InjectPeer delivers msg (an encoded broker.PeerMsg) to replica to's broker as if
// replica from's broker had sent it, after the usual latency and bypassing link faults
// and partitions: a faulty broker at from, or a network replaying old traffic.
func (s *Sim) InjectPeer(from, to uint64, msg []byte) {
	s.schedule(s.now+s.latency(), event{kind: evPeer, from: from, to: to, msg: msg})
}

// InjectInput makes replica id.Replica's broker hand compartment id one extra input at
// the start of its next Step (a faulty broker replaying or forging inputs at the enclave
// boundary). The real broker does not know about it: a rejection of it is counted but
// its index may name another of the broker's inputs.
func (s *Sim) InjectInput(id EnclaveID, kind uint64, body []byte) {
	h := s.hooks[id.Replica][id.Role]
	h.held = append(h.held, spec.Input{Kind: kind, Body: body})
}

// latency draws one message's network latency.
func (s *Sim) latency() uint64 {
	return s.opt.MinLatency + s.rng.Uint64N(s.opt.MaxLatency-s.opt.MinLatency+1)
}

// hold applies a link's Hold predicate to a broker message and keeps it back if the
// predicate selects it; it reports whether it did.
func (s *Sim) hold(f *LinkFault, from, to uint64, msg []byte) bool {
	if f.Hold == nil {
		return false
	}
	var m broker.PeerMsg
	if spec.Decode(msg, &m, spec.MaxMessageBytes+64) != nil || !f.Hold(m.Kind, m.Body) {
		return false
	}
	s.withheld = append(s.withheld, withheldMsg{from: from, to: to, msg: msg})
	return true
}
