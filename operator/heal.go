package operator

import (
	"context"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// Replacing a compartment whose process died (SPEC.md §17.6): the replica does not
// wait for an operator. A dead compartment is never restarted in place (its keys are
// gone, DESIGN §5); a fresh process of the same build is started and admitted in a
// new epoch exactly as `splitbft recover` does.

// healEvery is how often the replica looks for a dead compartment; healBackoff how
// long it waits before it tries again for the same role after a replacement was
// started or refused (another admission in progress, no quorum yet).
const (
	healEvery   = time.Second
	healBackoff = 10 * time.Second
)

// healLoop replaces dead compartments until ctx ends.
func (rp *replica) healLoop(ctx context.Context) {
	tick := time.NewTicker(healEvery)
	defer tick.Stop()
	var next [3]time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for role := range spec.Role(3) {
				if now.Before(next[role]) {
					continue
				}
				if w := rp.inService(role); w != nil && w.Dead() != nil {
					next[role] = now.Add(healBackoff)
					rp.heal(ctx, role, w)
				}
			}
		}
	}
}

// inService returns the watched compartment of role that the broker runs, or nil.
func (rp *replica) inService(role spec.Role) *Watched {
	rp.n.mu.Lock()
	defer rp.n.mu.Unlock()
	return rp.n.watched[role]
}

// heal starts the replacement of dead compartment w.
func (rp *replica) heal(ctx context.Context, role spec.Role, w *Watched) {
	if err := rp.recoverRole(ctx, role, w.Build); err != nil {
		rp.log.Warn("dead compartment not replaced yet; retrying", "role", spec.RoleName(role), "build", w.Build, "err", err, "retry_in", healBackoff)
		return
	}
	rp.log.Info("replacing a dead compartment: a fresh process is being admitted", "role", spec.RoleName(role), "build", w.Build, "dead", w.Dead())
}
