package prepb

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// Build is this implementation's build name, reported in its enrollment.
const Build = "prep-b"

// ErrBadInit is wrapped by every error Init returns (reject code bad-init, §7.1).
var ErrBadInit = errors.New("prepb: bad-init")

// profile names prep-b to the shared b code.
var profile = agreeb.Profile{Name: Build, Role: spec.RolePrep, Pkg: "prepb", ErrBadInit: ErrBadInit}

// Preparation is the prep-b compartment. It implements spec.Compartment. The zero
// value is not usable; build one with New. It is not safe for concurrent use: the
// broker calls Init once and then Step, one call at a time.
type Preparation struct {
	id agreeb.Identity // randomness, then the identity set once by Init

	// cl is nil until a configure input is accepted; every other field below is
	// meaningful only once cl is set.
	cl *agreeb.Cluster

	view uint64 // v: the current view; never decreases
	// seqHigh is the highest sequence number this prep signed a PRE-PREPARE or
	// PREPARE for in view v, as adjusted by §9.5 and §9.6; it starts at the epoch's
	// StartSeq (SPEC §17.4), so h ≤ seqHigh always.
	seqHigh uint64
	// accepted[s] is the digest proposed or prepared at (v, s); keys are in
	// (h, h+L] and belong to the current view only.
	accepted map[uint64]spec.Digest
	// vcs[r] is the latest-view VIEW-CHANGE accepted from conf r; every entry has a
	// view > v, so at most n entries.
	vcs map[uint64]*storedViewChange
	// nvHigh is the highest view this prep built a NEW-VIEW for (0: none). The spec's
	// set nvSent only ever holds views ≤ v, so "w ∉ nvSent" for a w > v is the same
	// as w > nvHigh, and one number bounds the state.
	// SPEC-AMBIGUITY: §9.7 "enter view w as in §9.6" could include "add w to nvSent";
	// we do not add it (this prep built nothing), which no output can distinguish.
	// An epoch change drops nvSent (SPEC §17.4 step 2): nvHigh is reset to 0.
	nvHigh uint64
	cps    agreeb.Checkpoints // h, stableCert and the checkpoint store (§8.3)
	// retired is set once an accepted epoch change no longer enrolls this prep
	// (SPEC §17.4 step 1) and never cleared; every later input is rejected retired
	// and no other field changes again.
	retired bool
}

// New returns an uninitialised Preparation that draws its key seed from rand.
func New(rand io.Reader) *Preparation {
	return &Preparation{id: agreeb.NewIdentity(&profile, rand)}
}

// Init implements spec.Compartment (SPEC.md §7.1): it checks I1–I3, reads the
// 32-byte signing key seed from the randomness source and returns the encoded
// Enrollment with dev-insecure evidence. On any error the state is unchanged.
func (p *Preparation) Init(req []byte) ([]byte, error) { return p.id.Init(req) }

// Step implements spec.Compartment (SPEC.md §7.4): it handles every input in order
// (preamble A1–A4 of §8.1, then the rules of its kind) and appends exactly one
// Status. It never panics on untrusted input.
func (p *Preparation) Step(in []byte) []byte {
	return agreeb.Step(in, &agreeb.Handler{
		Accepts:    accepts,
		Configured: func() bool { return p.cl != nil },
		Retired:    func() bool { return p.retired },
		Dispatch:   p.dispatch,
		Status:     p.status,
	})
}

// accepts lists the kinds prep accepts (§9.1).
var accepts = map[uint64]bool{
	spec.KindConfigure: true, spec.KindClientBatch: true, spec.KindProposal: true,
	spec.KindCheckpoint: true, spec.KindViewChange: true, spec.KindNewView: true,
	spec.KindEpochChange: true,
}

// dispatch hands a decoded body to its rule set and returns its reject code and Sub
// (code 0: accepted).
func (p *Preparation) dispatch(out *agreeb.Outputs, idx uint64, body any) (uint64, uint64) {
	switch m := body.(type) {
	case *spec.Configure:
		return p.onConfigure(m), 0
	case *spec.Batch:
		return p.onClientBatch(out, idx, m), 0
	case *spec.Proposal:
		return p.onProposal(out, m)
	case *spec.Checkpoint:
		return p.onCheckpoint(m), 0
	case *spec.ViewChange:
		return p.onViewChange(out, m), 0
	case *spec.NewView:
		return p.onNewView(out, m), 0
	case *spec.EpochChange:
		return p.onEpochChange(m), 0
	}
	panic(fmt.Sprintf("prepb: no handler for %T", body)) // accepts and DecodeKind agree
}

// status is the Status of §9.8.
func (p *Preparation) status() *spec.Status {
	// SPEC-AMBIGUITY: before Init there is no replica id; we report 0.
	return &spec.Status{
		Role: spec.RolePrep, Replica: p.id.Replica(), Configured: p.cl != nil,
		View: p.view, ViewActive: true, Stable: p.cps.H(), Last: p.seqHigh,
	}
}
