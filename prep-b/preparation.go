package prepb

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Build is this implementation's build name, reported in its enrollment.
const Build = "prep-b"

// ErrBadInit is wrapped by every error Init returns (reject code bad-init, §7.1).
var ErrBadInit = errors.New("prepb: bad-init")

// Preparation is the prep-b compartment. It implements spec.Compartment. The zero
// value is not usable; build one with New. It is not safe for concurrent use: the
// broker calls Init once and then Step, one call at a time.
type Preparation struct {
	rand io.Reader // the only randomness: 32 bytes read at Init (§3.5)

	// Identity, set once by Init.
	inited bool
	self   spec.EnrollmentBody // this enclave's enrollment body; Replica is i
	key    *signer             // nil until Init

	// cl is nil until a configure input is accepted; every other field below is
	// meaningful only once cl is set.
	cl *cluster

	view uint64 // v: the current view; never decreases
	// seqHigh is the highest sequence number this prep signed a PRE-PREPARE or
	// PREPARE for in view v, as adjusted by §9.5 and §9.6; h ≤ seqHigh once h > 0.
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
	nvHigh uint64
	cps    checkpoints // h, stableCert and the checkpoint store (§8.3)
}

// New returns an uninitialised Preparation that draws its key seed from rand.
func New(rand io.Reader) *Preparation {
	return &Preparation{rand: rand}
}

// Init implements spec.Compartment (SPEC.md §7.1): it checks I1–I3, reads the
// 32-byte signing key seed from the randomness source and returns the encoded
// Enrollment with dev-insecure evidence. On any error the state is unchanged.
func (p *Preparation) Init(req []byte) ([]byte, error) {
	var ir spec.InitRequest
	if err := spec.Decode(req, &ir, spec.MaxMessageBytes); err != nil { // I1
		return nil, fmt.Errorf("%w: %v", ErrBadInit, err)
	}
	if ir.Role != spec.RolePrep { // I2
		return nil, fmt.Errorf("%w: role %d is not prep", ErrBadInit, ir.Role)
	}
	if p.inited { // I3
		return nil, fmt.Errorf("%w: Init called twice", ErrBadInit)
	}
	// SPEC-AMBIGUITY: §7.1 does not say what a failing randomness source means; we
	// return an error and stay uninitialised, so a later Init may still succeed.
	seed := make([]byte, 32)
	if _, err := io.ReadFull(p.rand, seed); err != nil {
		return nil, fmt.Errorf("prepb: reading key seed: %w", err)
	}
	key, err := newSigner(seed)
	if err != nil {
		return nil, err
	}
	p.inited, p.key = true, key
	p.self = spec.EnrollmentBody{Role: spec.RolePrep, Replica: ir.Replica, Build: []byte(Build), SignKey: key.public()}
	enr := spec.Enrollment{Body: p.self, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}}
	return spec.Encode(&enr), nil
}

// Step implements spec.Compartment (SPEC.md §7.4): it handles every input in order
// and appends exactly one Status. It never panics on untrusted input.
func (p *Preparation) Step(in []byte) []byte {
	var out outputs
	var si spec.StepInput
	if err := spec.Decode(in, &si, spec.MaxMessageBytes); err != nil || len(si.Inputs) > spec.MaxStepInputs {
		out.reject(0, 0, spec.CodeMalformed, 0)
	} else {
		for i := range si.Inputs {
			p.handle(&out, uint64(i), &si.Inputs[i])
		}
	}
	out.local(spec.KindStatus, p.status())
	return spec.Encode(&spec.StepOutput{Outputs: out.list})
}

// accepts lists the kinds prep accepts (§9.1).
var accepts = map[uint64]bool{
	spec.KindConfigure: true, spec.KindClientBatch: true, spec.KindProposal: true,
	spec.KindCheckpoint: true, spec.KindViewChange: true, spec.KindNewView: true,
}

// handle runs the input preamble A1–A4 (§8.1), dispatches one input and emits its
// Rejection if it is rejected.
func (p *Preparation) handle(out *outputs, idx uint64, in *spec.Input) {
	code, sub := p.preamble(in.Kind), uint64(0)
	if code == 0 {
		body, err := spec.DecodeKind(in.Kind, in.Body)
		if err != nil { // A4
			code = spec.CodeMalformed
		} else {
			code, sub = p.dispatch(out, idx, body)
		}
	}
	if code != 0 {
		out.reject(idx, in.Kind, code, sub)
	}
}

// preamble applies lines A1–A3 to an input of kind k.
func (p *Preparation) preamble(k uint64) uint64 {
	switch {
	case !accepts[k]: // A1
		return spec.CodeUnknownKind
	case p.cl == nil && k != spec.KindConfigure: // A2
		return spec.CodeNotConfigured
	case p.cl != nil && k == spec.KindConfigure: // A3
		return spec.CodeConfigured
	}
	return 0
}

// dispatch hands a decoded body to its rule set and returns its reject code and Sub
// (code 0: accepted).
func (p *Preparation) dispatch(out *outputs, idx uint64, body any) (uint64, uint64) {
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
	}
	panic(fmt.Sprintf("prepb: no handler for %T", body)) // accepts and DecodeKind agree
}

// status is the Status of §9.8.
func (p *Preparation) status() *spec.Status {
	// SPEC-AMBIGUITY: before Init there is no replica id; we report 0.
	return &spec.Status{
		Role: spec.RolePrep, Replica: p.self.Replica, Configured: p.cl != nil,
		View: p.view, ViewActive: true, Stable: p.cps.h, Last: p.seqHigh,
	}
}
