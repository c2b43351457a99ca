package operator

import (
	"context"
	"errors"
	"fmt"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// Renewing an overtaken admission (SPEC.md §17.5 step 3): when an epoch change that
// does not admit this replica's fresh compartments comes first (another replica's
// admission or a proposal ended the epoch), their evidence and attestations bind the
// old epoch and can never count. The broker hands the roles back (EpochHooks.Renew);
// the replica closes those processes, starts new ones of the same builds, Inits them
// for the new epoch and admits them again, with no operator involved.

// maxRenewTries bounds how often one renewal starts new processes because the epoch
// moved on while they started; each overtaking epoch change hands the roles back again.
const maxRenewTries = 4

// renew starts fresh compartments of roles for the epoch with digest cd and has the
// broker admit them. It runs off the broker's event loop.
func (rp *replica) renew(ctx context.Context, roles []spec.Role, cd spec.Digest) {
	rp.log.Info("admission overtaken by another epoch change: starting fresh compartments for the new epoch", "roles", roleNames(roles))
	for try := 0; try < maxRenewTries; try++ {
		fresh, err := rp.startFresh(ctx, roles, cd)
		if err == nil {
			var now spec.Digest
			var aerr error
			err = rp.query(ctx, func(r *broker.Replica) {
				if now = r.ConfigDigest(); now == cd {
					aerr = r.Admit(fresh)
				}
			})
			err = errors.Join(err, aerr)
			if err == nil && now != cd {
				cd = now // the epoch moved on while they started: their challenge is stale
				continue
			}
		}
		if err != nil {
			rp.renewFailed(roles, err)
			return
		}
		rp.log.Info("admission started again: fresh compartments sent to the peers for attestation", "roles", roleNames(roles))
		return
	}
	rp.renewFailed(roles, errors.New("the epoch kept changing while fresh compartments started"))
}

// query runs f on the broker's event loop once the replica runs.
func (rp *replica) query(ctx context.Context, f func(*broker.Replica)) error {
	rp.n.mu.Lock()
	host := rp.n.host
	rp.n.mu.Unlock()
	if host == nil {
		return errors.New("the replica is not running")
	}
	return host.Query(ctx, f)
}

// startFresh starts and Inits one fresh process per role (the build the one it
// replaces runs) as the role's pending process, closing any pending one.
func (rp *replica) startFresh(ctx context.Context, roles []spec.Role, cd spec.Digest) ([]broker.Fresh, error) {
	var fresh []broker.Fresh
	for _, role := range roles {
		p, enr, err := rp.startOne(ctx, role, rp.freshBuild(role), cd)
		if err != nil {
			return nil, err
		}
		rp.mu.Lock()
		old := rp.pending[role]
		rp.pending[role] = p
		rp.mu.Unlock()
		if old != nil {
			go old.proc.Close()
		}
		fresh = append(fresh, broker.Fresh{Role: role, Enclave: p.w, Enrollment: enr})
	}
	return fresh, nil
}

// freshBuild is the build a renewed compartment of role runs: the pending one's (a
// recovery may switch builds), else the running one's.
func (rp *replica) freshBuild(role spec.Role) string {
	rp.mu.Lock()
	p := rp.pending[role]
	rp.mu.Unlock()
	if p != nil {
		return p.w.Build
	}
	rp.n.mu.Lock()
	defer rp.n.mu.Unlock()
	if w := rp.n.watched[role]; w != nil {
		return w.Build
	}
	return rp.t.Replicas[rp.opt.ID].Build(role)
}

// renewFailed reports a renewal that could not start: a rejoining replica shows the
// error (its compartments are down), a recovering one keeps its old compartments.
func (rp *replica) renewFailed(roles []spec.Role, err error) {
	err = fmt.Errorf("operator: renew the admission of %v: %w", roleNames(roles), err)
	if rp.join {
		rp.log.Error("admission failed; restart the replica to try again", "err", err)
		rp.n.set(func(n *node) { n.err = err.Error() })
	} else {
		rp.log.Warn("recovery abandoned; the old compartments stay in service", "err", err)
	}
	for _, role := range roles {
		rp.dropPending(role)
	}
}

func roleNames(roles []spec.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = spec.RoleName(r)
	}
	return out
}
