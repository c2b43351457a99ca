package broker

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// Admission of fresh compartments, driven by the broker (SPEC.md §17.5): the host
// starts fresh compartments and Inits them with Challenge = ConfigDigest(); Admit
// sends each enrollment to every peer broker (kind attest), which gives it to its exec
// and returns the exec's attestation; with q valid attestations from distinct execs
// per enrollment, the broker submits ConfigOp{Admit} as a request of its replica's
// broker client (EpochHooks.Submit), again every RequestTimeoutTicks, until an epoch
// change admits them. Then it installs them: prep and conf are configured with the
// new configuration at once, a fresh exec once a peer exec's group key share for it
// arrives (§17.4 step 3; share_resend.go re-sends lost shares); the compartments they
// replace are retired. An epoch change that does not admit them ends the admission
// and hands the roles back to the host to start again (EpochHooks.Renew).

// Fresh is a freshly started compartment of this replica awaiting admission: its
// enclave and the enrollment its Init (with Challenge = ConfigDigest()) returned.
type Fresh struct {
	Role       spec.Role
	Enclave    Enclave
	Enrollment spec.Enrollment
}

// ErrAdmitting is returned by Admit while another admission is in progress.
var ErrAdmitting = errors.New("broker: an admission is in progress")

// admission is the admission in progress.
type admission struct {
	fresh   []Fresh
	digests []spec.Digest        // EnrollmentDigest of each fresh enrollment
	atts    [][]spec.Attestation // per fresh: valid attestations, distinct execs
	ops     [][]byte             // the ConfigOps, one per enrollment, once every one has q attestations
	sentAt  uint64               // tick of the last attest broadcast or submission
	exec    *Fresh               // a fresh exec installed and waiting for its group key share
	shares  []spec.GroupKeyShare // shares received for it, not yet tried
	early   []spec.GroupKeyShare // shares for a fresh exec that came before the epoch change
	trying  bool                 // a configure with a share is queued or running
}

// attestRelay remembers which broker asked for the attestation of an enrollment, so
// that the local exec's attestation goes back to it; bounded, oldest forgotten.
type attestRelay struct {
	want  map[spec.Digest]uint64
	order *fifo[spec.Digest]
}

// Down marks the compartment of role unusable (not configured, as after a rejoin:
// SPEC.md §17.5): nothing is delivered to it until an admission installs a fresh one.
func (r *Replica) Down(role spec.Role) {
	r.down[role] = true
	r.resetInputs(role)
}

// Admitting reports whether an admission is in progress.
func (r *Replica) Admitting() bool { return r.adm != nil }

// Admit starts the admission of fresh compartments of this replica, at most one per
// role. Each enrollment must be for this replica and its role, with keys that the
// current configuration does not hold.
func (r *Replica) Admit(fresh []Fresh) error {
	if r.adm != nil {
		return ErrAdmitting
	}
	if err := r.checkFresh(fresh); err != nil {
		return err
	}
	a := &admission{fresh: slices.Clone(fresh), atts: make([][]spec.Attestation, len(fresh))}
	for i := range fresh {
		a.digests = append(a.digests, spec.EnrollmentDigest(&fresh[i].Enrollment.Body))
	}
	r.adm = a
	r.askAttestations()
	return nil
}

// checkFresh checks Admit's argument.
func (r *Replica) checkFresh(fresh []Fresh) error {
	if len(fresh) == 0 || len(fresh) > 3 {
		return fmt.Errorf("broker: admit: %d compartments", len(fresh))
	}
	seen := [3]bool{}
	for _, f := range fresh {
		b := &f.Enrollment.Body
		switch {
		case f.Role > spec.RoleExec || seen[f.Role] || f.Enclave == nil:
			return fmt.Errorf("broker: admit: role %d twice, unknown or without enclave", f.Role)
		case b.Role != f.Role || b.Replica != r.id:
			return fmt.Errorf("broker: admit: enrollment for %s of replica %d, want %s of %d", spec.RoleName(b.Role), b.Replica, spec.RoleName(f.Role), r.id)
		case r.cfg.Enrollment(f.Role, r.id).Body.SignKey == b.SignKey:
			return fmt.Errorf("broker: admit: the %s enrollment is already in the configuration", spec.RoleName(f.Role))
		}
		seen[f.Role] = true
	}
	return nil
}

// askAttestations sends every fresh enrollment to every peer broker and, when the
// local exec is in service, to it (SPEC.md §17.5 step 2).
func (r *Replica) askAttestations() {
	r.adm.sentAt = r.now
	for i := range r.adm.fresh {
		raw := spec.Encode(&r.adm.fresh[i].Enrollment)
		r.broadcast(EncodePeer(spec.KindAttest, raw))
		if !r.down[spec.RoleExec] {
			r.attests.remember(r.adm.digests[i], r.id)
			r.enqueue(spec.RoleExec, spec.KindAttest, raw)
		}
	}
}

// onPeerAttest takes a peer broker's request to attest an enrollment of its own
// replica (any other is garbage) and gives it to the local exec.
func (r *Replica) onPeerAttest(from uint64, raw []byte, e *spec.Enrollment) {
	if e.Body.Replica != from || r.down[spec.RoleExec] {
		r.m.Garbage += b2u(e.Body.Replica != from)
		return
	}
	if !r.attestOpen(from) {
		r.m.AttestDrops++
		return
	}
	r.attests.remember(spec.EnrollmentDigest(&e.Body), from)
	r.enqueue(spec.RoleExec, spec.KindAttest, raw)
}

func (a *attestRelay) remember(d spec.Digest, from uint64) {
	if _, ok := a.want[d]; !ok {
		if old, dropped := a.order.Push(d); dropped {
			delete(a.want, old)
		}
	}
	a.want[d] = from
}

// onAttestationOutput returns the local exec's attestation to the broker that asked.
func (r *Replica) onAttestationOutput(role spec.Role, body []byte) {
	var a spec.Attestation
	if role != spec.RoleExec || spec.Decode(body, &a, spec.MaxBodyBytes(spec.KindAttestation)) != nil {
		r.m.Garbage++
		return
	}
	to, ok := r.attests.want[a.Body.Enrollment]
	switch {
	case !ok:
		r.m.Unwanted++
	case to == r.id:
		r.onAttestation(&a)
	default:
		r.sendPeer(to, EncodePeer(spec.KindAttestation, body))
	}
}

// onAttestation collects one attestation for the admission in progress: it counts
// only if validly signed by an exec of the current configuration (SPEC.md §17.5, the
// check of rule AD3) for one of the fresh enrollments, from an exec not counted yet.
func (r *Replica) onAttestation(a *spec.Attestation) {
	if r.adm == nil || r.adm.ops != nil || a.Body.Replica >= r.cfg.N {
		r.m.Unwanted++
		return
	}
	k := slices.Index(r.adm.digests, a.Body.Enrollment)
	key := r.cfg.Replicas[a.Body.Replica].Exec.Body.SignKey
	if k < 0 || slices.ContainsFunc(r.adm.atts[k], func(b spec.Attestation) bool { return b.Body.Replica == a.Body.Replica }) ||
		!verifySig(key, spec.DomainAttest, r.cd, spec.Encode(&a.Body), &a.Sig) {
		r.m.Unwanted++
		return
	}
	r.adm.atts[k] = append(r.adm.atts[k], *a)
	for _, as := range r.adm.atts {
		if len(as) < r.cfg.Quorum() {
			return
		}
	}
	r.adm.ops = r.configOps()
	r.submitAdmission()
}

// configOps builds one ConfigOp{Admit} per enrollment, each with q attestations
// sorted by replica. They travel as the operations of one request, so they are
// executed in one batch and end one epoch together (SPEC.md §17.2, §17.3), while each
// stays within MaxOpBytes more easily than all of them in one operation would.
func (r *Replica) configOps() [][]byte {
	var ops [][]byte
	for i, f := range r.adm.fresh {
		as := slices.Clone(r.adm.atts[i])
		slices.SortFunc(as, func(a, b spec.Attestation) int { return cmp.Compare(a.Body.Replica, b.Body.Replica) })
		adm := spec.Admission{Enrollment: f.Enrollment, Attestations: as[:r.cfg.Quorum()]}
		ops = append(ops, spec.Encode(&spec.ConfigOp{Tag: spec.ConfigOpTag, Admit: []spec.Admission{adm}}))
	}
	return ops
}

// submitAdmission hands the broker client's request carrying the ConfigOp to this
// broker's own request path (forwarded to the primary, timed like any request).
func (r *Replica) submitAdmission() {
	r.adm.sentAt = r.now
	if r.hooks.Submit == nil {
		return
	}
	raw, err := r.hooks.Submit(r.cfg, r.adm.ops)
	if err != nil {
		r.failAdmission(fmt.Errorf("broker: admission request: %w", err))
		return
	}
	r.m.AdmitSubmits++
	r.HandleClient(raw)
}

// tickAdmission repeats what an admission waits on every RequestTimeoutTicks: the
// attest requests until q attestations are in, then the submission.
func (r *Replica) tickAdmission() {
	a := r.adm
	if a == nil || a.exec != nil || r.now-a.sentAt < uint64(r.opt.RequestTimeoutTicks) {
		return
	}
	if a.ops == nil {
		r.askAttestations()
	} else {
		r.submitAdmission()
	}
}

// failAdmission abandons the admission in progress.
func (r *Replica) failAdmission(err error) {
	r.adm = nil
	r.m.AdmitFailures++
	if r.hooks.AdmitFailed != nil {
		r.hooks.AdmitFailed(err)
	}
}
