package exec

import (
	"bytes"
	"strconv"

	"github.com/splitbft/splitbft/spec"
)

// This file is the config operations of SPEC.md §17.2: a sealed operation whose
// plaintext decodes as a ConfigOp is executed by Execution itself, not by the
// application. An accepted one sets pending, the candidate configuration that ends the
// epoch after the batch (§17.3); a rejected one changes nothing.

// configOpPrefix is how every encoded ConfigOp starts: a 3-element array (0x83) whose
// first element is the byte string ConfigOpTag (major type 2, length 21). Only a
// plaintext with this prefix is decoded as a ConfigOp, so application operations pay
// no extra decoding.
var configOpPrefix = append([]byte{0x83, 0x40 + byte(len(spec.ConfigOpTag))}, spec.ConfigOpTag...)

// executeOp executes one opened operation: a config operation by §17.2, anything else
// by the application.
func (e *Exec) executeOp(plain []byte) spec.Result {
	if bytes.HasPrefix(plain, configOpPrefix) {
		var op spec.ConfigOp
		if spec.Decode(plain, &op, spec.MaxMessageBytes) == nil && bytes.Equal(op.Tag, spec.ConfigOpTag) {
			return e.configOp(&op)
		}
	}
	return e.app.Execute(plain)
}

// configOp checks op against base (pending if set, else cfg) and, if it is accepted,
// sets pending to the candidate it produces. The result is OK with the candidate's
// epoch in decimal, or StatusRejected with the reject code's name.
func (e *Exec) configOp(op *spec.ConfigOp) spec.Result {
	cand, code := e.candidate(op)
	if code != 0 {
		return spec.Result{Status: spec.StatusRejected, Value: []byte(spec.CodeName(code))}
	}
	e.pending = cand
	return spec.Result{Status: spec.StatusOK, Value: []byte(strconv.FormatUint(cand.Epoch, 10))}
}

// candidate returns the configuration that op makes of base, with Epoch cfg.Epoch+1 and
// Prev cd (StartSeq and StartState still to be set), or the reject code. It changes no
// state: base is copied.
func (e *Exec) candidate(op *spec.ConfigOp) (*spec.Config, uint64) {
	base := e.cfg
	if e.pending != nil {
		base = e.pending
	}
	base, ok := copyConfig(base)
	if !ok {
		return nil, spec.CodeBadConfig
	}
	hasChange := !bytes.Equal(spec.Encode(&op.Change), spec.Encode(&spec.ConfigProposal{}))
	var code uint64
	switch {
	case len(op.Admit) > 0 && !hasChange:
		code = e.applyAdmissions(base, op.Admit)
	case len(op.Admit) == 0 && hasChange:
		code = e.applyProposal(base, &op.Change)
	default:
		code = spec.CodeBadConfig // not exactly one of Admit and Change
	}
	if code != 0 {
		return nil, code
	}
	base.Epoch, base.Prev = e.cfg.Epoch+1, e.cd
	base.StartSeq, base.StartState = 0, spec.Digest{}
	if base.Validate(admitKey) != nil || !sameFrame(e.cfg, base) { // EC1, EC3
		return nil, spec.CodeBadConfig
	}
	if _, ok := copyConfig(base); !ok { // EC1: C' must decode (§2.3)
		return nil, spec.CodeBadConfig
	}
	return base, 0
}

// copyConfig returns a deep copy of c, or false if c does not pass the strict decoder
// (§2.3; possible only for a candidate that a proposal grew past a decoding cap: such
// a candidate cannot become a configuration, since EC1 would refuse it).
func copyConfig(c *spec.Config) (*spec.Config, bool) {
	var out spec.Config
	if spec.Decode(spec.Encode(c), &out, spec.MaxMessageBytes) != nil {
		return nil, false
	}
	return &out, true
}

// applyAdmissions applies AD1–AD3 to each admission in order and its effect on base:
// the enrollment replaces its slot.
func (e *Exec) applyAdmissions(base *spec.Config, admit []spec.Admission) uint64 {
	for i := range admit {
		a := &admit[i]
		if !e.wellFormedEnrollment(&a.Enrollment.Body) { // AD1
			return spec.CodeBadConfig
		}
		if hasKeyOf(e.cfg, &a.Enrollment.Body) || hasKeyOf(base, &a.Enrollment.Body) { // AD2
			return spec.CodeDuplicate
		}
		if !e.validAttestations(&a.Enrollment.Body, a.Attestations) { // AD3
			return spec.CodeBadCertificate
		}
		*base.Enrollment(a.Enrollment.Body.Role, a.Enrollment.Body.Replica) = a.Enrollment
	}
	return 0
}

// wellFormedEnrollment is AD1 (and AT1): a role with a slot, a replica < n, a valid
// build name, and a box key exactly for exec.
func (e *Exec) wellFormedEnrollment(b *spec.EnrollmentBody) bool {
	if b.Role > spec.RoleExec || b.Replica >= e.cfg.N || !spec.ValidBuildName(b.Build) {
		return false
	}
	return (b.Role == spec.RoleExec) == (b.BoxKey != spec.PublicKey{})
}

// hasKeyOf reports whether an Ed25519 or (non-zero) X25519 key of b appears in c: an
// enrollment's keys, a client's keys, a member key or the group key (AD2, AT2).
func hasKeyOf(c *spec.Config, b *spec.EnrollmentBody) bool {
	keys := map[spec.PublicKey]bool{c.ExecGroupKey: true}
	for i := range c.Replicas {
		for _, r := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
			en := &c.Enrollment(r, uint64(i)).Body
			keys[en.SignKey], keys[en.BoxKey] = true, true
		}
	}
	for i := range c.Clients {
		keys[c.Clients[i].SignKey], keys[c.Clients[i].BoxKey] = true, true
	}
	for _, m := range c.Members {
		keys[m] = true
	}
	return keys[b.SignKey] || (b.BoxKey != spec.PublicKey{} && keys[b.BoxKey])
}

// validAttestations is AD3: at least q attestations from distinct replicas < n, each
// for the enrollment's digest and signed by that replica's exec of cfg.
func (e *Exec) validAttestations(b *spec.EnrollmentBody, atts []spec.Attestation) bool {
	if len(atts) < e.quorum() {
		return false
	}
	d := spec.EnrollmentDigest(b)
	seen := map[uint64]bool{}
	for i := range atts {
		ab := &atts[i].Body
		if ab.Replica >= e.cfg.N || seen[ab.Replica] || ab.Enrollment != d {
			return false
		}
		seen[ab.Replica] = true
	}
	for i := range atts {
		ab := &atts[i].Body
		if !verifySig(e.key(spec.RoleExec, ab.Replica), spec.DomainAttest, e.cd, spec.Encode(ab), atts[i].Sig) {
			return false
		}
	}
	return true
}
