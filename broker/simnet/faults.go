package simnet

import (
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// LinkFault describes what the network does to messages on a link. The zero value is
// a perfect link.
type LinkFault struct {
	Drop      float64 // probability that a message is lost
	Duplicate float64 // probability that a second copy is delivered (with its own delay)
	Delay     uint64  // extra delay, uniform in 0..Delay ticks (reorders messages)
	// Mutate, if set, rewrites a broker message's body (its PeerMsg kind is given) or a
	// client message (kind spec.KindRequest or spec.KindReply) before delivery. body is
	// shared with the sender's retransmission ring and the other receivers' decoded
	// values: Mutate returns a new slice and never changes body in place.
	Mutate func(kind uint64, body []byte) []byte
	// Hold, if set, selects broker messages (by PeerMsg kind and body) that the network
	// withholds until Sim.Release: an arbitrarily long, test-controlled delay. It only
	// reads body (shared, as Mutate's).
	Hold func(kind uint64, body []byte) bool
}

// network holds the link faults and partition.
type network struct {
	links      [][]LinkFault // [from][to] between replicas
	clientLink LinkFault     // every client ↔ replica link
	group      []int         // partition group per replica; nil: no partition
}

func (n *network) init(replicas uint64) {
	n.links = make([][]LinkFault, replicas)
	for i := range n.links {
		n.links[i] = make([]LinkFault, replicas)
	}
}

// SetLink sets the fault of the link from one replica's broker to another's.
func (s *Sim) SetLink(from, to uint64, f LinkFault) { s.net.links[from][to] = f }

// SetAllLinks sets the fault of every link between replicas.
func (s *Sim) SetAllLinks(f LinkFault) {
	for i := range s.net.links {
		for j := range s.net.links[i] {
			s.net.links[i][j] = f
		}
	}
}

// SetClientLinks sets the fault of every link between a client and a replica.
func (s *Sim) SetClientLinks(f LinkFault) { s.net.clientLink = f }

// Partition splits the replicas into groups that cannot reach each other; a replica in
// no group is isolated. Clients still reach every replica.
func (s *Sim) Partition(groups ...[]uint64) {
	s.net.group = make([]int, s.cfg.N)
	for i := range s.net.group {
		s.net.group[i] = -1 - i
	}
	for g, members := range groups {
		for _, r := range members {
			s.net.group[r] = g
		}
	}
}

// Heal removes the partition.
func (s *Sim) Heal() { s.net.group = nil }

// transmit applies a link fault to one message and schedules its copies.
func (s *Sim) transmit(f *LinkFault, e event, kind uint64) {
	if f.Drop > 0 && s.rng.Float64() < f.Drop {
		s.stats.Dropped++
		return
	}
	copies := 1
	if f.Duplicate > 0 && s.rng.Float64() < f.Duplicate {
		copies = 2
		s.stats.Duplicated++
	}
	if f.Mutate != nil {
		if m := f.Mutate(kind, e.msg); m != nil {
			s.stats.Mutated++
			e.msg = m
		}
	}
	for range copies {
		d := s.latency()
		if f.Delay > 0 {
			d += s.rng.Uint64N(f.Delay + 1)
		}
		s.schedule(s.now+d, e)
	}
}

// sendPeer sends a broker message between replicas through the link fault.
func (s *Sim) sendPeer(from, to uint64, msg []byte) {
	s.obs.peerMsg(from, msg) // as sent, before the network touches it
	if s.opt.OnPeer != nil {
		s.opt.OnPeer(from, to, msg)
	}
	if to >= s.cfg.N {
		s.stats.Dropped++
		return
	}
	if g := s.net.group; g != nil && g[from] != g[to] {
		s.stats.Partitioned++
		return
	}
	f := &s.net.links[from][to]
	if s.hold(f, from, to, msg) {
		return
	}
	kind := uint64(0)
	if f.Mutate != nil {
		if m, _, err := broker.DecodePeer(msg); err == nil {
			kind = m.Kind
			inner, orig := *f, f.Mutate
			inner.Mutate = func(k uint64, _ []byte) []byte {
				b := orig(k, m.Body)
				if b == nil {
					return nil
				}
				return broker.EncodePeer(k, b)
			}
			f = &inner
		}
	}
	s.transmit(f, event{kind: evPeer, from: from, to: to, msg: msg}, kind)
}

// replicaNet is the broker.Net of one replica.
type replicaNet struct {
	s  *Sim
	id uint64
}

func (n *replicaNet) Send(to uint64, msg []byte) { n.s.sendPeer(n.id, to, msg) }

func (n *replicaNet) Reply(c uint64, reply []byte) {
	n.s.transmit(&n.s.net.clientLink, event{kind: evReply, from: n.id, to: c, msg: reply}, spec.KindReply)
}

// DeliveryFault describes what a malicious broker does to the inputs it delivers to
// one compartment. The zero value delivers faithfully.
type DeliveryFault struct {
	Drop      float64                               // probability that an input is withheld
	Duplicate float64                               // probability that an input is delivered twice in a row
	Delay     float64                               // probability that an input is held back until the next Step
	Reorder   bool                                  // shuffle the inputs of every Step
	Mutate    func(kind uint64, body []byte) []byte // rewrites an input's body (nil result: unchanged)
}

// active reports whether the fault changes anything.
func (f *DeliveryFault) active() bool {
	return f.Drop > 0 || f.Duplicate > 0 || f.Delay > 0 || f.Reorder || f.Mutate != nil
}

// SetDelivery sets the delivery fault of compartment id.
func (s *Sim) SetDelivery(id EnclaveID, f DeliveryFault) { s.hooks[id.Replica][id.Role].fault = f }

// SetEnclave replaces compartment id's enclave by wrap(current enclave), e.g. a
// Byzantine wrapper, from the next Step on.
func (s *Sim) SetEnclave(id EnclaveID, wrap func(real broker.Enclave) broker.Enclave) {
	h := s.hooks[id.Replica][id.Role]
	h.inner = wrap(h.inner)
}

// hooked is the enclave the broker sees: it applies the delivery fault, then calls the
// (possibly Byzantine) inner enclave.
type hooked struct {
	sim   *Sim
	id    EnclaveID
	inner broker.Enclave
	fault DeliveryFault
	held  []spec.Input // inputs delayed to the next Step; ≤ maxHeld
}

// maxHeld bounds the inputs a delivery fault holds back.
const maxHeld = 1024

func (h *hooked) Init(req []byte) ([]byte, error) { return h.inner.Init(req) }

func (h *hooked) Step(in []byte) ([]byte, error) {
	if h.fault.active() || len(h.held) > 0 {
		in = h.tamper(in)
	}
	out, err := h.inner.Step(in)
	if log := h.sim.execLogs; log != nil && h.id.Role == spec.RoleExec && err == nil {
		log[h.id.Replica].step(h.sim, in, out)
	}
	return out, err
}

// tamper applies the delivery fault to a StepInput: held inputs first, then each
// input dropped, held back, mutated or duplicated, then the whole shuffled.
func (h *hooked) tamper(in []byte) []byte {
	var si spec.StepInput
	if spec.Decode(in, &si, spec.MaxMessageBytes) != nil {
		return in
	}
	rng, f := h.sim.rng, &h.fault
	kept := h.held
	h.held = nil
	for _, x := range si.Inputs {
		switch {
		case f.Drop > 0 && rng.Float64() < f.Drop:
			continue
		case f.Delay > 0 && len(h.held) < maxHeld && rng.Float64() < f.Delay:
			h.held = append(h.held, x)
			continue
		}
		if f.Mutate != nil {
			if b := f.Mutate(x.Kind, x.Body); b != nil {
				x.Body = b
			}
		}
		kept = append(kept, x)
		if f.Duplicate > 0 && rng.Float64() < f.Duplicate {
			kept = append(kept, x)
		}
	}
	if f.Reorder {
		rng.Shuffle(len(kept), func(i, j int) { kept[i], kept[j] = kept[j], kept[i] })
	}
	if len(kept) > spec.MaxStepInputs {
		h.held = append(h.held, kept[spec.MaxStepInputs:]...)
		kept = kept[:spec.MaxStepInputs]
	}
	return spec.Encode(&spec.StepInput{Inputs: kept})
}

// Byzantine is an enclave that runs the real one and lets a test rewrite what it
// outputs: Rewrite may change, drop or add outputs (it must keep a final status for
// the broker to stay informed, or not — a Byzantine enclave may lie). Outputs it adds
// can be signed with the real enclave's key, learned through EnclaveRand.
type Byzantine struct {
	Real    broker.Enclave
	Rewrite func(in *spec.StepInput, out *spec.StepOutput)
}

// Init passes through.
func (b *Byzantine) Init(req []byte) ([]byte, error) { return b.Real.Init(req) }

// Step runs the real enclave, then Rewrite.
func (b *Byzantine) Step(in []byte) ([]byte, error) {
	raw, err := b.Real.Step(in)
	if err != nil || b.Rewrite == nil {
		return raw, err
	}
	var si spec.StepInput
	var so spec.StepOutput
	if spec.Decode(in, &si, spec.MaxMessageBytes) != nil || spec.Decode(raw, &so, spec.MaxMessageBytes) != nil {
		return raw, nil
	}
	b.Rewrite(&si, &so)
	return spec.Encode(&so), nil
}
