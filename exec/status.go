package exec

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// maxNeedBatch bounds Status.NeedBatch (§11.8).
const maxNeedBatch = 64

// status returns the Status of SPEC.md §11.8; before configure, §7.4's
// Status{Role, Replica} with every other field zero. NeedBatch lists each missing
// digest once, at its lowest committed sequence number. While replaying (§17.8)
// Configured and ViewActive are false and View 0, but Stable (the base), Last,
// NeedState (the base not yet installed) and NeedBatch are filled, so that the
// broker can feed the replay as it feeds state transfer and execution.
func (e *Exec) status() *spec.Status {
	st := &spec.Status{Role: spec.RoleExec, Replica: e.replica}
	if !e.configured && e.rec == nil {
		return st
	}
	st.Configured, st.ViewActive = e.configured, e.configured
	st.View, st.Stable, st.Last = e.view, e.ck.h, e.lastExec
	st.NeedState = e.ck.h > e.lastExec
	for _, s := range sortedKeys(e.committed) {
		if len(st.NeedBatch) == maxNeedBatch {
			break
		}
		if d := e.committed[s]; d != e.null && e.batches[d] == nil && !slices.Contains(st.NeedBatch, d) {
			st.NeedBatch = append(st.NeedBatch, d)
		}
	}
	return st
}

// sortedKeys returns the keys of m in increasing order.
func sortedKeys[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// StateDigestAt returns the sequence number of the last executed batch and the
// StateDigest the compartment's state would have in a checkpoint at that point. It is
// a read-only helper for tests and the simulator; it changes no protocol state (the
// application may update its internal snapshot cache).
func (e *Exec) StateDigestAt() (seq uint64, d spec.Digest) {
	if !e.configured && e.rec == nil {
		return 0, d
	}
	data := spec.Encode(&spec.Snapshot{Seq: e.lastExec, App: e.app.Snapshot(), Clients: e.clientEntries()})
	return e.lastExec, spec.StateDigest(data)
}

// StoreSizes reports the sizes of the bounded stores: batches held, sequence numbers
// with stored commits, committed entries, own unstable snapshots, and stored
// checkpoints (over all senders). A read-only helper for tests and the simulator.
func (e *Exec) StoreSizes() (batches, commits, committed, snapshots, checkpoints int) {
	for _, m := range e.ck.cps {
		checkpoints += len(m)
	}
	return len(e.batches), len(e.commits), len(e.committed), len(e.snapshots), checkpoints
}

// DebugState returns a deterministic multi-line dump of the protocol state and the
// application digest, for tests and the simulator. Two compartments in the same state
// give the same text; every accepted input that changes state changes it. It never
// shows secret keys.
func (e *Exec) DebugState() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exec replica=%d inited=%t configured=%t dealt=%t G=%x\n", e.replica, e.inited, e.configured, e.dealt, e.groupPub[:8])
	if !e.configured && e.rec == nil {
		return b.String()
	}
	fmt.Fprintf(&b, "epoch=%d cd=%x retired=%t\n", e.cfg.Epoch, e.cd[:8], e.retired)
	if r := e.rec; r != nil {
		fmt.Fprintf(&b, "replay head=%d voted=%t lead=%d stuck=%t\n", r.head, r.next != nil, len(r.lead), r.stuck)
		for _, s := range sortedKeys(r.votes) {
			fmt.Fprintf(&b, "recovery-vote r=%d next=%x\n", s, r.votes[s].Body.Next[:8])
		}
	}
	fmt.Fprintf(&b, "view=%d h=%d stable=%x proof=%d last=%d app=%x\n", e.view, e.ck.h, e.ck.stableCert.State[:8], len(e.ck.stableCert.Proof), e.lastExec, e.app.Digest())
	if e.next != nil {
		fmt.Fprintf(&b, "next=%x start=%d state=%x\n", e.next.digest[:8], e.next.cfg.StartSeq, e.next.snap.digest[:8])
	}
	for _, r := range sortedKeys(e.votes) {
		fmt.Fprintf(&b, "vote r=%d next=%x\n", r, e.votes[r].Body.Next[:8])
	}
	for _, s := range sortedKeys(e.commits) {
		for _, r := range sortedKeys(e.commits[s]) {
			c := e.commits[s][r]
			fmt.Fprintf(&b, "commit s=%d r=%d v=%d d=%x sig=%x\n", s, r, c.Body.View, c.Body.Digest[:8], c.Sig[:8])
		}
	}
	for _, s := range sortedKeys(e.committed) {
		d := e.committed[s]
		fmt.Fprintf(&b, "committed s=%d d=%x\n", s, d[:8])
	}
	e.dumpStores(&b)
	return b.String()
}

// dumpStores writes the batches, snapshots, checkpoints, transfer and client table.
func (e *Exec) dumpStores(b *strings.Builder) {
	ds := make([]string, 0, len(e.batches))
	for d := range e.batches {
		ds = append(ds, fmt.Sprintf("%x stored-at=%d", d[:], e.batchAge[d]))
	}
	sort.Strings(ds)
	for _, d := range ds {
		fmt.Fprintf(b, "batch %s %s\n", d[:16], d[65:])
	}
	for _, s := range sortedKeys(e.snapshots) {
		fmt.Fprintf(b, "snapshot s=%d d=%x\n", s, e.snapshots[s].digest[:8])
	}
	if e.stable != nil {
		fmt.Fprintf(b, "stable-snapshot s=%d d=%x bytes=%d\n", e.stable.seq, e.stable.digest[:8], len(e.stable.data))
	}
	for _, r := range sortedKeys(e.ck.cps) {
		for _, s := range sortedKeys(e.ck.cps[r]) {
			c := e.ck.cps[r][s]
			fmt.Fprintf(b, "checkpoint r=%d s=%d d=%x\n", r, s, c.Body.State[:8])
		}
	}
	if tr := e.transfer; tr != nil {
		fmt.Fprintf(b, "transfer count=%d size=%d held=%v\n", tr.count, tr.size, sortedKeys(tr.chunks))
	}
	for _, c := range sortedKeys(e.table) {
		ent := e.table[c]
		h := spec.Hash("debug", spec.Encode(ent))
		fmt.Fprintf(b, "client c=%d t=%d results=%d h=%x\n", c, ent.Timestamp, len(ent.Results), h[:8])
	}
}
