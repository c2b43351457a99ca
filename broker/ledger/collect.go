package ledger

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// collector is the event loop's side of a Ledger: the COMMITs and CHECKPOINTs seen
// for sequence numbers not yet handed to the writer, bounded per sequence number and
// per replica.
type collector struct {
	cfg      *spec.Config
	cd       spec.Digest
	next     uint64                         // next batch sequence number to hand to the writer
	execLast uint64                         // the highest Last exec reported (Executed)
	seen     map[uint64]map[uint64][][]byte // seq → replica → distinct raw COMMITs
	ckpts    map[uint64]map[uint64][][]byte // checkpoint seq → replica → distinct raw CHECKPOINTs
	certs    map[uint64]spec.Digest         // checkpoint certificates handed to the writer (seq → state)
	verdict  map[string]bool                // signature check results by raw message; ≤ maxVerdicts
	batches  map[spec.Digest][]byte         // batches of observed proposals by digest
	order    []spec.Digest                  // exactly the keys of batches, oldest first
}

// Bounds of the collector.
const (
	perReplica  = 4    // distinct messages kept per (seq, replica); more are verified first
	maxCkptSeqs = 16   // checkpoint sequence numbers collected or remembered
	maxVerdicts = 4096 // cached signature checks (the cache is emptied when full)
)

func (c *collector) init(cfg *spec.Config, next uint64) {
	c.cfg, c.cd, c.next = cfg, spec.ConfigDigest(cfg), next
	c.seen = map[uint64]map[uint64][][]byte{}
	c.ckpts = map[uint64]map[uint64][][]byte{}
	c.certs = map[uint64]spec.Digest{}
	c.verdict = map[string]bool{}
	c.batches = map[spec.Digest][]byte{}
}

// keepBatch remembers a proposed batch by digest, the 2L most recent.
func (c *collector) keepBatch(raw []byte) {
	d := spec.Hash(spec.DomainBatch, raw)
	if _, ok := c.batches[d]; ok {
		return
	}
	c.batches[d] = raw
	c.order = append(c.order, d)
	if uint64(len(c.order)) > 2*c.cfg.Window {
		delete(c.batches, c.order[0])
		c.order = c.order[1:]
	}
}

// valid reports check(raw), cached: each message is verified at most once. With
// check nil it only reports a cached true verdict (nothing is verified).
func (c *collector) valid(raw []byte, check func([]byte) bool) bool {
	if v, ok := c.verdict[string(raw)]; ok || check == nil {
		return v
	}
	v := check(raw)
	c.setVerdict(raw, v)
	return v
}

// setVerdict caches a signature check's result.
func (c *collector) setVerdict(raw []byte, v bool) {
	if len(c.verdict) >= maxVerdicts {
		clear(c.verdict)
	}
	c.verdict[string(raw)] = v
}

// known records that raw is validly signed (the local exec accepted it), if it is a
// message the collector holds.
func (c *collector) known(raw []byte) {
	var m spec.Commit
	if spec.Decode(raw, &m, spec.MaxBodyBytes(spec.KindCommit)) != nil {
		return
	}
	for _, b := range c.seen[m.Body.Seq][m.Body.Replica] {
		if bytes.Equal(b, raw) {
			c.setVerdict(raw, true)
			return
		}
	}
}

// add keeps raw among replica rep's messages for seq in m, unless already there. When
// rep already has perReplica messages, only those valid by ok are kept, and raw is
// kept only if there is room then: a faulty peer broker can send junk in another
// replica's name, but cannot crowd out that replica's real messages.
func add(m map[uint64]map[uint64][][]byte, seq, rep uint64, raw []byte, ok func([]byte) bool) bool {
	byRep := m[seq]
	if byRep == nil {
		byRep = map[uint64][][]byte{}
		m[seq] = byRep
	}
	have := byRep[rep]
	if slices.ContainsFunc(have, func(b []byte) bool { return bytes.Equal(b, raw) }) {
		return false
	}
	if len(have) >= perReplica {
		have = slices.DeleteFunc(have, func(b []byte) bool { return !ok(b) })
		if len(have) >= perReplica || !ok(raw) {
			byRep[rep] = have
			return false
		}
	}
	byRep[rep] = append(have, raw)
	return true
}

// commitValid reports whether a raw COMMIT is validly signed by its sender's conf.
func (c *collector) commitValid(raw []byte) bool {
	var m spec.Commit
	return spec.Decode(raw, &m, spec.MaxBodyBytes(spec.KindCommit)) == nil && m.Body.Replica < c.cfg.N &&
		verifySig(c.cfg.Replicas[m.Body.Replica].Conf.Body.SignKey, spec.DomainCommit, c.cd, spec.Encode(&m.Body), &m.Sig)
}

// checkpointValid reports whether a raw CHECKPOINT is validly signed by its exec.
func (c *collector) checkpointValid(raw []byte) bool {
	var m spec.Checkpoint
	return spec.Decode(raw, &m, spec.MaxBodyBytes(spec.KindCheckpoint)) == nil && m.Body.Replica < c.cfg.N &&
		verifySig(c.cfg.Replicas[m.Body.Replica].Exec.Body.SignKey, spec.DomainCheckpoint, c.cd, spec.Encode(&m.Body), &m.Sig)
}

// commit collects a COMMIT for a sequence number not yet recorded, within 2L of it.
func (c *collector) commit(raw []byte, m *spec.Commit) {
	s, rep := m.Body.Seq, m.Body.Replica
	if s < c.next || s >= c.next+2*c.cfg.Window || rep >= c.cfg.N {
		return
	}
	add(c.seen, s, rep, raw, c.commitValid)
}

// group returns a commit certificate for seq: for the (view, digest) of the highest
// view that q distinct replicas sent and that q of them signed validly, the first
// valid COMMIT of each of the lowest q such replicas, ascending (SPEC.md §13.5).
// Signatures are checked here (with verify false, only COMMITs already known to be
// valid count), so that forged COMMITs never reach the writer.
func (c *collector) group(seq uint64, verify bool) ([][]byte, spec.Digest, bool) {
	if !verify && c.knownReplicas(seq) < c.cfg.Quorum() {
		return nil, spec.Digest{}, false // the common case while COMMITs arrive: nothing decoded
	}
	type vd struct {
		view uint64
		d    spec.Digest
	}
	reps := map[vd]map[uint64]bool{}
	for rep, raws := range c.seen[seq] {
		for _, raw := range raws {
			var m spec.Commit
			if spec.Decode(raw, &m, spec.MaxBodyBytes(spec.KindCommit)) != nil {
				continue
			}
			k := vd{m.Body.View, m.Body.Digest}
			if reps[k] == nil {
				reps[k] = map[uint64]bool{}
			}
			reps[k][rep] = true
		}
	}
	var keys []vd
	for k, rs := range reps {
		if len(rs) >= c.cfg.Quorum() {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b vd) int { return cmp.Compare(b.view, a.view) })
	check := c.commitValid
	if !verify {
		check = nil
	}
	for _, k := range keys {
		if cert := c.pick(c.members(seq, k.view, k.d), check); cert != nil {
			return cert, k.d, true
		}
	}
	return nil, spec.Digest{}, false
}

// knownReplicas counts the replicas with a COMMIT for seq already known to be
// validly signed.
func (c *collector) knownReplicas(seq uint64) int {
	n := 0
	for _, raws := range c.seen[seq] {
		for _, raw := range raws {
			if c.verdict[string(raw)] {
				n++
				break
			}
		}
	}
	return n
}

// pick returns the first valid candidate of each replica, lowest replicas first, q of
// them, or nil if fewer than q replicas have one. cands are sorted by replica.
func (c *collector) pick(cands [][]byte, check func([]byte) bool) [][]byte {
	var out [][]byte
	var last uint64
	for _, raw := range cands {
		if len(out) == c.cfg.Quorum() {
			break
		}
		rep, ok := senderOf(raw)
		if ok && (len(out) == 0 || rep > last) && c.valid(raw, check) {
			out, last = append(out, raw), rep
		}
	}
	if len(out) < c.cfg.Quorum() {
		return nil
	}
	return out
}

// senderOf returns the sender (Body.Replica) of a raw COMMIT or CHECKPOINT.
func senderOf(raw []byte) (uint64, bool) {
	var cm spec.Commit
	if spec.Decode(raw, &cm, spec.MaxBodyBytes(spec.KindCommit)) == nil {
		return cm.Body.Replica, true
	}
	var ck spec.Checkpoint
	if spec.Decode(raw, &ck, spec.MaxBodyBytes(spec.KindCheckpoint)) == nil {
		return ck.Body.Replica, true
	}
	return 0, false
}

// members lists the commits for seq matching (view, d), sorted by replica.
func (c *collector) members(seq, view uint64, d spec.Digest) [][]byte {
	var out [][]byte
	for rep := range c.cfg.N {
		for _, raw := range c.seen[seq][rep] {
			var m spec.Commit
			if spec.Decode(raw, &m, spec.MaxBodyBytes(spec.KindCommit)) == nil && m.Body.View == view && m.Body.Digest == d {
				out = append(out, raw)
			}
		}
	}
	return out
}
