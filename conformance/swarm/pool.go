package swarm

import (
	"bytes"
	"crypto/ed25519"

	"github.com/splitbft/splitbft/spec"
)

// origin says who produced a pooled message.
type origin uint8

const (
	fromCorrect   origin = iota // a correct (or mutant) enclave
	fromByzantine               // a Byzantine enclave, with its real key
	fromRestarted               // a restarted enclave: fresh keys not in the configuration
)

// msg is one message in the pool: every protocol message any enclave ever emitted.
type msg struct {
	kind   uint64 // as emitted: proposal, prepare, commit, checkpoint, view-change, new-view, state-chunk
	body   []byte
	from   enclaveID
	signer spec.PublicKey // the producer's signing key
	gen    uint64         // the producer's generation
	epoch  uint64         // the producer's epoch; epoch-change: the epoch it certifies
	origin origin
	step   int
	view   uint64 // slot messages and view changes: the view; checkpoints: 0
	seq    uint64 // slot messages and checkpoints: the sequence number
	digest spec.Digest
	header []byte   // proposal: enc(Header), delivered to conf as pre-prepare
	batch  []byte   // proposal: enc(Batch), delivered to exec as batch
	to     []uint64 // state-chunk: the requester
}

// delivery is one message routed to one compartment, as an input of kind.
type delivery struct {
	msg  int // pool index, or -1 for an adversary-made input
	to   enclaveID
	kind uint64
	body []byte
}

// batchInfo is a batch seen anywhere, by digest.
type batchInfo struct {
	raw   []byte
	b     spec.Batch
	valid map[uint64]int8 // epoch → R1–R5 on every request under it: 0 unknown, 1 valid, −1 invalid
}

// emit decodes a protocol message an enclave produced, adds it to the pool and queues
// its deliveries by the routing table of SPEC.md §13.1.
func (s *sim) emit(from enclaveID, og origin, kind uint64, body []byte, to []uint64) {
	v, err := spec.DecodeKind(kind, body)
	if err != nil {
		s.fail("output-shape", "%s emitted an undecodable %s: %v", from, spec.KindName(kind), err)
		return
	}
	m := msg{kind: kind, body: body, from: from, origin: og, step: s.step, to: to}
	if nd := s.nodes[from.Replica][from.Role]; nd != nil {
		copy(m.signer[:], nd.key.Public().(ed25519.PublicKey))
		m.gen, m.epoch = nd.gen, nd.epoch
	}
	switch b := v.(type) {
	case *spec.Proposal:
		m.view, m.seq, m.digest = b.Header.Body.View, b.Header.Body.Seq, b.Header.Body.Digest
		m.header, m.batch = spec.Encode(&b.Header), spec.Encode(&b.Batch)
		s.noteBatch(m.batch, &b.Batch)
	case *spec.Prepare:
		m.view, m.seq, m.digest = b.Body.View, b.Body.Seq, b.Body.Digest
	case *spec.Commit:
		m.view, m.seq, m.digest = b.Body.View, b.Body.Seq, b.Body.Digest
	case *spec.Checkpoint:
		m.seq, m.digest = b.Body.Seq, b.Body.State
		s.noteCheckpoint(b)
	case *spec.ViewChange:
		m.view = b.Body.View
	case *spec.NewView:
		m.view = b.Body.View
	case *spec.StateChunk:
		m.seq, m.digest = b.Seq, b.State
	case *spec.EpochChange:
		m.epoch, _ = changeEpoch(body)
	}
	id := len(s.pool)
	s.pool = append(s.pool, m)
	s.byKind[kind] = append(s.byKind[kind], id)
	s.pending = append(s.pending, s.routes(id)...)
	if len(s.pending) > maxPending {
		s.pending = s.pending[len(s.pending)-maxPending:] // a bounded queue drops its oldest
	}
	if kind == spec.KindEpochChange {
		s.noteEpochChange(body)
	}
}

// maxPending bounds the queue of pending deliveries.
const maxPending = 6000

// routes returns the deliveries of pool message id (SPEC.md §13.1).
func (s *sim) routes(id int) []delivery {
	m := &s.pool[id]
	n := s.cfg.N
	var out []delivery
	add := func(role spec.Role, r uint64, kind uint64, body []byte) {
		out = append(out, delivery{msg: id, to: enclaveID{role, r}, kind: kind, body: body})
	}
	for r := range n {
		switch m.kind {
		case spec.KindProposal:
			if r != m.from.Replica {
				add(spec.RolePrep, r, spec.KindProposal, m.body)
			}
			add(spec.RoleConf, r, spec.KindPrePrepare, m.header)
			add(spec.RoleExec, r, spec.KindBatch, m.batch)
		case spec.KindPrepare:
			add(spec.RoleConf, r, spec.KindPrepare, m.body)
		case spec.KindCommit:
			add(spec.RoleExec, r, spec.KindCommit, m.body)
		case spec.KindCheckpoint:
			add(spec.RolePrep, r, spec.KindCheckpoint, m.body)
			add(spec.RoleConf, r, spec.KindCheckpoint, m.body)
			if r != m.from.Replica {
				add(spec.RoleExec, r, spec.KindCheckpoint, m.body)
			}
		case spec.KindViewChange:
			add(spec.RolePrep, r, spec.KindViewChange, m.body)
		case spec.KindNewView:
			if r != m.from.Replica {
				add(spec.RolePrep, r, spec.KindNewView, m.body)
			}
			add(spec.RoleConf, r, spec.KindNewView, m.body)
			add(spec.RoleExec, r, spec.KindNewView, m.body)
		case spec.KindEpochVote:
			if r != m.from.Replica {
				add(spec.RoleExec, r, spec.KindEpochVote, m.body)
			}
		case spec.KindEpochChange:
			add(spec.RolePrep, r, spec.KindEpochChange, m.body)
			add(spec.RoleConf, r, spec.KindEpochChange, m.body)
			if r != m.from.Replica {
				add(spec.RoleExec, r, spec.KindEpochChange, m.body)
			}
		}
	}
	if m.kind == spec.KindStateChunk {
		for _, r := range m.to {
			if r < n {
				add(spec.RoleExec, r, spec.KindStateChunk, m.body)
			}
		}
	}
	return out
}

// anyRoute returns a random delivery of pool message id to any compartment that
// accepts its kind, including the producer itself (a malicious broker may).
func (s *sim) anyRoute(id int) delivery {
	m := &s.pool[id]
	r := s.rng.Uint64N(s.cfg.N)
	switch m.kind {
	case spec.KindProposal:
		switch s.rng.IntN(3) {
		case 0:
			return delivery{id, enclaveID{spec.RolePrep, r}, spec.KindProposal, m.body}
		case 1:
			return delivery{id, enclaveID{spec.RoleConf, r}, spec.KindPrePrepare, m.header}
		}
		return delivery{id, enclaveID{spec.RoleExec, r}, spec.KindBatch, m.batch}
	case spec.KindPrepare:
		return delivery{id, enclaveID{spec.RoleConf, r}, m.kind, m.body}
	case spec.KindCommit, spec.KindStateChunk, spec.KindEpochVote:
		return delivery{id, enclaveID{spec.RoleExec, r}, m.kind, m.body}
	case spec.KindCheckpoint, spec.KindNewView, spec.KindEpochChange:
		return delivery{id, enclaveID{spec.Role(s.rng.IntN(3)), r}, m.kind, m.body}
	}
	return delivery{id, enclaveID{spec.RolePrep, r}, m.kind, m.body} // view-change
}

// noteBatch indexes a batch by digest.
func (w *world) noteBatch(raw []byte, b *spec.Batch) spec.Digest {
	d := spec.BatchDigest(b)
	if _, ok := w.batches[d]; !ok {
		w.batches[d] = &batchInfo{raw: raw, b: *b}
		w.batchList = append(w.batchList, d)
	}
	return d
}

// batchValid reports whether every request of the batch passes R1–R5 (SPEC.md §5)
// under the configuration of epoch e.
func (w *world) batchValid(bi *batchInfo, e uint64) bool {
	if bi.valid == nil {
		bi.valid = map[uint64]int8{}
	}
	if bi.valid[e] == 0 {
		bi.valid[e] = 1
		for i := range bi.b.Requests {
			if !w.requestValid(&bi.b.Requests[i], w.epochs[e]) {
				bi.valid[e] = -1
				break
			}
		}
	}
	return bi.valid[e] > 0
}

// requestValid checks R1–R5 of SPEC.md §5 on one request under epoch ep.
func (w *world) requestValid(r *spec.Request, ep epochInfo) bool {
	cfg := ep.cfg
	c := cfg.Client(r.Body.Client)
	if c == nil || len(r.Body.Ops) == 0 || uint64(len(r.Body.Ops)) > cfg.MaxRequestOps {
		return false
	}
	for _, op := range r.Body.Ops {
		if len(op.Ciphertext) < 17 || uint64(len(op.Ciphertext)) > cfg.MaxOpBytes {
			return false
		}
	}
	if r.Body.Timestamp == 0 || r.Body.Timestamp-1 > ^uint64(0)-uint64(len(r.Body.Ops)) {
		return false
	}
	return ed25519.Verify(c.SignKey[:], spec.SignedBytes(spec.DomainRequest, ep.cd, spec.Encode(&r.Body)), r.Sig[:])
}

// noteCheckpoint records a validly signed CHECKPOINT's signer under (seq, state), so
// that the adversary and the fair broker can name certified states in state requests.
func (w *world) noteCheckpoint(c *spec.Checkpoint) {
	b := &c.Body
	if b.Replica >= w.cfg.N {
		return
	}
	valid := false
	for _, ep := range w.epochs { // a checkpoint of any epoch of the chain
		key := ep.cfg.Replicas[b.Replica].Exec.Body.SignKey
		valid = valid || ed25519.Verify(key[:], spec.SignedBytes(spec.DomainCheckpoint, ep.cd, spec.Encode(b)), c.Sig[:])
	}
	if !valid {
		return
	}
	byState := w.ckSigners[b.Seq]
	if byState == nil {
		byState = map[spec.Digest]uint64{}
		w.ckSigners[b.Seq] = byState
	}
	byState[b.State] |= 1 << b.Replica
}

// certifiedState returns the state digest that q distinct execs signed for seq, or
// the StartState of the epoch that starts at seq (its q votes certify it, §17.3).
func (w *world) certifiedState(seq uint64) (spec.Digest, bool) {
	for _, ep := range w.epochs[1:] {
		if ep.cfg.StartSeq == seq {
			return ep.cfg.StartState, true
		}
	}
	var best spec.Digest
	found := false
	for d, set := range w.ckSigners[seq] { // at most one digest has a quorum unless execs disagree
		if popcount(set) >= w.cfg.Quorum() && (!found || bytes.Compare(d[:], best[:]) < 0) {
			best, found = d, true
		}
	}
	return best, found
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
