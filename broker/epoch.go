package broker

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// The broker's side of epochs (SPEC.md §17): it verifies every epoch change it sees
// and every recovery (EC1–EC4 or RC1–RC5, spec.VerifyStep), keeps the chain from the genesis configuration
// (served as GET /chain, §17.7), delivers a valid change to its compartments, switches
// its own configuration (client table, R5 checks, budgets, timers), and forwards the
// changes a lagging peer lacks. An invalid epoch change is dropped and counted: it
// never reaches a compartment and changes nothing.

// maxForward bounds the epoch changes sent to one peer per forwarding round.
const maxForward = 8

// chain is the configuration chain the broker accepted.
type chain struct {
	genesis []byte      // canonical encoding of the first configuration
	first   uint64      // its epoch
	changes []spec.Step // accepted chain steps (epoch changes, recoveries), in order: changes[i] starts epoch first+i+1
	raws    [][]byte    // their canonical encodings
	fwdAt   []uint64    // by peer: the tick before which it gets no forward again
}

// EpochHooks are the host's callbacks for epochs and admission. Each runs on the
// broker's event loop and must not call back into the Replica. Nil hooks are skipped.
type EpochHooks struct {
	// Epoch is called after the broker adopted configuration cfg (the chain step st,
	// an epoch change or a recovery, certified it): the host persists the chain,
	// updates peers' addresses and the client table of its transport, and logs the
	// epoch.
	Epoch func(cfg *spec.Config, st *spec.Step)
	// Submit returns the encoded REQUEST of the replica's broker client (SPEC.md
	// §13.4) whose operations are ops (ConfigOps), signed and sealed for cfg. It is
	// called again for each retry of the same ops in the same epoch and must then
	// return a request with the same timestamp (§17.5 step 3).
	Submit func(cfg *spec.Config, ops [][]byte) ([]byte, error)
	// Admitted is called when fresh compartment role was configured with the epoch
	// that admitted it; Retired when the compartment it replaced is out of service
	// (the host closes it).
	Admitted func(role spec.Role, epoch uint64)
	Retired  func(role spec.Role, old Enclave)
	// Renew is called when an epoch change that does not admit the admission in
	// progress came first (another replica's admission or a proposal ended the
	// epoch): the fresh compartments of roles were not admitted, and their evidence
	// and attestations bind the old epoch, so they never can be. The admission has
	// ended (Admitting is false). The host closes them, starts new fresh compartments
	// of the same roles, Inits them with Challenge = cd (the new epoch's digest) and
	// calls Admit again: the retry needs no operator (SPEC.md §17.5 step 3). Without
	// a Renew hook, AdmitFailed is called instead.
	Renew func(roles []spec.Role, cd spec.Digest)
	// AdmitFailed is called when an admission cannot complete (Submit failed, or it
	// was overtaken and there is no Renew hook).
	AdmitFailed func(err error)
}

// SetHooks installs the host's callbacks.
func (r *Replica) SetHooks(h EpochHooks) { r.hooks = h }

// SetChain replaces the chain the broker serves and forwards by genesis (a canonical
// Config) followed by changes. The chain must verify (spec.VerifySteps) and end at
// the configuration the Replica was created with; otherwise nothing changes. Without
// SetChain the chain is that configuration alone.
func (r *Replica) SetChain(genesis []byte, changes []spec.Step) error {
	var g spec.Config
	if err := spec.Decode(genesis, &g, spec.MaxMessageBytes); err != nil {
		return fmt.Errorf("broker: genesis configuration: %w", err)
	}
	last, err := spec.VerifySteps(&g, changes, verifyEd, AdmitKey)
	if err != nil {
		return fmt.Errorf("broker: chain: %w", err)
	}
	if spec.ConfigDigest(last) != r.cd {
		return fmt.Errorf("broker: chain ends at epoch %d, not at this replica's configuration", last.Epoch)
	}
	r.chain.genesis, r.chain.first = bytes.Clone(genesis), g.Epoch
	r.chain.changes, r.chain.raws = nil, nil
	for i := range changes {
		r.chain.changes = append(r.chain.changes, changes[i])
		r.chain.raws = append(r.chain.raws, spec.Encode(&changes[i]))
	}
	return nil
}

// Chain returns the genesis configuration's canonical bytes and the chain steps
// accepted since, in order (copies).
func (r *Replica) Chain() ([]byte, []spec.Step) {
	return bytes.Clone(r.chain.genesis), append([]spec.Step(nil), r.chain.changes...)
}

// Config returns the configuration the broker currently serves (do not modify).
func (r *Replica) Config() *spec.Config { return r.cfg }

// ConfigDigest returns the digest of the current configuration: the challenge of a
// fresh compartment's Init (SPEC.md §17.5 step 1).
func (r *Replica) ConfigDigest() spec.Digest { return r.cd }

// verifyStep checks a chain step (an epoch change or a recovery) against the current
// configuration (spec.VerifyStep). It returns nil, quietly, for a step the chain
// already holds.
func (r *Replica) verifyStep(raw []byte, st *spec.Step) (*spec.Config, error) {
	for _, old := range r.chain.raws {
		if bytes.Equal(old, raw) {
			return nil, nil
		}
	}
	return spec.VerifyStep(r.cfg, r.cd, r.cfg.StartSeq, st, verifyEd, AdmitKey)
}

// onPeerEpochChange takes an epoch change from a peer broker: if valid, the broker
// adopts it and delivers it to all three compartments (SPEC.md §13.1).
func (r *Replica) onPeerEpochChange(raw []byte, ec *spec.EpochChange) {
	st := spec.ChangeStep(*ec)
	next, err := r.verifyStep(raw, &st)
	if err != nil || next == nil {
		r.m.BadEpochChanges += b2u(err != nil)
		return
	}
	installed := r.adoptEpoch(next, raw, &st)
	r.deliverLocal(spec.KindEpochChange, raw, ec, (spec.ToPrep|spec.ToConf|spec.ToExec)&^installed, 0)
}

// onEpochChangeOutput takes the epoch change the local exec emitted: if valid, the
// broker adopts it and routes it (prep and conf here, the peers in its To).
func (r *Replica) onEpochChangeOutput(role spec.Role, o *spec.Output) {
	var ec spec.EpochChange
	if role != spec.RoleExec || spec.Decode(o.Body, &ec, spec.MaxBodyBytes(spec.KindEpochChange)) != nil {
		r.m.Garbage++
		return
	}
	st := spec.ChangeStep(ec)
	next, err := r.verifyStep(o.Body, &st)
	if err != nil || next == nil {
		r.m.BadEpochChanges += b2u(err != nil)
		if err != nil {
			r.execCD = spec.Digest{} // exec left the configuration in force, for one the broker does not know
		}
		return
	}
	installed := r.adoptEpoch(next, o.Body, &st)
	r.execCD = r.cd // exec emitted it: it runs the new epoch already
	r.deliverLocal(spec.KindEpochChange, o.Body, &ec, (spec.ToPrep|spec.ToConf)&^installed, 0)
	for _, to := range o.To.Replicas {
		if to != r.id && to < r.cfg.N {
			r.sendPeer(to, EncodePeer(spec.KindEpochChange, o.Body))
		}
	}
}

// adoptEpoch switches the broker to next, certified by st (raw its encoding): the chain
// grows; inputs queued for the old epoch, queued and timed client requests (signed
// under the old digest: clients re-sign them, §17.4), view-change and retransmission
// state are dropped; the new epoch's genesis certificate is the state to ask for; the
// change is pushed to the connected clients when the Net can (EpochNet, §17.7). It
// returns the roles of fresh compartments the change admitted and installed
// (admission.go), which must not get the change as an input.
func (r *Replica) adoptEpoch(next *spec.Config, raw []byte, st *spec.Step) uint64 {
	r.chain.changes = append(r.chain.changes, *st)
	r.chain.raws = append(r.chain.raws, bytes.Clone(raw))
	prev := r.cfg
	r.cfg, r.cd = next, spec.ConfigDigest(next)
	if r.opt.Ledger != nil {
		r.opt.Ledger.Epoch(raw, st, next)
	}
	r.m.Epochs++
	for role := range r.in {
		r.resetInputs(spec.Role(role))
		r.status[role].View, r.status[role].ViewActive = 0, true
	}
	r.batchIn = 0
	r.batch = newBatcher(batchHostOf{r}, &r.opt)
	lastDone := r.lastDone
	r.timers.init()
	r.lastDone = lastDone
	r.forgetRekeyed(prev, next)
	clear(r.sigFailed)
	r.snap = nil // chunks sealed under the old epoch's state key would not open in the new one
	r.resetRecovery()
	installed := r.installAdmitted()
	if r.hooks.Epoch != nil {
		r.hooks.Epoch(next, st)
	}
	if en, ok := r.net.(EpochNet); ok {
		en.Epoch(raw) // after the hook: the client port already knows the new epoch's clients
	}
	return installed
}

// resetRecovery drops the old epoch's caches (nothing in them is valid under the new
// digest) and records the epoch's genesis certificate as the state a fresh or lagging
// exec asks for (SPEC.md §17.4 step 3).
func (r *Replica) resetRecovery() {
	hints, fwd := r.hints, r.chain.fwdAt
	r.recovery.init(r.cfg, r.opt)
	r.hints = hints
	r.chain.fwdAt = fwd
	if r.cfg.StartSeq > 0 {
		r.certStates[r.cfg.StartSeq] = []spec.Digest{r.cfg.StartState}
	}
}

// forwardEpochs sends peer p the epoch changes it lacks, by its latest hint, at most
// once per RetransmitTicks and maxForward at a time (SPEC.md §17.7). A peer that
// lies about its epoch costs that much bandwidth.
func (r *Replica) forwardEpochs(p uint64) {
	h := &r.hints[p]
	if h.Epoch >= r.cfg.Epoch || h.Epoch < r.chain.first || r.now < r.chain.fwdAt[p] {
		return
	}
	r.chain.fwdAt[p] = r.now + uint64(r.opt.RetransmitTicks)
	from := h.Epoch - r.chain.first
	for i := from; i < uint64(len(r.chain.raws)) && i < from+maxForward; i++ {
		r.m.EpochForwards++
		r.sendPeer(p, EncodePeer(stepKind(&r.chain.changes[i]), r.chain.raws[i]))
	}
}

// stepKind is the peer kind that carries a chain step: recovery or epoch-change.
func stepKind(st *spec.Step) uint64 {
	if st.Recovery != nil {
		return spec.KindRecovery
	}
	return spec.KindEpochChange
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// forgetRekeyed forgets, for each client that prev registers and next does not
// register with the same keys (removed, or registered again with new keys, as a
// restarted gateway's identities are), the newest timestamp its exec answered and its
// request budget, and marks its held replies forgotten: exec drops their client-table
// entries at the epoch boundary (SPEC §17.3), so the identity under its new keys
// starts afresh, its timestamps possibly at 1, and its requests must not be dropped at
// the edge as older than what the old identity got answered (staleAtEdge), nor by a
// reply to the old identity released after the change.
func (r *Replica) forgetRekeyed(prev, next *spec.Config) {
	var gone []uint64
	for _, c := range prev.Clients {
		if n := next.Client(c.ID); n == nil || n.SignKey != c.SignKey || n.BoxKey != c.BoxKey {
			gone = append(gone, c.ID)
			delete(r.lastDone, c.ID)
			delete(r.rate, c.ID)
		}
	}
	if len(gone) == 0 {
		return
	}
	mark := func(hs []heldReply) {
		for i := range hs {
			if slices.Contains(gone, hs[i].client) {
				hs[i].forgotten = true
			}
		}
	}
	mark(r.held.Items())
	mark(r.stepReplies)
}
