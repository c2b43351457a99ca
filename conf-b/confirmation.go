package confb

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Build is this implementation's build name, reported in its enrollment.
const Build = "conf-b"

// ErrBadInit is wrapped by every error Init returns (reject code bad-init, §7.1).
var ErrBadInit = errors.New("confb: bad-init")

// Confirmation is the conf-b compartment. It implements spec.Compartment. The zero
// value is not usable; build one with New. It is not safe for concurrent use: the
// broker calls Init once and then Step, one call at a time.
type Confirmation struct {
	rand io.Reader // the only randomness: 32 bytes read at Init (§3.5)

	// Identity, set once by Init.
	inited bool
	self   spec.EnrollmentBody // this enclave's enrollment body; Replica is i
	key    *signer             // nil until Init

	// cl is nil until a configure input is accepted; every other field below is
	// meaningful only once cl is set.
	cl *cluster

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
	last uint64      // the highest Seq of any COMMIT this conf signed
	cps  checkpoints // h, stableCert and the checkpoint store (§8.3)
}

// New returns an uninitialised Confirmation that draws its key seed from rand.
func New(rand io.Reader) *Confirmation {
	return &Confirmation{rand: rand}
}

// Init implements spec.Compartment (SPEC.md §7.1): it checks I1–I3, reads the
// 32-byte signing key seed from the randomness source and returns the encoded
// Enrollment with dev-insecure evidence. On any error the state is unchanged.
func (x *Confirmation) Init(req []byte) ([]byte, error) {
	var ir spec.InitRequest
	if err := spec.Decode(req, &ir, spec.MaxMessageBytes); err != nil { // I1
		return nil, fmt.Errorf("%w: %v", ErrBadInit, err)
	}
	if ir.Role != spec.RoleConf { // I2
		return nil, fmt.Errorf("%w: role %d is not conf", ErrBadInit, ir.Role)
	}
	if x.inited { // I3
		return nil, fmt.Errorf("%w: Init called twice", ErrBadInit)
	}
	// SPEC-AMBIGUITY: §7.1 does not say what a failing randomness source means; we
	// return an error and stay uninitialised, so a later Init may still succeed.
	seed := make([]byte, 32)
	if _, err := io.ReadFull(x.rand, seed); err != nil {
		return nil, fmt.Errorf("confb: reading key seed: %w", err)
	}
	key, err := newSigner(seed)
	if err != nil {
		return nil, err
	}
	x.inited, x.key = true, key
	x.self = spec.EnrollmentBody{Role: spec.RoleConf, Replica: ir.Replica, Build: []byte(Build), SignKey: key.public()}
	enr := spec.Enrollment{Body: x.self, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}}
	return spec.Encode(&enr), nil
}

// Step implements spec.Compartment (SPEC.md §7.4): it handles every input in order
// and appends exactly one Status. It never panics on untrusted input.
func (x *Confirmation) Step(in []byte) []byte {
	var out outputs
	var si spec.StepInput
	if err := spec.Decode(in, &si, spec.MaxMessageBytes); err != nil || len(si.Inputs) > spec.MaxStepInputs {
		out.reject(0, 0, spec.CodeMalformed, 0)
	} else {
		for i := range si.Inputs {
			x.handle(&out, uint64(i), &si.Inputs[i])
		}
	}
	out.local(spec.KindStatus, x.status())
	return spec.Encode(&spec.StepOutput{Outputs: out.list})
}

// accepts lists the kinds conf accepts (§10.1).
var accepts = map[uint64]bool{
	spec.KindConfigure: true, spec.KindPrePrepare: true, spec.KindPrepare: true,
	spec.KindCheckpoint: true, spec.KindSuspect: true, spec.KindNewView: true,
}

// handle runs the input preamble A1–A4 (§8.1), dispatches one input and emits its
// Rejection if it is rejected.
func (x *Confirmation) handle(out *outputs, idx uint64, in *spec.Input) {
	code := x.preamble(in.Kind)
	if code == 0 {
		body, err := spec.DecodeKind(in.Kind, in.Body)
		if err != nil { // A4
			code = spec.CodeMalformed
		} else {
			code = x.dispatch(out, body)
		}
	}
	if code != 0 {
		out.reject(idx, in.Kind, code, 0)
	}
}

// preamble applies lines A1–A3 to an input of kind k.
func (x *Confirmation) preamble(k uint64) uint64 {
	switch {
	case !accepts[k]: // A1
		return spec.CodeUnknownKind
	case x.cl == nil && k != spec.KindConfigure: // A2
		return spec.CodeNotConfigured
	case x.cl != nil && k == spec.KindConfigure: // A3
		return spec.CodeConfigured
	}
	return 0
}

// dispatch hands a decoded body to its rule set and returns its reject code (0:
// accepted).
func (x *Confirmation) dispatch(out *outputs, body any) uint64 {
	switch m := body.(type) {
	case *spec.Configure:
		return x.onConfigure(m)
	case *spec.PrePrepare:
		return x.onPrePrepare(out, m)
	case *spec.Prepare:
		return x.onPrepare(out, m)
	case *spec.Checkpoint:
		return x.onCheckpoint(m)
	case *spec.Suspect:
		return x.onSuspect(out, m)
	case *spec.NewView:
		return x.onNewView(m)
	}
	panic(fmt.Sprintf("confb: no handler for %T", body)) // accepts and DecodeKind agree
}

// status is the Status of §10.7.
func (x *Confirmation) status() *spec.Status {
	// SPEC-AMBIGUITY: before configure, §10.7's ViewActive = active has no defined
	// value (§8.1 makes the view "0 and active" only on acceptance of configure); we
	// report false until configured. Before Init there is no replica id; we report 0.
	return &spec.Status{
		Role: spec.RoleConf, Replica: x.self.Replica, Configured: x.cl != nil,
		View: x.view, ViewActive: x.active, Stable: x.cps.h, Last: x.last,
	}
}
