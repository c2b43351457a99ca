package agreea

import (
	"fmt"
	"maps"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// Checkpoints is the checkpoint state every compartment keeps (SPEC.md §8.3): the
// stable sequence number h, its certificate, and the store of accepted CHECKPOINTs.
// The zero value is not usable: start from NewCheckpoints. Every call gets the
// compartment's configuration (cfg, cd), the same on every call: it is fixed at
// configure. The role-specific effect of a new stable checkpoint (§9.5, §10.5) is
// the caller's, after Stabilize.
type Checkpoints struct {
	h      uint64              // stable sequence number: 0 or a multiple of K
	stable spec.CheckpointCert // certificate of h; the genesis certificate while h == 0
	// store[r][s] is the checkpoint accepted from exec r for seq s. Invariant: every
	// s > h; per sender at most one s > h + L (its "far" checkpoint); so at most
	// n·(L/K + 1) entries; no inner map is empty.
	store map[uint64]map[uint64]spec.Checkpoint
}

// NewCheckpoints returns the state after configure in epoch 0: h = 0, the genesis
// certificate, an empty store.
func NewCheckpoints() Checkpoints {
	return Checkpoints{store: map[uint64]map[uint64]spec.Checkpoint{}}
}

// NewCheckpointsAt returns the state after configure or an epoch change (SPEC.md
// §8.1, §17.4): the epoch's genesis certificate g is stable (h = g.Seq), the store is
// empty.
func NewCheckpointsAt(g spec.CheckpointCert) Checkpoints {
	return Checkpoints{h: g.Seq, stable: g, store: map[uint64]map[uint64]spec.Checkpoint{}}
}

// H returns the stable sequence number h.
func (cp *Checkpoints) H() uint64 { return cp.h }

// Stable returns the certificate of h (the genesis certificate while h == 0). Its
// Proof is shared with the state: the caller must not modify it.
func (cp *Checkpoints) Stable() spec.CheckpointCert { return cp.stable }

// Receive handles a CHECKPOINT input c (§8.3) under the validated configuration cfg
// with digest cd. If c fails one of CP1–CP7 it returns that line's reject code and
// changes nothing. Otherwise it stores c, replacing its sender's previous far
// checkpoint if c is far itself, and returns code 0 and, if q senders now hold c's
// (Seq, State), the certificate that makes it stable (else nil): the caller then
// passes it to Stabilize and applies its role's effect.
func (cp *Checkpoints) Receive(cfg *spec.Config, cd spec.Digest, c *spec.Checkpoint) (*spec.CheckpointCert, uint64) {
	if code := cp.check(cfg, cd, c); code != 0 {
		return nil, code
	}
	return cp.add(c, cfg), 0
}

// check applies CP1–CP7, in order, to c and returns 0 or the reject code of the first
// line c fails.
func (cp *Checkpoints) check(cfg *spec.Config, cd spec.Digest, c *spec.Checkpoint) uint64 {
	b := &c.Body
	switch {
	case b.Replica >= cfg.N:
		return spec.CodeUnknownSender // CP1
	case b.Seq == 0 || b.Seq%cfg.CheckpointInterval != 0:
		return spec.CodeBadCheckpoint // CP2
	case b.Seq <= cp.h:
		return spec.CodeStale // CP3
	case !VerifySender(cfg, cd, spec.RoleExec, b.Replica, spec.DomainCheckpoint, b, c.Sig):
		return spec.CodeBadSignature // CP4
	}
	if old, ok := cp.store[b.Replica][b.Seq]; ok {
		if old.Body.State == b.State {
			return spec.CodeDuplicate // CP5
		}
		return spec.CodeConflict // CP6
	}
	if !InWindow(b.Seq, cp.h, cfg.Window) {
		if far, ok := cp.far(b.Replica, cfg.Window); ok && far >= b.Seq {
			return spec.CodeStale // CP7
		}
	}
	return 0
}

// far returns the seq of sender r's stored far checkpoint (s > h + l), if any.
func (cp *Checkpoints) far(r, l uint64) (uint64, bool) {
	for s := range cp.store[r] {
		if !InWindow(s, cp.h, l) {
			return s, true
		}
	}
	return 0, false
}

// add stores c, which passed check, replacing its sender's previous far checkpoint if
// c is far itself, and returns the certificate that makes c's (Seq, State) stable if q
// senders now hold it, else nil.
func (cp *Checkpoints) add(c *spec.Checkpoint, cfg *spec.Config) *spec.CheckpointCert {
	b := &c.Body
	if !InWindow(b.Seq, cp.h, cfg.Window) {
		if s, ok := cp.far(b.Replica, cfg.Window); ok {
			delete(cp.store[b.Replica], s)
		}
	}
	if cp.store[b.Replica] == nil {
		cp.store[b.Replica] = map[uint64]spec.Checkpoint{}
	}
	cp.store[b.Replica][b.Seq] = *c
	return cp.certificate(b.Seq, b.State, cfg.Quorum())
}

// certificate returns the certificate of (seq, state) from the q matching stored
// checkpoints of the lowest replica ids, or nil if fewer than q match.
func (cp *Checkpoints) certificate(seq uint64, state spec.Digest, q int) *spec.CheckpointCert {
	cert := &spec.CheckpointCert{Seq: seq, State: state}
	for _, r := range SortedKeys(cp.store) {
		if c, ok := cp.store[r][seq]; ok && c.Body.State == state {
			cert.Proof = append(cert.Proof, c)
			if len(cert.Proof) == q {
				return cert
			}
		}
	}
	return nil
}

// Stabilize makes cert the stable checkpoint, as a new stable checkpoint of §8.3 (from
// Receive) or an adopted one of §8.4 (a valid certificate carried by a NEW-VIEW), and
// removes every stored checkpoint at or below the new h. cert.Seq must be above h: a
// caller that breaks this breaks an invariant, and Stabilize panics.
func (cp *Checkpoints) Stabilize(cert *spec.CheckpointCert) {
	if cert.Seq <= cp.h {
		panic("agreea: stabilize would move h backwards")
	}
	cp.h, cp.stable = cert.Seq, *cert
	for r, m := range cp.store {
		for s := range m {
			if s <= cp.h {
				delete(m, s)
			}
		}
		if len(m) == 0 {
			delete(cp.store, r)
		}
	}
}

// Clone returns an independent copy: the store's maps are copied, the stored
// checkpoints and the certificate (never modified in place) are shared.
func (cp *Checkpoints) Clone() Checkpoints {
	c := *cp
	c.store = make(map[uint64]map[uint64]spec.Checkpoint, len(cp.store))
	for r, m := range cp.store {
		c.store[r] = maps.Clone(m)
	}
	return c
}

// Dump writes h, the stable certificate and the store, in sorted order, for a
// compartment's DebugState.
func (cp *Checkpoints) Dump(b *strings.Builder) {
	fmt.Fprintf(b, "stable h=%d state=%x proof=%d\n", cp.h, cp.stable.State, len(cp.stable.Proof))
	for _, c := range cp.stable.Proof {
		fmt.Fprintf(b, "  proof r=%d sig=%x\n", c.Body.Replica, c.Sig)
	}
	for _, r := range SortedKeys(cp.store) {
		for _, s := range SortedKeys(cp.store[r]) {
			c := cp.store[r][s]
			fmt.Fprintf(b, "checkpoint r=%d s=%d state=%x sig=%x\n", r, s, c.Body.State, c.Sig)
		}
	}
}
