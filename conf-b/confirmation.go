package confb

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// Build is this implementation's build name, reported in its enrollment.
const Build = "conf-b"

// ErrBadInit is wrapped by every error Init returns (reject code bad-init, §7.1).
var ErrBadInit = errors.New("confb: bad-init")

// profile names conf-b to the shared b code.
var profile = agreeb.Profile{Name: Build, Role: spec.RoleConf, Pkg: "confb", ErrBadInit: ErrBadInit}

// Confirmation is the conf-b compartment. It implements spec.Compartment. The zero
// value is not usable; build one with New. It is not safe for concurrent use: the
// broker calls Init once and then Step, one call at a time.
type Confirmation struct {
	id agreeb.Identity // randomness, then the identity set once by Init

	// cl is nil until a configure input is accepted; every other field below is
	// meaningful only once cl is set.
	cl *agreeb.Cluster

	view uint64 // v: the current view; never decreases
	// active is false between an accepted suspect and the NEW-VIEW that ends it.
	active bool
	// slots[s] is the agreement state of (v, s); keys are in (h, h+L] and belong to
	// the current view only.
	slots map[uint64]*slot
	// pset[s] is the prepared certificate of the highest view this conf formed for
	// s, kept across views; keys are in (h, h+L] (a certificate is formed only inside
	// the window, and h only grows), so at most L entries.
	pset map[uint64]*spec.PreparedCert
	// last is the highest Seq of any COMMIT this conf signed in this epoch, or the
	// epoch's StartSeq if none (SPEC §10.2); it is reset at configure and at every
	// epoch change, and never decreases within an epoch.
	last uint64
	cps  agreeb.Checkpoints // h, stableCert and the checkpoint store (§8.3)
	// retired is set once an accepted epoch change no longer enrolls this conf
	// (SPEC §17.4 step 1) and never cleared; every later input is rejected retired
	// and no other field changes again.
	retired bool
}

// New returns an uninitialised Confirmation that draws its key seed from rand.
func New(rand io.Reader) *Confirmation {
	return &Confirmation{id: agreeb.NewIdentity(&profile, rand)}
}

// Init implements spec.Compartment (SPEC.md §7.1): it checks I1–I3, reads the
// 32-byte signing key seed from the randomness source and returns the encoded
// Enrollment with dev-insecure evidence. On any error the state is unchanged.
func (x *Confirmation) Init(req []byte) ([]byte, error) { return x.id.Init(req) }

// Step implements spec.Compartment (SPEC.md §7.4): it handles every input in order
// (preamble A1–A4 of §8.1, then the rules of its kind) and appends exactly one
// Status. It never panics on untrusted input.
func (x *Confirmation) Step(in []byte) []byte {
	return agreeb.Step(in, &agreeb.Handler{
		Accepts:    accepts,
		Configured: func() bool { return x.cl != nil },
		Retired:    func() bool { return x.retired },
		Dispatch:   x.dispatch,
		Status:     x.status,
	})
}

// accepts lists the kinds conf accepts (§10.1).
var accepts = map[uint64]bool{
	spec.KindConfigure: true, spec.KindPrePrepare: true, spec.KindPrepare: true,
	spec.KindCheckpoint: true, spec.KindSuspect: true, spec.KindNewView: true,
	spec.KindEpochChange: true,
}

// dispatch hands a decoded body to its rule set and returns its reject code (0:
// accepted) and Sub, which conf's rules never set.
func (x *Confirmation) dispatch(out *agreeb.Outputs, _ uint64, body any) (uint64, uint64) {
	switch m := body.(type) {
	case *spec.Configure:
		return x.onConfigure(m), 0
	case *spec.PrePrepare:
		return x.onPrePrepare(out, m), 0
	case *spec.Prepare:
		return x.onPrepare(out, m), 0
	case *spec.Checkpoint:
		return x.onCheckpoint(m), 0
	case *spec.Suspect:
		return x.onSuspect(out, m), 0
	case *spec.NewView:
		return x.onNewView(m), 0
	case *spec.EpochChange:
		return x.onEpochChange(m), 0
	}
	panic(fmt.Sprintf("confb: no handler for %T", body)) // accepts and DecodeKind agree
}

// status is the Status of §10.7.
func (x *Confirmation) status() *spec.Status {
	// SPEC-AMBIGUITY: before configure, §10.7's ViewActive = active has no defined
	// value (§8.1 makes the view "0 and active" only on acceptance of configure); we
	// report false until configured. Before Init there is no replica id; we report 0.
	return &spec.Status{
		Role: spec.RoleConf, Replica: x.id.Replica(), Configured: x.cl != nil,
		View: x.view, ViewActive: x.active, Stable: x.cps.H(), Last: x.last,
	}
}
