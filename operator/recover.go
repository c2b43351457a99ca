package operator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/procenclave"
	"github.com/splitbft/splitbft/spec"
)

// Replacing one compartment of a running replica (SPEC.md §17.5, §17.6): `splitbft
// recover` asks the replica's status port (POST /admin/recover, loopback only); the
// replica starts a fresh process of the role (optionally another accepted build),
// Inits it for the current epoch and has its broker admit it; the old process is
// closed when the epoch change retires it. `splitbft replica --recover-every D` does
// the same in its time slots.

// RecoverPath is the status port's admin endpoint: POST RecoverPath?role=R[&build=B].
const RecoverPath = "/admin/recover"

// pendingProc is a fresh compartment process waiting for its admission.
type pendingProc struct {
	proc *procenclave.Process
	w    *Watched
}

// recoverRole starts a fresh compartment of role running build and has the broker
// admit it. It fails while another admission is in progress.
func (rp *replica) recoverRole(ctx context.Context, role spec.Role, build string) error {
	if err := rp.t.checkBuild(role, build); err != nil {
		return fmt.Errorf("operator: recover: %w", err)
	}
	rp.n.mu.Lock()
	host := rp.n.host
	rp.n.mu.Unlock()
	if host == nil {
		return errors.New("operator: recover: the replica is not running yet")
	}
	var cd spec.Digest
	busy := false
	if err := host.Query(ctx, func(r *broker.Replica) { cd, busy = r.ConfigDigest(), r.Admitting() }); err != nil {
		return err
	}
	if busy {
		return broker.ErrAdmitting
	}
	p, enr, err := rp.startOne(ctx, role, build, cd)
	if err != nil {
		return err
	}
	rp.mu.Lock()
	rp.pending[role] = p
	rp.mu.Unlock()
	var aerr error
	qerr := host.Query(ctx, func(r *broker.Replica) {
		aerr = r.Admit([]broker.Fresh{{Role: role, Enclave: p.w, Enrollment: enr}})
	})
	if err := errors.Join(qerr, aerr); err != nil {
		rp.dropPending(role)
		return fmt.Errorf("operator: recover %s: %w", spec.RoleName(role), err)
	}
	rp.log.Info("recovery started: fresh compartment sent for attestation", "role", spec.RoleName(role), "build", build, "pid", p.proc.Pid())
	return nil
}

// startOne starts and Inits one compartment process for the epoch with digest cd.
func (rp *replica) startOne(ctx context.Context, role spec.Role, build string, cd spec.Digest) (*pendingProc, spec.Enrollment, error) {
	me := &rp.t.Replicas[rp.opt.ID]
	builds := [3]string{me.Prep, me.Conf, me.Exec}
	builds[role] = build
	paths, err := EnsureBinaries(ctx, rp.binDir, builds, rp.buildBins, rp.log)
	if err != nil {
		return nil, spec.Enrollment{}, err
	}
	argv := append(append([]string(nil), rp.opt.Runner...), paths[role])
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = rp.opt.Stderr
	setDeathSignal(cmd)
	proc, err := procenclave.StartCmd(cmd)
	if err != nil {
		return nil, spec.Enrollment{}, fmt.Errorf("operator: start %s: %w", spec.RoleName(role), err)
	}
	w := Watch(proc, role, build, rp.log)
	var enr spec.Enrollment
	raw, err := w.Init(spec.Encode(&spec.InitRequest{Role: role, Replica: rp.opt.ID, Challenge: cd}))
	if err == nil {
		err = spec.Decode(raw, &enr, spec.MaxMessageBytes)
	}
	if err == nil && (enr.Body.Role != role || enr.Body.Replica != rp.opt.ID) {
		err = fmt.Errorf("enrolled as role %d replica %d", enr.Body.Role, enr.Body.Replica)
	}
	if err != nil {
		proc.Close()
		return nil, spec.Enrollment{}, fmt.Errorf("operator: init fresh %s: %w", spec.RoleName(role), err)
	}
	return &pendingProc{proc: proc, w: w}, enr, nil
}

// retire swaps the admitted process of role in for the retired one and closes the
// latter (the broker's Retired hook, or Admitted for a renewed one; on its event
// loop). Without a pending process of role it does nothing, so a second call for the
// same admission is harmless.
func (rp *replica) retire(role spec.Role) {
	rp.mu.Lock()
	p := rp.pending[role]
	rp.pending[role] = nil
	old := rp.procs[role]
	if p != nil {
		rp.procs[role] = p.proc
	}
	rp.mu.Unlock()
	if p == nil {
		return
	}
	rp.n.set(func(n *node) { n.watched[role] = p.w })
	if old != nil {
		go old.Close()
	}
}

// hasPending reports whether a fresh process of role waits for its admission.
func (rp *replica) hasPending(role spec.Role) bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.pending[role] != nil
}

// dropPending closes a fresh process whose admission failed.
func (rp *replica) dropPending(role spec.Role) {
	rp.mu.Lock()
	p := rp.pending[role]
	rp.pending[role] = nil
	rp.mu.Unlock()
	if p != nil {
		go p.proc.Close()
	}
}

// serveRecover is the handler of POST RecoverPath: loopback clients only.
func (rp *replica) serveRecover(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "recover is accepted from loopback only", http.StatusForbidden)
		return
	}
	role, ok := roleByName[r.URL.Query().Get("role")]
	if !ok {
		http.Error(w, "role must be prep, conf or exec", http.StatusBadRequest)
		return
	}
	build := r.URL.Query().Get("build")
	if build == "" {
		build = rp.t.Replicas[rp.opt.ID].Build(role)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := rp.recoverRole(ctx, role, build); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, broker.ErrAdmitting) {
			code = http.StatusConflict
		}
		http.Error(w, err.Error(), code)
		return
	}
	fmt.Fprintf(w, "replica %d: fresh %s (%s) started; admission in progress (splitbft status shows the epoch)\n", rp.opt.ID, spec.RoleName(role), build)
}

// recoverSlot returns the slot of length slot that now falls in, and whether replica
// id may start a recovery in it (SPEC.md §17.6): the slot is id's (t mod n == id), no
// recovery started in it yet (t != last), and the epoch has not changed for one slot.
func recoverSlot(now time.Time, slot time.Duration, n, id uint64, last int64, epochAt time.Time) (int64, bool) {
	t := now.UnixNano() / int64(slot)
	return t, uint64(t)%n == id && t != last && now.Sub(epochAt) >= slot
}

// recoverLoop replaces this replica's compartments in turn (prep, conf, exec, …) in
// the time slots of SPEC.md §17.6: slot t of length every/n belongs to replica t mod
// n, and a recovery starts only when the epoch has not changed for one slot.
func (rp *replica) recoverLoop(ctx context.Context, every time.Duration) {
	n := rp.t.N
	slot := every / time.Duration(n)
	if slot <= 0 {
		return
	}
	tick := time.NewTicker(max(slot/4, 10*time.Millisecond))
	defer tick.Stop()
	next, last := spec.RolePrep, int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t, ok := recoverSlot(now, slot, n, rp.opt.ID, last, rp.n.epochSince())
			if !ok {
				continue
			}
			last = t
			err := rp.recoverRole(ctx, next, rp.t.Replicas[rp.opt.ID].Build(next))
			if err != nil {
				rp.log.Warn("proactive recovery not started", "role", spec.RoleName(next), "err", err)
				continue
			}
			next = (next + 1) % 3
		}
	}
}
