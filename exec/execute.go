package exec

import (
	"fmt"
	"io"
	"sort"

	"github.com/splitbft/splitbft/spec"
)

// This file is SPEC.md §11.5: in-order execution of committed batches, request
// deduplication through the client table, decryption of operations and sealed replies.

// clientKeys are the derived keys of one client: its request key (§12.2) and the
// reply key shared with this exec (§12.3). ok is false for a client whose box key has
// low order: nothing of it can be opened or sealed.
type clientKeys struct {
	request, reply []byte
	ok             bool
	ciph           *clientCipher // set when ok
}

// clientCipher is what executing a client's requests reuses: the AEADs of its request
// and reply keys, set up once, and scratch space for the AEAD data, the encoded result
// and the reply. It is not protocol state (like the keys it caches).
type clientCipher struct {
	request, reply aead
	ad             []byte
	plain          []byte // enc(ReplyResults) of the reply being sealed
	rep            spec.Reply
}

// tryExecute executes committed batches in sequence order while the next one is known
// and its batch held (the null batch is always held), until the epoch ends (§17.3): a
// batch after which pending is set is the last one executed under cfg. While
// replaying (§17.8) it emits no reply, checkpoint or epoch vote, and makes the
// recovery vote at the head.
func (e *Exec) tryExecute() {
	e.executeCommitted()
	for e.crossEpoch() {
		e.executeCommitted()
	}
	e.maybeRecoveryVote()
}

// executeCommitted is the loop of tryExecute.
func (e *Exec) executeCommitted() {
	for e.next == nil && !e.replayStopped() {
		s := e.lastExec + 1
		d, ok := e.committed[s]
		if !ok {
			return
		}
		b := &spec.Batch{}
		if d != e.null {
			if b, ok = e.batches[d]; !ok {
				return
			}
		}
		e.pending = nil
		for i := range b.Requests {
			e.executeRequest(&b.Requests[i])
		}
		e.lastExec = s
		delete(e.commits, s)
		delete(e.committed, s)
		if d != e.null && !e.stillCommitted(d) {
			e.dropBatch(d)
		}
		switch {
		case e.rec != nil:
			e.pending = nil // a replayed config operation ends no epoch: the template is C' (§17.8)
		case s%e.cfg.CheckpointInterval == 0:
			e.produceCheckpoint(s)
		}
		if e.pending != nil {
			e.endEpoch(s)
		}
	}
}

// stillCommitted reports whether some not yet executed sequence number is certified
// with digest d.
func (e *Exec) stillCommitted(d spec.Digest) bool {
	for _, cd := range e.committed {
		if cd == d {
			return true
		}
	}
	return false
}

// executeRequest executes one request of a committed batch (§11.5 steps 1–3).
func (e *Exec) executeRequest(r *spec.Request) {
	c, t, ops := r.Body.Client, r.Body.Timestamp, r.Body.Ops
	keys, ok := e.clientKeysFor(c)
	// Defensive: a committed batch passed R1–R5 at f+1 correct preps, so none of these
	// can fail unless more than f preps are faulty; such a request is skipped whole
	// (no execution, no reply, no table change), which keeps the table invariant.
	// SPEC.md (clarified after review): §11.5 does not say what to do with a request of a committed batch
	// from an unregistered client, with no ops, with an overflowing timestamp range, or
	// whose client box key has low order (no reply can be sealed); all are skipped.
	if !ok || len(ops) == 0 || t == 0 || t+uint64(len(ops))-1 < t {
		return
	}
	if ent := e.table[c]; ent != nil && t <= ent.Timestamp+uint64(len(ent.Results))-1 {
		if t == ent.Timestamp && len(ops) == len(ent.Results) {
			e.sendReply(c, t, ent.Results, keys)
		}
		return
	}
	results := make([]spec.Result, len(ops))
	cc := keys.ciph
	for j := range ops {
		cc.ad = spec.AppendAD(cc.ad[:0], spec.LabelRequestAD, e.cd, c, t+uint64(j))
		plain, opened := cc.request.open(&ops[j].Nonce, ops[j].Ciphertext, cc.ad)
		if !opened {
			results[j] = spec.Result{Status: spec.StatusUndecryptable}
			continue
		}
		results[j] = e.executeOp(plain)
	}
	e.setEntry(c, t, results)
	e.sendReply(c, t, results, keys)
}

// setEntry records the results of client c's request t in the client table, reusing
// the client's entry (entries are copied out by value, never shared).
func (e *Exec) setEntry(c, t uint64, results []spec.Result) {
	if ent := e.table[c]; ent != nil {
		*ent = spec.ClientEntry{Client: c, Timestamp: t, Results: results}
		return
	}
	e.table[c] = &spec.ClientEntry{Client: c, Timestamp: t, Results: results}
}

// maxKeptPlain is the largest reply plaintext scratch a client's cipher keeps.
const maxKeptPlain = 64 << 10

// sendReply emits the one reply to client c's request t: enc(ReplyResults{results})
// sealed under the reply key with a fresh nonce (§11.5 step 3, §12.3).
func (e *Exec) sendReply(c, t uint64, results []spec.Result, keys clientKeys) {
	if e.rec != nil {
		return // a replay answers nobody (§17.8)
	}
	cc := keys.ciph
	rep := &cc.rep
	last := t + uint64(len(results)) - 1 // the request's last operation: R4 rejected an overflowing range
	*rep = spec.Reply{Client: c, Timestamp: last, Replica: e.replica, View: e.view}
	if _, err := io.ReadFull(e.rand, rep.Nonce[:]); err != nil {
		panic(fmt.Sprintf("exec: randomness source failed: %v", err))
	}
	cc.plain = spec.AppendResults(cc.plain[:0], results)
	cc.ad = spec.AppendAD(cc.ad[:0], spec.LabelReplyAD, e.cd, c, last, e.replica, e.view)
	rep.Ciphertext = cc.reply.seal(nil, &rep.Nonce, cc.plain, cc.ad)
	e.emit(spec.KindReply, spec.Destination{}, spec.AppendReply(make([]byte, 0, 48+len(rep.Ciphertext)), rep))
	*rep = spec.Reply{}
	if cap(cc.plain) > maxKeptPlain {
		cc.plain = nil // a client with large results keeps no large scratch between requests
	}
}

// clientKeysFor returns the (cached) keys of registered client c; false if c is not
// registered or its box key has low order.
func (e *Exec) clientKeysFor(c uint64) (clientKeys, bool) {
	if k, ok := e.keys[c]; ok {
		return k, k.ok
	}
	cc := e.cfg.Client(c)
	if cc == nil {
		return clientKeys{}, false
	}
	var k clientKeys
	var okReq, okRep bool
	k.request, okReq = requestKey(&e.group, e.cd, c, cc.BoxKey)
	k.reply, okRep = replyKey(&e.boxPriv, e.cd, c, e.replica, cc.BoxKey)
	k.ok = okReq && okRep
	if k.ok {
		k.ciph = &clientCipher{request: newAEAD(k.request), reply: newAEAD(k.reply)}
	}
	e.keys[c] = k
	return k, k.ok
}

// clientEntries returns the client table sorted by client id.
func (e *Exec) clientEntries() []spec.ClientEntry {
	out := make([]spec.ClientEntry, 0, len(e.table))
	for _, ent := range e.table {
		out = append(out, *ent)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out
}
