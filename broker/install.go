package broker

import (
	"fmt"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// Installing admitted compartments (SPEC.md §17.5 step 4, §17.4 step 3).

// installAdmitted runs when the broker adopts a new configuration: the fresh
// compartments that it holds in their slots replace the old ones (prep and conf are
// configured at once; exec waits for a group key share), and the admission fails if
// none is there. It returns the installed roles as a delivery mask.
func (r *Replica) installAdmitted() uint64 {
	a := r.adm
	if a == nil || a.exec != nil {
		return 0
	}
	var mask uint64
	var missing []spec.Role
	for i := range a.fresh {
		f := &a.fresh[i]
		if r.cfg.Enrollment(f.Role, r.id).Body.SignKey != f.Enrollment.Body.SignKey {
			missing = append(missing, f.Role)
			continue
		}
		mask |= 1 << f.Role
		r.install(f)
	}
	if len(missing) > 0 {
		r.overtaken(missing)
		if a.exec != nil { // the exec was admitted: it still waits for its share
			a.fresh, a.ops = nil, nil
			r.adm = a
		}
		return mask
	}
	if a.exec == nil {
		r.adm = nil
	}
	return mask
}

// overtaken ends an admission that the epoch just adopted did not admit, for the
// fresh compartments of roles: their evidence and attestations bind the old epoch's
// digest (SPEC.md §17.5 steps 1–2) and can never count again. With a Renew hook the
// host is asked for new fresh compartments for the new epoch; without one the
// admission fails (AdmitFailed).
func (r *Replica) overtaken(roles []spec.Role) {
	if r.hooks.Renew == nil {
		names := make([]string, len(roles))
		for i, role := range roles {
			names[i] = spec.RoleName(role)
		}
		r.failAdmission(fmt.Errorf("broker: epoch %d did not admit the fresh %v", r.cfg.Epoch, names))
		return
	}
	r.adm = nil
	r.m.AdmitRenewals++
	r.hooks.Renew(roles, r.cd)
}

// replaced reports whether the compartment of role is no longer the instance that was
// in service when inst was taken (r.instance): an install since.
func (r *Replica) replaced(role spec.Role, inst uint64) bool { return r.instance[role] != inst }

// install puts an admitted compartment in its slot and retires the one it replaces.
func (r *Replica) install(f *Fresh) {
	old, wasDown := r.enc[f.Role], r.down[f.Role]
	r.enc[f.Role] = f.Enclave
	r.instance[f.Role]++
	r.resetInputs(f.Role)
	r.dead[f.Role] = false
	r.status[f.Role] = spec.Status{Role: f.Role, Replica: r.id, ViewActive: true, Stable: r.cfg.StartSeq}
	if f.Role == spec.RoleExec {
		r.keyAsked = false    // a new exec instance: its sealed key is asked once configured
		r.down[f.Role] = true // until a share arrives
		r.adm.exec = f
		early := r.adm.early
		r.adm.early = nil
		for _, s := range early {
			r.onShare(s)
		}
	} else {
		r.down[f.Role] = false
		r.enqueue(f.Role, spec.KindConfigure, spec.Encode(&spec.Configure{Config: spec.Encode(r.cfg)}))
		r.admitted(f.Role)
	}
	if !wasDown && r.hooks.Retired != nil {
		r.hooks.Retired(f.Role, old)
	}
}

func (r *Replica) admitted(role spec.Role) {
	r.m.Admitted++
	if r.hooks.Admitted != nil {
		r.hooks.Admitted(role, r.cfg.Epoch)
	}
}

// onSharesOutput sends each group key share the local exec dealt after adopting an
// epoch to the broker of the exec it is for (SPEC.md §17.4 step 3).
func (r *Replica) onSharesOutput(role spec.Role, body []byte) {
	var gs spec.GroupKeyShares
	if role != spec.RoleExec || spec.Decode(body, &gs, spec.MaxBodyBytes(spec.KindGroupKeyShares)) != nil {
		r.m.Garbage++
		return
	}
	for _, s := range gs.Shares {
		j := slices.IndexFunc(r.cfg.Replicas, func(rc spec.ReplicaConfig) bool { return rc.Exec.Body.BoxKey == s.Recipient })
		switch {
		case j < 0:
			r.m.Unwanted++
		case uint64(j) == r.id:
			r.onShare(s)
		default:
			msg := EncodePeer(KindShare, spec.Encode(&spec.GroupKeyShares{Shares: []spec.GroupKeyShare{s}}))
			r.keepDealt(uint64(j), s.Recipient, msg)
			r.sendPeer(uint64(j), msg)
		}
	}
}

// onShare takes a group key share for the fresh exec waiting for one: if it is for
// that exec and the configuration's group key, dealt by another exec of the
// configuration, it is kept and tried (the exec checks the rest, G1–G3 of §11.2).
func (r *Replica) onShare(s spec.GroupKeyShare) {
	a := r.adm
	if a != nil && a.exec == nil {
		r.keepEarlyShare(s)
		return
	}
	if a == nil || a.exec == nil || s.Recipient != a.exec.Enrollment.Body.BoxKey || s.GroupKey != r.cfg.ExecGroupKey ||
		s.Dealer == s.Recipient || !slices.ContainsFunc(r.cfg.Replicas, func(rc spec.ReplicaConfig) bool { return rc.Exec.Body.BoxKey == s.Dealer }) ||
		uint64(len(a.shares)) >= r.cfg.N || slices.ContainsFunc(a.shares, func(o spec.GroupKeyShare) bool { return o.Dealer == s.Dealer }) {
		r.m.Unwanted++
		return
	}
	a.shares = append(a.shares, s)
	r.tryShare()
}

// keepEarlyShare keeps a share for a fresh exec of the admission in progress that
// arrived before the epoch change admitting it (a peer exec adopted it first); at
// most n are kept, and install tries them.
func (r *Replica) keepEarlyShare(s spec.GroupKeyShare) {
	a := r.adm
	for _, f := range a.fresh {
		if f.Role == spec.RoleExec && f.Enrollment.Body.BoxKey == s.Recipient && uint64(len(a.early)) < r.cfg.N {
			a.early = append(a.early, s)
			return
		}
	}
	r.m.Unwanted++
}

// tryShare configures the fresh exec with the next untried share.
func (r *Replica) tryShare() {
	a := r.adm
	if a.trying || len(a.shares) == 0 {
		return
	}
	s := a.shares[0]
	a.shares = a.shares[1:]
	a.trying = true
	r.down[spec.RoleExec] = false
	c := spec.Configure{Config: spec.Encode(r.cfg), Share: []spec.GroupKeyShare{s}}
	r.enqueue(spec.RoleExec, spec.KindConfigure, spec.Encode(&c))
}

// onExecConfigured ends the wait of a fresh exec once it reports itself configured;
// a rejected configure (a bad share) has the next share tried.
func (r *Replica) onExecConfigure(st *spec.Status, rejected bool) {
	a := r.adm
	if a == nil || a.exec == nil || !a.trying {
		return
	}
	switch {
	case rejected:
		a.trying = false
		r.down[spec.RoleExec] = true
		r.tryShare()
	case st != nil && st.Configured:
		r.adm = nil
		r.admitted(spec.RoleExec)
	}
}
