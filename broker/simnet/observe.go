package simnet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// observer watches the CHECKPOINTs that execs send, to compare replicas' states.
type observer struct {
	// states[seq][replica] is the State of the CHECKPOINT exec replica sent for seq
	// (first one seen). Only the maxObserved highest seqs are kept.
	states map[uint64]map[uint64]spec.Digest
	// conflicts lists every (seq, replica) whose exec sent two different States.
	conflicts []string
}

const maxObserved = 4096

func (o *observer) init(uint64) { o.states = map[uint64]map[uint64]spec.Digest{} }

// peerMsg records the checkpoint in a message replica from's broker sent, if it is
// that replica's own exec's.
func (o *observer) peerMsg(from uint64, msg []byte) {
	m, body, err := broker.DecodePeer(msg)
	if err != nil || m.Kind != spec.KindCheckpoint {
		return
	}
	c := body.(*spec.Checkpoint)
	if c.Body.Replica != from {
		return
	}
	byRep := o.states[c.Body.Seq]
	if byRep == nil {
		byRep = map[uint64]spec.Digest{}
		o.states[c.Body.Seq] = byRep
		o.prune(c.Body.Seq)
	}
	if d, ok := byRep[from]; ok && d != c.Body.State {
		o.conflicts = append(o.conflicts, fmt.Sprintf("seq %d replica %d: %x and %x", c.Body.Seq, from, d[:4], c.Body.State[:4]))
	}
	if _, ok := byRep[from]; !ok {
		byRep[from] = c.Body.State
	}
}

// prune drops the lowest seqs beyond maxObserved.
func (o *observer) prune(newest uint64) {
	if len(o.states) <= maxObserved {
		return
	}
	for s := range o.states {
		if s+maxObserved < newest {
			delete(o.states, s)
		}
	}
}

// CheckAgreement verifies safety as far as checkpoints show it: for every checkpoint
// seq, the execs of all replicas not in exclude (the faulty ones) reported the same
// state digest, and none reported two. It returns an error naming the seed.
func (s *Sim) CheckAgreement(exclude ...uint64) error {
	var bad []string
	bad = append(bad, s.obs.conflicts...)
	seqs := make([]uint64, 0, len(s.obs.states))
	for q := range s.obs.states {
		seqs = append(seqs, q)
	}
	slices.Sort(seqs)
	for _, q := range seqs {
		var first *spec.Digest
		for r := range s.cfg.N {
			d, ok := s.obs.states[q][r]
			if !ok || slices.Contains(exclude, r) {
				continue
			}
			if first == nil {
				first = &d
			} else if *first != d {
				bad = append(bad, fmt.Sprintf("seq %d: replica %d state %x differs", q, r, d[:4]))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("simnet seed=%d: disagreement: %s", s.opt.Seed, strings.Join(bad, "; "))
	}
	return nil
}

// StateDigest summarises one replica's execution state.
type StateDigest struct {
	Replica     uint64
	Last        uint64      // exec Status.Last: last executed seq
	Stable      uint64      // exec Status.Stable: its stable checkpoint seq h
	StableState spec.Digest // the state digest execs reported for Stable (zero if unseen)
	App         string      // the application digest from exec's DebugState, if it shows one
}

// StateDigests returns every replica's StateDigest, for comparing replicas.
func (s *Sim) StateDigests() []StateDigest {
	out := make([]StateDigest, s.cfg.N)
	for r := range s.cfg.N {
		st := s.replicas[r].Status()[spec.RoleExec]
		out[r] = StateDigest{Replica: r, Last: st.Last, Stable: st.Stable, App: appDigest(s.comps[r][spec.RoleExec])}
		// Its own checkpoint's digest, or (after a state transfer, when it sent none for
		// that seq) the next replica's that sent one.
		for q := range s.cfg.N {
			if d, ok := s.obs.states[st.Stable][(r+q)%s.cfg.N]; ok {
				out[r].StableState = d
				break
			}
		}
	}
	return out
}

// debugStater is implemented by compartments that can dump their state.
type debugStater interface{ DebugState() string }

// DebugState returns the compartment's DebugState text, or "" if it has none.
func (s *Sim) DebugState(id EnclaveID) string {
	if d, ok := s.comps[id.Replica][id.Role].(debugStater); ok {
		return d.DebugState()
	}
	return ""
}

// appDigest extracts the "app=<hex>" token of an exec's DebugState, if any.
func appDigest(c spec.Compartment) string {
	d, ok := c.(debugStater)
	if !ok {
		return ""
	}
	for _, f := range strings.Fields(d.DebugState()) {
		if v, ok := strings.CutPrefix(f, "app="); ok {
			return v
		}
	}
	return ""
}
